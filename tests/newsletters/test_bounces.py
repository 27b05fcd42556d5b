"""Newsletters that stay deliverable: a hard bounce at send time, through a real SMTP server on
loopback, suppresses the address for every newsletter and the next edition does not even try
it; soft bounces count to a threshold; a provider's signed webhook and a bounce message in the
bounce mailbox suppress too, each counted once."""

import hashlib
import hmac
import json
import mailbox
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from newsletters.models import Bounce, Edition, Subscription, Suppression
from newsletters.services import send_edition_now
from newsletters.services.bounces import record_bounce
from tests.accounts.factories import UserFactory
from tests.articles.factories import ArticleFactory

from .factories import EditionFactory, NewsletterFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db
GONE = "gone@example.com"


def send(newsletter, subject, django_capture_on_commit_callbacks):
    story = ArticleFactory(headline=f"Story for {subject}")
    edition = EditionFactory(newsletter=newsletter, subject=subject, stories=[story])
    with django_capture_on_commit_callbacks(execute=True):
        send_edition_now(edition, by=UserFactory(is_superuser=True))
    edition.refresh_from_db()
    return edition


def test_a_hard_bounce_at_send_time_stops_every_newsletter_going_to_the_address(
    smtp, django_capture_on_commit_callbacks
):
    morning = NewsletterFactory(name="Morning Racket", slug="morning")
    evening = NewsletterFactory(name="Evening Racket", slug="evening")
    SubscriptionFactory(email=GONE, newsletter=morning, confirmed=True)
    SubscriptionFactory(email=GONE, newsletter=evening, confirmed=True)
    readers = SubscriptionFactory.create_batch(3, newsletter=morning, confirmed=True)
    smtp.refuse = {GONE: ["550 5.1.1 No such user here"]}

    first = send(morning, "Monday", django_capture_on_commit_callbacks)

    assert (first.sent_count, first.failed_count) == (3, 1)
    suppression = Suppression.objects.get()
    assert (suppression.email_key, suppression.reason) == (GONE, "hard_bounce")
    assert "550 5.1.1 No such user here" in suppression.detail
    assert Bounce.objects.get().source == "smtp"
    assert Subscription.objects.filter(email=GONE).count() == 2  # kept, with their consent

    smtp.asked.clear()
    second = send(morning, "Tuesday", django_capture_on_commit_callbacks)
    other = send(evening, "Evening news", django_capture_on_commit_callbacks)

    assert GONE not in smtp.asked  # not even tried
    assert sorted(smtp.asked) == sorted(r.email for r in readers)
    assert (second.recipients_count, second.sent_count, second.failed_count) == (3, 3, 0)
    assert other.status == Edition.Status.SENT and other.recipients_count == 0


def test_soft_bounces_suppress_only_past_the_threshold(settings):
    settings.NEWSROOM_NEWSLETTER_SOFT_BOUNCES = 3
    for _ in range(2):
        assert record_bounce("full@example.com", "soft", source="smtp", detail="452 full") is None
    suppression = record_bounce("full@example.com", "soft", source="smtp", detail="452 full")
    assert suppression is not None and suppression.reason == "soft_bounces"
    assert record_bounce("other@example.com", "soft", source="smtp") is None


def mailgun_event(signing_key: str, *, event="failed", severity="permanent", id_="ev-1"):
    # Mailgun's token names the event (anymail's event id): a new one each event.
    timestamp, token = str(int(time.time())), hashlib.sha256(id_.encode()).hexdigest()
    signature = hmac.new(
        signing_key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256
    ).hexdigest()
    return {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature},
        "event-data": {
            "event": event,
            "severity": severity,
            "id": id_,
            "timestamp": time.time(),
            "recipient": "Angry@Example.com",
            "reason": "bounce",
            "delivery-status": {"code": 550, "description": "", "message": "No such mailbox"},
            "message": {"headers": {"message-id": "edition-1@racket.example"}},
        },
    }


@pytest.fixture
def provider(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "racket:s3cret", "MAILGUN_WEBHOOK_SIGNING_KEY": "key-1"}
    return Client(headers={"Authorization": "Basic cmFja2V0OnMzY3JldA=="})  # racket:s3cret


