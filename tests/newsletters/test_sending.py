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


def test_a_story_withdrawn_after_it_was_picked_is_left_out(edition):
    from articles.models import Article

    first = edition.edition_stories.order_by("position").first().article
    Article.objects.filter(pk=first.pk).update(status=Article.Status.DRAFT)
    html = PreparedEdition(edition).rendered.html
    assert first.headline not in html and "Pier collapses" in html


def test_the_html_part_loses_only_the_whitespace_between_its_lines(edition, monkeypatch):
    from newsletters.services import emails

    compact = emails.render_edition(edition, unsubscribe="#u", preferences="#p").html
    monkeypatch.setattr(emails, "_compact_html", lambda html: html)
    as_written = emails.render_edition(edition, unsubscribe="#u", preferences="#p").html
    assert " ".join(compact.split()) == " ".join(as_written.split())
    assert compact.count("\n") * 3 < as_written.count("\n")
    assert max(len(line) for line in compact.splitlines()) <= emails.HTML_LINE


def test_html_with_preformatted_text_keeps_its_lines():
    from newsletters.services.emails import _compact_html

    html = "<div>\n  <pre>two\n  lines</pre>\n</div>\n"
    assert _compact_html(html) == html
    assert _compact_html("<p>\n  one\n\n  two\n</p>\n") == "<p> one two </p>\n"


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


# --- several send tasks --------------------------------------------------------------------------


@pytest.fixture
def dummy_tasks(settings):
    from django_tasks import default_task_backend

    from .conftest import DUMMY

    settings.TASKS = DUMMY
    settings.NEWSROOM_NEWSLETTER_SENDERS = 3
    return default_task_backend


