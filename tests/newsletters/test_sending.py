"""Sending an edition: who gets it, what the message carries, retries and failures, and that
running the send again never sends anyone a second copy."""

import email
import email.policy
import re
import smtplib
from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.test import Client
from django.utils import timezone

from newsletters.models import Delivery, Edition, Subscription
from newsletters.services import send_edition, send_edition_now
from newsletters.services.emails import PreparedEdition
from tests.accounts.factories import UserFactory
from tests.articles.factories import ArticleFactory

from .factories import EditionFactory, NewsletterFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor():
    return UserFactory(is_superuser=True, email="editor@racket.example")


@pytest.fixture
def edition():
    newsletter = NewsletterFactory(name="Morning Racket", slug="morning")
    stories = [
        ArticleFactory(headline="Mayor denies owning seventeen llamas", standfirst="All lies."),
        ArticleFactory(headline="Pier collapses into the sea, again"),
    ]
    return EditionFactory(newsletter=newsletter, subject="Llamas and piers", stories=stories)


def send_now(edition, editor, capture):
    with capture(execute=True):
        send_edition_now(edition, by=editor)
    edition.refresh_from_db()
    return edition


def parsed(message):
    return email.message_from_bytes(message.message().as_bytes(), policy=email.policy.default)


def test_every_confirmed_subscriber_gets_exactly_one_copy_and_nobody_else(
    edition, editor, django_capture_on_commit_callbacks
):
    confirmed = SubscriptionFactory.create_batch(9, newsletter=edition.newsletter, confirmed=True)
    SubscriptionFactory(newsletter=edition.newsletter)  # pending
    SubscriptionFactory(newsletter=edition.newsletter, unsubscribed=True)
    SubscriptionFactory(confirmed=True)  # another newsletter's reader
    edition = send_now(edition, editor, django_capture_on_commit_callbacks)

    assert sorted(m.to[0] for m in mail.outbox) == sorted(s.email for s in confirmed)
    assert edition.status == Edition.Status.SENT
    assert (edition.recipients_count, edition.sent_count, edition.failed_count) == (9, 9, 0)
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}