def test_a_providers_signed_bounce_and_complaint_suppress_and_count_once(provider):
    url = "/newsletters/anymail/mailgun/tracking/"
    body = json.dumps(mailgun_event("key-1"))
    for _ in range(2):  # providers deliver again when unsure: counted once
        assert provider.post(url, body, content_type="application/json").status_code == 200
    assert Suppression.objects.get().email_key == "angry@example.com"
    assert Bounce.objects.count() == 1

    complaint = json.dumps(mailgun_event("key-1", event="complained", id_="ev-2"))
    provider.post(url, complaint, content_type="application/json")
    assert Bounce.objects.filter(kind="complaint").count() == 1


def test_a_webhook_with_a_bad_signature_or_no_secret_is_refused_and_counts_nothing(provider):
    url = "/newsletters/anymail/mailgun/tracking/"
    forged = json.dumps(mailgun_event("not-the-key"))
    assert provider.post(url, forged, content_type="application/json").status_code == 400
    body = json.dumps(mailgun_event("key-1"))
    # No basic-auth secret: anymail refuses it (400) before reading it.
    assert Client().post(url, body, content_type="application/json").status_code == 400
    assert not Bounce.objects.exists() and not Suppression.objects.exists()


def test_provider_webhooks_are_not_there_until_secured_and_a_garbled_body_is_a_bad_request(
    provider, settings
):
    body = json.dumps(mailgun_event("key-1"))
    # Mandrill's key is not set: its webhook is not served.
    assert (
        provider.post(
            "/newsletters/anymail/mandrill/tracking/", body, content_type="application/json"
        ).status_code
        == 404
    )
    garbled = provider.post(
        "/newsletters/anymail/amazon_ses/tracking/", "--x--", content_type="text/plain"
    )
    assert garbled.status_code == 400
    assert (
        provider.get("/newsletters/anymail/mailgun/inbound/").status_code == 404
    )  # mail is not read
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": "key-1"}  # no shared secret: open to anyone
    url = "/newsletters/anymail/mailgun/tracking/"
    assert provider.post(url, body, content_type="application/json").status_code == 404
    assert not Bounce.objects.exists() and not Suppression.objects.exists()


def bounce_message(address: str, status: str, message_id: str) -> str:
    """A delivery status notification (RFC 3464), as a mail server sends it."""
    return (
        "From: MAILER-DAEMON@mx.example.com\n"
        "To: bounces@racket.example\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        f"Message-ID: {message_id}\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\n\n'
        "--b1\nContent-Type: text/plain\n\n"
        f"I could not deliver your message to <{address}>.\n\n"
        "--b1\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; mx.example.com\n\n"
        f"Final-Recipient: rfc822; {address}\n"
        f"Action: {'failed' if status.startswith('5') else 'delayed'}\nStatus: {status}\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\n\n"
        "--b1--\n"
    )


def test_bounce_messages_in_the_bounce_mailbox_suppress_and_are_counted_once(tmp_path):
    box = mailbox.Maildir(tmp_path / "bounces")
    box.add(bounce_message("nobody@example.org", "5.1.1", "<dsn-1@mx.example.com>"))
    box.add(bounce_message("full@example.org", "4.2.2", "<dsn-2@mx.example.com>"))
    box.close()

    for _ in range(2):  # read twice: nothing counted twice
        out = StringIO()
        call_command("process_bounces", str(tmp_path / "bounces"), stdout=out)
    assert "2 message(s) read, 2 bounce(s) recorded." in out.getvalue()
    assert list(Suppression.objects.values_list("email_key", flat=True)) == ["nobody@example.org"]
    assert sorted(Bounce.objects.values_list("email_key", "kind")) == [
        ("full@example.org", "soft"),
        ("nobody@example.org", "hard"),
    ]


def test_a_path_that_is_no_mailbox_is_refused_clearly(tmp_path):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="neither a Maildir folder nor an mbox file"):
        call_command("process_bounces", str(tmp_path / "nowhere"))
