"""Webhooks against a partner's receiver on loopback: signed deliveries, every event once and in
order per story, through timeouts, 500s and an endpoint that is down for a while; an endpoint
failing too long switched off with the admins told, and getting what it missed once back."""

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from api import webhooks
from api.models import Delivery, Endpoint, new_secret
from articles.models import Article, Correction
from articles.services import workflow
from tests.accounts.factories import UserFactory
from tests.articles.factories import ArticleFactory

pytestmark = pytest.mark.django_db
Status = Article.Status
ALL = ["story.published", "story.updated", "story.withdrawn", "story.corrected"]


class Receiver:
    """A partner's endpoint: checks each signature, keeps each event once by its message id
    (as the scheme asks of receivers), and answers as told: "ok", "500", "slow" (takes the
    event, then answers after the sender has given up) or "down" (the server is stopped)."""

    def __init__(self):
        self.script: list[str] = []
        self.posts: list[str] = []  # message ids, every POST that arrived
        self.events: dict[str, dict] = {}  # message id → event, once each
        self.bad_signatures = 0
        self.secret = None
        self.server = None
        self.port = None
        self.start()

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                how = receiver.script.pop(0) if receiver.script else "ok"
                message_id = self.headers["webhook-id"]
                receiver.posts.append(message_id)
                try:
                    event = Webhook(receiver.secret).verify(body, dict(self.headers))
                except Exception:
                    receiver.bad_signatures += 1
                    self.send_response(400)
                    self.end_headers()
                    return
                if how == "500":
                    self.send_response(500)
                    self.end_headers()
                    return
                receiver.events.setdefault(message_id, event)
                if how == "slow":
                    time.sleep(0.6)  # past the sender's timeout (0.3 s in these tests)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port or 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hooks/newsroom"

    def received(self) -> list[tuple[str, int]]:
        return [(e["type"], e["data"]["id"]) for e in self.events.values()]


@pytest.fixture
def receiver(settings):
    settings.NEWSROOM_WEBHOOK_TIMEOUT = 0.3
    found = Receiver()
    yield found
    found.stop()


@pytest.fixture
def endpoint(receiver):
    made = Endpoint.objects.create(url=receiver.url, events=ALL)
    receiver.secret = made.secret
    return made


@pytest.fixture
def editor():
    return UserFactory(username="eddie", editor=True)


def send(endpoint) -> int:
    return webhooks.deliver_due(endpoint.pk)


def test_a_published_story_is_announced_once_signed_with_what_a_partner_needs(
    endpoint, receiver, editor, settings
):
    story = ArticleFactory(in_review=True, headline="Pier reopens")
    workflow.publish_article(story, by=editor)

    assert send(endpoint) == 1
    assert receiver.bad_signatures == 0 and len(receiver.posts) == 1
    [event] = receiver.events.values()
    assert event["type"] == "story.published"
    assert event["data"] == {
        "id": story.pk,
        "headline": "Pier reopens",
        "url": f"{settings.SITE_URL}{story.get_absolute_url()}",
        "api_url": f"{settings.SITE_URL}/api/v1/stories/{story.pk}/",
        "published_at": Article.objects.get(pk=story.pk).published_at.isoformat(),
        "updated_at": None,
    }
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_code) == ("delivered", 1, 204)
    assert receiver.posts == [delivery.message_id]
    assert send(endpoint) == 0 and len(receiver.posts) == 1  # nothing sent twice


def test_a_delivery_signed_with_another_secret_fails_the_partners_check(endpoint, receiver):
    receiver.secret = new_secret()  # not the endpoint's
    ArticleFactory(headline="Forged?")
    send(endpoint)
    assert receiver.bad_signatures == 1 and receiver.events == {}
    assert Delivery.objects.get().status == "pending"  # refused (400): tried again later