def test_the_message_has_html_and_text_parts_absolute_links_and_rfc_8058_headers(
    edition, editor, django_capture_on_commit_callbacks
):
    subscription = SubscriptionFactory(newsletter=edition.newsletter, confirmed=True)
    send_now(edition, editor, django_capture_on_commit_callbacks)
    [message] = mail.outbox
    real = parsed(message)

    assert real["Subject"] == "Llamas and piers"
    assert real["From"] == "The Daily Racket <newsletters@racket.example>"
    assert real["Reply-To"] == "letters@racket.example"
    assert real["To"] == subscription.email
    assert real.get_content_type() == "multipart/alternative"
    text = real.get_body(("plain",)).get_content()
    html = real.get_body(("html",)).get_content()
    story_url = "https://racket.example" + edition.stories.first().get_absolute_url()
    assert story_url in text and f'href="{story_url}"' in html
    assert "Mayor denies owning seventeen llamas" in html

    unsubscribe = re.fullmatch(
        r"<(https://racket\.example/newsletters/unsubscribe/(\S+)/)>, "
        r"<mailto:unsubscribe@racket\.example\?subject=unsubscribe%20(\S+)>",
        " ".join(real["List-Unsubscribe"].split()),
    )
    assert unsubscribe, real["List-Unsubscribe"]
    assert unsubscribe[2] == unsubscribe[3]
    assert real["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe[1] in text and unsubscribe[1] in html  # the link in the email itself
    assert "placeholder" not in message.message().as_bytes().decode()

    # The header's URL is the one-click endpoint: a bare POST unsubscribes, no CSRF token.
    path = unsubscribe[1].removeprefix("https://racket.example")
    response = Client(enforce_csrf_checks=True).post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.UNSUBSCRIBED


def test_each_reader_gets_their_own_links_and_message_id(
    edition, editor, django_capture_on_commit_callbacks
):
    SubscriptionFactory.create_batch(3, newsletter=edition.newsletter, confirmed=True)
    send_now(edition, editor, django_capture_on_commit_callbacks)
    headers = [parsed(m) for m in mail.outbox]
    assert len({h["List-Unsubscribe"] for h in headers}) == 3
    assert len({h["Message-ID"] for h in headers}) == 3
    assert len({m.alternatives[0][0] for m in mail.outbox}) == 3


def test_the_prebuilt_message_matches_what_django_would_build():
    edition = EditionFactory()
    prepared = PreparedEdition(edition)
    assert prepared.template is not None
    fast = prepared.message_for(email_address="r@example.com", subscription_id=7, delivery_id=3)
    slow_bytes = super(type(fast), fast).message().as_bytes()
    ours, django = (
        email.message_from_bytes(b, policy=email.policy.default)
        for b in (fast.message().as_bytes(), slow_bytes)
    )
    for header in ("Subject", "From", "To", "Reply-To", "List-Unsubscribe", "Message-ID"):
        assert " ".join(str(ours[header]).split()) == " ".join(str(django[header]).split())
    for kind in ("plain", "html"):
        assert ours.get_body((kind,)).get_content() == django.get_body((kind,)).get_content()


def test_a_story_withdrawn_after_it_was_picked_is_left_out(edition):
    from articles.models import Article

    first = edition.edition_stories.order_by("position").first().article
    Article.objects.filter(pk=first.pk).update(status=Article.Status.DRAFT)
    html = PreparedEdition(edition).rendered.html
    assert first.headline not in html and "Pier collapses" in html


def test_running_the_send_again_sends_nothing_twice(
    edition, editor, django_capture_on_commit_callbacks
):
    SubscriptionFactory.create_batch(5, newsletter=edition.newsletter, confirmed=True)
    send_now(edition, editor, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 5
    send_edition(edition.pk)
    Edition.objects.filter(pk=edition.pk).update(status=Edition.Status.SENDING)
    send_edition(edition.pk)  # even forced back to sending, the deliveries are done
    assert len(mail.outbox) == 5
    assert Delivery.objects.count() == 5


def test_a_reader_who_unsubscribes_mid_send_is_skipped(edition, editor):
    subscriptions = SubscriptionFactory.create_batch(
        3, newsletter=edition.newsletter, confirmed=True
    )
    Edition.objects.filter(pk=edition.pk).update(status=Edition.Status.SENDING)
    from newsletters.services import create_deliveries

    create_deliveries(edition)
    Subscription.objects.filter(pk=subscriptions[1].pk).update(status="unsubscribed")
    report = send_edition(edition.pk)
    assert report.sent == 2 and report.skipped == 1
    assert subscriptions[1].email not in [m.to[0] for m in mail.outbox]
    assert Delivery.objects.get(subscription=subscriptions[1]).status == Delivery.Status.SKIPPED


class FlakyBackend(LocmemBackend):
    """Refuses chosen addresses, the way a real server answers RCPT TO."""

    answers: dict = {}

    def send_messages(self, messages):
        for message in messages:
            answer = self.answers.get(message.to[0])
            if answer:
                code, text = answer.pop(0) if isinstance(answer, list) else answer
                if code:
                    raise smtplib.SMTPRecipientsRefused({message.to[0]: (code, text.encode())})
        return super().send_messages(messages)


def at(minutes: float):
    """A moment `minutes` after a fixed point tomorrow (after the stories' publication)."""
    base = timezone.now().replace(microsecond=0) + timedelta(days=1)
    return base + timedelta(minutes=minutes)


@pytest.fixture
def flaky(settings):
    settings.EMAIL_BACKEND = f"{__name__}.FlakyBackend"
    FlakyBackend.answers = {}
    return FlakyBackend.answers


def test_a_transient_error_is_retried_with_backoff_until_it_goes_through(
    edition, editor, flaky, settings, time_machine, django_capture_on_commit_callbacks
):
    settings.NEWSROOM_NEWSLETTER_RETRY_DELAY = 60
    start = at(0)
    time_machine.move_to(start, tick=False)
    SubscriptionFactory(email="ok@example.com", newsletter=edition.newsletter, confirmed=True)
    SubscriptionFactory(email="busy@example.com", newsletter=edition.newsletter, confirmed=True)
    flaky["busy@example.com"] = [
        (451, "4.7.1 Try again later"),
        (452, "4.2.2 Mailbox full"),
        (0, ""),
    ]

    edition = send_now(edition, editor, django_capture_on_commit_callbacks)
    busy = Delivery.objects.get(subscription__email="busy@example.com")
    assert edition.status == Edition.Status.SENDING
    assert (busy.status, busy.attempts) == ("pending", 1)
    assert busy.next_attempt_at == timezone.now() + timedelta(seconds=60)
    assert "451" in busy.last_error

    time_machine.move_to(start + timedelta(seconds=30), tick=False)
    send_edition(edition.pk)  # not due yet: nothing happens
    busy.refresh_from_db()
    assert busy.attempts == 1

    time_machine.move_to(start + timedelta(seconds=60), tick=False)
    send_edition(edition.pk)
    busy.refresh_from_db()
    assert (busy.status, busy.attempts) == ("pending", 2)
    assert busy.next_attempt_at == timezone.now() + timedelta(seconds=120)  # doubled

    time_machine.move_to(start + timedelta(seconds=180), tick=False)
    send_edition(edition.pk)
    busy.refresh_from_db()
    edition.refresh_from_db()
    assert busy.status == "sent" and edition.status == Edition.Status.SENT
    assert sorted(m.to[0] for m in mail.outbox) == ["busy@example.com", "ok@example.com"]


def test_a_hard_failure_is_recorded_on_the_delivery_and_not_retried(
    edition, editor, flaky, django_capture_on_commit_callbacks
):
    SubscriptionFactory(email="gone@example.com", newsletter=edition.newsletter, confirmed=True)
    SubscriptionFactory(email="ok@example.com", newsletter=edition.newsletter, confirmed=True)
    flaky["gone@example.com"] = (550, "5.1.1 No such user")
    edition = send_now(edition, editor, django_capture_on_commit_callbacks)
    gone = Delivery.objects.get(subscription__email="gone@example.com")
    assert gone.status == Delivery.Status.FAILED
    assert "550 5.1.1 No such user" in gone.last_error
    assert edition.status == Edition.Status.SENT
    assert (edition.sent_count, edition.failed_count) == (1, 1)
    assert [m.to[0] for m in mail.outbox] == ["ok@example.com"]


def test_transient_errors_give_up_after_the_last_attempt(
    edition, editor, flaky, settings, time_machine, django_capture_on_commit_callbacks
):
    settings.NEWSROOM_NEWSLETTER_MAX_ATTEMPTS = 2
    start = at(0)
    time_machine.move_to(start, tick=False)
    SubscriptionFactory(email="busy@example.com", newsletter=edition.newsletter, confirmed=True)
    flaky["busy@example.com"] = (421, "4.3.2 Closing")
    send_now(edition, editor, django_capture_on_commit_callbacks)
    time_machine.move_to(start + timedelta(hours=1), tick=False)
    send_edition(edition.pk)
    busy = Delivery.objects.get()
    assert (busy.status, busy.attempts) == ("failed", 2)


def test_a_scheduled_edition_is_sent_only_when_due(
    edition, editor, settings, time_machine, django_capture_on_commit_callbacks
):
    from django_tasks import default_task_backend

    from newsletters.services import schedule_edition

    from .conftest import DUMMY

    settings.TASKS = DUMMY
    SubscriptionFactory(newsletter=edition.newsletter, confirmed=True)
    time_machine.move_to(at(0), tick=False)
    when = timezone.now() + timedelta(hours=2)
    with django_capture_on_commit_callbacks(execute=True):
        schedule_edition(edition, at=when, by=editor)
    edition.refresh_from_db()
    assert (edition.status, edition.scheduled_at) == (Edition.Status.SCHEDULED, when)
    [queued] = default_task_backend.results
    assert queued.task.run_after == when and queued.args == [edition.pk]

    send_edition(edition.pk)  # a task that runs early does nothing
    assert mail.outbox == []
    time_machine.move_to(when, tick=False)
    send_edition(edition.pk)
    edition.refresh_from_db()
    assert edition.status == Edition.Status.SENT and len(mail.outbox) == 1


def test_only_newsletter_editors_may_send(edition, django_capture_on_commit_callbacks):
    from django.core.exceptions import PermissionDenied

    reporter = UserFactory(is_staff=True)
    with pytest.raises(PermissionDenied):
        send_edition_now(edition, by=reporter)


def test_an_edition_without_published_stories_cannot_be_sent(editor):
    from django.core.exceptions import ValidationError

    edition = EditionFactory(stories=[ArticleFactory(draft=True)])
    with pytest.raises(ValidationError, match="published story"):
        send_edition_now(edition, by=editor)