def test_sending_now_enqueues_one_send_task_per_sender(
    edition, editor, dummy_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        send_edition_now(edition, by=editor)
    assert [(r.task.name, r.args) for r in dummy_tasks.results] == [
        ("send_edition_task", [edition.pk])
    ] * 3


def test_scheduling_enqueues_every_sender_for_the_time_chosen(
    edition, editor, dummy_tasks, django_capture_on_commit_callbacks
):
    from newsletters.services import schedule_edition

    when = timezone.now() + timedelta(hours=2)
    with django_capture_on_commit_callbacks(execute=True):
        schedule_edition(edition, at=when, by=editor)
    assert [(r.task.run_after, r.args) for r in dummy_tasks.results] == [(when, [edition.pk])] * 3


def test_a_starting_worker_gives_each_unfinished_edition_all_its_senders(
    dummy_tasks, django_capture_on_commit_callbacks
):
    from newsletters.services import resume_sending

    now = timezone.now()
    sending, due, later, draft = EditionFactory.create_batch(4)
    Edition.objects.filter(pk=sending.pk).update(status=Edition.Status.SENDING)
    Edition.objects.filter(pk=due.pk).update(
        status=Edition.Status.SCHEDULED, scheduled_at=now - timedelta(minutes=1)
    )
    Edition.objects.filter(pk=later.pk).update(
        status=Edition.Status.SCHEDULED, scheduled_at=now + timedelta(hours=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert resume_sending() == [sending.pk, due.pk]
    assert [r.args for r in dummy_tasks.results] == [[sending.pk]] * 3 + [[due.pk]] * 3


def test_the_number_of_senders_comes_from_the_setting_and_is_at_least_one(settings):
    from newsletters.services.sending import sender_count

    settings.NEWSROOM_NEWSLETTER_SENDERS = 4
    assert sender_count() == 4
    settings.NEWSROOM_NEWSLETTER_SENDERS = 0
    assert sender_count() == 1  # at least one, whatever the setting says


@pytest.mark.parametrize("ends_last", ["the run holding a batch", "the other run"])
def test_whichever_run_ends_last_finishes_the_edition_with_exact_counts(edition, ends_last):
    from newsletters.services import create_deliveries
    from newsletters.services.batches import SendReport, send_batch
    from newsletters.services.sending import claim_batch, finish_edition

    readers = SubscriptionFactory.create_batch(10, newsletter=edition.newsletter, confirmed=True)
    Edition.objects.filter(pk=edition.pk).update(status=Edition.Status.SENDING)
    edition.refresh_from_db()
    create_deliveries(edition)
    # One run has claimed a batch of four; another run sends the other six.
    prepared = PreparedEdition(edition)
    token, rows = claim_batch(edition, size=4)
    holder = SendReport(edition.pk)

    def holder_finishes():
        send_batch(prepared, token, rows, holder)
        return finish_edition(edition, holder)

    if ends_last == "the other run":
        assert holder_finishes().status == Edition.Status.SENDING  # six still pending
        assert send_edition(edition.pk).status == Edition.Status.SENT
    else:
        other = send_edition(edition.pk)
        assert (other.sent, other.status) == (6, Edition.Status.SENDING)  # the batch is claimed
        assert Edition.objects.get().sent_count == 6  # progress so far
        assert holder_finishes().status == Edition.Status.SENT

    edition.refresh_from_db()
    assert (edition.status, edition.recipients_count) == (Edition.Status.SENT, 10)
    assert (edition.sent_count, edition.failed_count) == (10, 0)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(r.email for r in readers)
    send_edition(edition.pk)  # a run arriving after the end changes nothing
    edition.refresh_from_db()
    assert (edition.status, edition.sent_count, len(mail.outbox)) == (Edition.Status.SENT, 10, 10)


def test_two_runs_claiming_at_once_never_hold_the_same_reader(edition):
    from newsletters.services import create_deliveries
    from newsletters.services.sending import claim_batch

    SubscriptionFactory.create_batch(7, newsletter=edition.newsletter, confirmed=True)
    create_deliveries(edition)
    first_token, first = claim_batch(edition, size=4)
    second_token, second = claim_batch(edition, size=4)
    third_token, third = claim_batch(edition, size=4)
    assert first_token != second_token
    assert (len(first), len(second), third) == (4, 3, [])
    assert not {row[0] for row in first} & {row[0] for row in second}


@pytest.mark.parametrize("implementation", ["_advance_orm", "_advance_postgresql"])
def test_one_statement_marks_the_last_message_sent_and_the_next_sending(edition, implementation):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from newsletters.services import batches, create_deliveries
    from newsletters.services.sending import claim_batch

    if implementation == "_advance_postgresql" and connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's statement")
    advance = getattr(batches, implementation)
    SubscriptionFactory.create_batch(3, newsletter=edition.newsletter, confirmed=True)
    create_deliveries(edition)
    token, rows = claim_batch(edition, size=3)
    a, b, c = (row[0] for row in rows)
    assert batches._advance(token, sent=None, start=a)
    now = timezone.now() + timedelta(seconds=5)

    with CaptureQueriesContext(connection) as queries:
        assert advance(token, sent=a, start=b, now=now) is True
    assert len(queries) == 1
    marks = {d.pk: d for d in Delivery.objects.all()}
    assert (marks[a].status, marks[a].sent_at, marks[a].attempts) == ("sent", now, 1)
    assert (marks[b].status, marks[b].claimed_at, marks[b].attempts) == ("sending", now, 1)
    assert marks[b].sent_at is None

    # c's claim was taken back meanwhile: b is still marked sent, c is left alone.
    Delivery.objects.filter(pk=c).update(status="pending", claim_token="", claimed_at=None)
    assert advance(token, sent=b, start=c, now=now) is False
    marks = {d.pk: d for d in Delivery.objects.all()}
    assert (marks[b].status, marks[c].status, marks[c].attempts) == ("sent", "pending", 0)


# --- an edition whose email cannot be built ----------------------------------------------------


@pytest.mark.parametrize("starting", ["sending", "scheduled and due"])
def test_an_edition_whose_email_cannot_be_built_fails_with_its_reason_instead_of_hanging(
    edition, editor, starting, django_capture_on_commit_callbacks
):
    from newsletters.models import Newsletter

    SubscriptionFactory(newsletter=edition.newsletter, confirmed=True)
    if starting == "sending":
        Edition.objects.filter(pk=edition.pk).update(status=Edition.Status.SENDING)
    else:
        Edition.objects.filter(pk=edition.pk).update(
            status=Edition.Status.SCHEDULED, scheduled_at=timezone.now() - timedelta(minutes=1)
        )
    # The name was changed, skipping validation, after sending started.
    Newsletter.objects.filter(pk=edition.newsletter_id).update(name="Morning\nRacket")

    report = send_edition(edition.pk)

    edition.refresh_from_db()
    assert report.status == edition.status == Edition.Status.FAILED
    assert "name has a line break" in edition.failure_reason
    assert mail.outbox == []
    assert not Edition.objects.to_resume().filter(pk=edition.pk).exists()

    # Fixed, it goes out to everyone, once.
    newsletter = Newsletter.objects.get(pk=edition.newsletter_id)
    newsletter.name = "Morning Racket"
    newsletter.save()
    send_now(edition, editor, django_capture_on_commit_callbacks)
    assert edition.status == Edition.Status.SENT and edition.failure_reason == ""
    assert len(mail.outbox) == 1


def test_a_subject_holding_a_link_placeholder_is_refused_with_a_reason(edition, editor):
    from django.core.exceptions import ValidationError

    from newsletters.services.emails import UNSUBSCRIBE_PLACEHOLDER

    Edition.objects.filter(pk=edition.pk).update(subject=f"Hi {UNSUBSCRIBE_PLACEHOLDER}")
    edition.refresh_from_db()
    with pytest.raises(ValidationError, match="cannot be made into an email"):
        send_edition_now(edition, by=editor)