def test_after_a_500_the_storys_later_events_wait_and_all_arrive_in_order(
    endpoint, receiver, editor, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    story = ArticleFactory(in_review=True, headline="Council in chaos")
    other = ArticleFactory(in_review=True, headline="Unrelated")
    receiver.script = ["500"]
    workflow.publish_article(story, by=editor)
    workflow.publish_article(other, by=editor)
    story.refresh_from_db()
    story.body = "<p>New facts.</p>"
    workflow.save_article(story, by=editor, substantive=True)
    workflow.withdraw_article(story, by=editor, note="Wrong council")

    send(endpoint)
    # The story's first event failed: its later ones wait; the other story's went.
    assert receiver.received() == [("story.published", other.pk)]
    failed = Delivery.objects.get(story_id=story.pk, event="story.published")
    assert (failed.attempts, failed.last_code, failed.status) == (1, 500, "pending")

    time_machine.move_to(timezone.now() + timedelta(seconds=31), tick=False)
    send(endpoint)

    assert receiver.received() == [
        ("story.published", other.pk),
        ("story.published", story.pk),
        ("story.updated", story.pk),
        ("story.withdrawn", story.pk),
    ]
    assert [e["data"].get("gone") for e in receiver.events.values()][-1] == "withdrawn"
    assert len(receiver.posts) == 5  # the 500, then each event once
    assert not Delivery.objects.filter(status="pending").exists()


def test_a_partner_too_slow_to_answer_gets_the_same_message_again_and_keeps_it_once(
    endpoint, receiver, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    receiver.script = ["slow"]
    story = ArticleFactory(headline="Slow news day")

    send(endpoint)
    delivery = Delivery.objects.get()
    assert delivery.status == "pending" and delivery.last_code is None and delivery.last_error
    time_machine.move_to(timezone.now() + timedelta(seconds=31), tick=False)
    send(endpoint)

    assert receiver.posts == [delivery.message_id, delivery.message_id]  # one id, both times
    assert receiver.received() == [("story.published", story.pk)]  # kept once
    assert Delivery.objects.get().status == "delivered"


def test_an_endpoint_down_for_a_while_gets_everything_when_it_comes_back(
    endpoint, receiver, editor, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    receiver.stop()
    story = ArticleFactory(headline="Storm hits pier")
    Correction.objects.create(article=story, text="The pier is in Brighton, not Hove.")

    for minutes in (0, 1, 3):  # three tries while it is down
        time_machine.move_to(timezone.now() + timedelta(minutes=minutes), tick=False)
        send(endpoint)
    first = Delivery.objects.get(event="story.published")
    assert first.attempts == 3 and "refused" in first.last_error.lower()
    receiver.start()  # back, on the same port
    time_machine.move_to(timezone.now() + timedelta(minutes=10), tick=False)
    send(endpoint)

    assert receiver.received() == [("story.published", story.pk), ("story.corrected", story.pk)]
    assert len(receiver.posts) == 2


def test_an_endpoint_failing_for_a_day_is_switched_off_the_admins_told_and_nothing_lost(
    endpoint, receiver, client, time_machine, settings
):
    settings.ADMINS = [("Ops", "ops@example.com")]
    start = timezone.now()
    time_machine.move_to(start, tick=False)
    receiver.script = ["500"] * 100
    story = ArticleFactory(headline="Never arrives, yet")
    for hours in range(0, 26, 2):
        time_machine.move_to(start + timedelta(hours=hours), tick=False)
        send(endpoint)

    endpoint.refresh_from_db()
    assert (
        not endpoint.is_active and "every delivery failed for 24 hours" in endpoint.disabled_reason
    )
    [told] = mail.outbox
    assert told.to == ["ops@example.com"]
    assert told.subject.endswith(f"Webhook endpoint switched off: {endpoint.url}")
    assert Delivery.objects.get().status == "pending"  # kept
    tries = len(receiver.posts)
    send(endpoint)
    assert len(receiver.posts) == tries  # switched off: nothing more is tried

    receiver.script = []
    client.force_login(UserFactory(username="root", superuser=True))
    url = reverse("admin:api_endpoint_change", args=[endpoint.pk])
    response = client.post(url, {"url": endpoint.url, "events": ALL, "is_active": "on"})
    assert response.status_code == 302
    send(endpoint)  # what the switched-on endpoint's task does
    assert receiver.received() == [("story.published", story.pk)]


def test_a_scheduled_story_is_announced_when_it_appears_and_a_moved_time_is_not_told_twice(
    endpoint, receiver, editor, time_machine
):
    now = timezone.now().replace(microsecond=0)
    time_machine.move_to(now, tick=False)
    story = ArticleFactory(in_review=True, headline="Midnight launch")
    workflow.publish_article(story, by=editor, at=now + timedelta(hours=1))
    story.refresh_from_db()
    story.standfirst = "Queues already."
    workflow.save_article(story, by=editor)  # saved again while scheduled
    story.refresh_from_db()
    workflow.publish_article(story, by=editor, at=now + timedelta(hours=2))  # moved later

    send(endpoint)
    assert receiver.events == {}  # not out yet
    time_machine.move_to(now + timedelta(hours=1, seconds=5), tick=False)
    send(endpoint)
    assert receiver.events == {}  # its first time was moved
    time_machine.move_to(now + timedelta(hours=2, seconds=5), tick=False)
    send(endpoint)

    assert receiver.received() == [("story.published", story.pk)]
    assert Delivery.objects.filter(status="dropped").count() == 1


def test_an_endpoint_gets_only_the_events_it_asked_for(receiver, editor):
    only = Endpoint.objects.create(url=receiver.url, events=["story.withdrawn"])
    receiver.secret = only.secret
    story = ArticleFactory(in_review=True)
    workflow.publish_article(story, by=editor)
    workflow.withdraw_article(story, by=editor, legal=True, note="Injunction")

    webhooks.deliver_due(only.pk)

    assert receiver.received() == [("story.withdrawn", story.pk)]
    [event] = receiver.events.values()
    assert event["data"] == {"id": story.pk, "gone": "legal"}  # nothing of the story itself


def test_the_task_sends_once_the_change_commits(
    endpoint, receiver, editor, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    story = ArticleFactory(in_review=True, headline="Sent by the task")
    with django_capture_on_commit_callbacks(execute=True):
        workflow.publish_article(story, by=editor)
    assert receiver.received() == [("story.published", story.pk)]
    assert json.loads(json.dumps(Delivery.objects.get().payload))["type"] == "story.published"
