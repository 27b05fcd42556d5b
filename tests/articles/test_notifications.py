"""The desk told of moves: Editors by email when a story is submitted for review, its reporter
when it is returned (with the note) or published, and a chat webhook on a server the test runs
on 127.0.0.1, once the move commits."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail

from articles.models import Transition
from articles.notifications import notify_task
from articles.services import workflow
from tests.accounts.factories import UserFactory
from tests.articles.factories import ArticleFactory

pytestmark = pytest.mark.django_db
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def desk(settings):
    settings.TASKS = IMMEDIATE
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    reporter = UserFactory(username="wendy", first_name="Wendy", email="wendy@example.com",
                           reporter=True)  # fmt: skip
    editors = [
        UserFactory(username=f"ed{n}", first_name=f"Ed{n}", email=f"ed{n}@example.com", editor=True)
        for n in range(2)
    ]
    return reporter, editors


@pytest.fixture
def webhook(settings):
    """A chat tool's incoming webhook on 127.0.0.1, keeping what it is sent."""
    received = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.NEWSROOM_DESK_WEBHOOK_URL = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield received
    server.shutdown()
    server.server_close()


def test_submitting_tells_the_editors_and_the_webhook_once_committed(
    desk, webhook, django_capture_on_commit_callbacks
):
    reporter, editors = desk
    story = ArticleFactory(draft=True, headline="Gull steals chain", created_by=reporter)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.submit_for_review(story, by=reporter)
        assert mail.outbox == []  # not before the move commits
    (message,) = mail.outbox
    assert sorted(message.to) == ["ed0@example.com", "ed1@example.com"]
    assert message.subject == "For review: Gull steals chain"
    assert "Wendy sent “Gull steals chain” for review." in message.body
    assert f"/admin/articles/article/{story.pk}/change/" in message.body
    assert webhook == [{"text": f"{message.subject}\n{message.body}"}]


def test_a_returned_story_tells_its_reporter_with_the_note_and_publishing_too(desk):
    reporter, (editor, _) = desk
    story = ArticleFactory(in_review=True, headline="Gull steals chain", created_by=reporter)
    workflow.save_article(story, by=editor, to="draft", note="Check the mayor's quote")
    move = Transition.objects.get(article=story)
    assert notify_task.call(move.pk) == {"mailed": 1, "webhook": False}
    (returned,) = mail.outbox
    assert returned.to == ["wendy@example.com"]
    assert returned.subject == "Returned to you: Gull steals chain"
    assert "Their note: Check the mayor's quote" in returned.body

    story.refresh_from_db()
    workflow.publish_article(story, by=editor)
    published = Transition.objects.filter(article=story).order_by("-pk").first()
    notify_task.call(published.pk)
    assert mail.outbox[-1].subject == "Published: Gull steals chain"
    assert mail.outbox[-1].to == ["wendy@example.com"]


def test_a_webhook_that_fails_is_logged_and_the_mail_still_goes(desk, settings, caplog):
    reporter, _ = desk
    settings.NEWSROOM_DESK_WEBHOOK_URL = "http://127.0.0.1:9/nothing-listens-here"
    story = ArticleFactory(draft=True, created_by=reporter)
    workflow.submit_for_review(story, by=reporter)
    result = notify_task.call(Transition.objects.get(article=story).pk)
    assert result == {"mailed": 1, "webhook": False}
    assert "desk webhook failed" in caplog.text
