"""The welcome message: sent once a reader confirms, through a real SMTP server, once per
subscription however often the link is pressed, to nobody suppressed, and kept for a retry
when the mail server cannot take it."""

import re
import smtplib

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from newsletters.models import Subscription, Suppression
from newsletters.services.welcome import send_welcome
from newsletters.tasks import WELCOME_RETRIES, send_welcome_task
from newsletters.tokens import make_confirm_token

from .conftest import DATABASE
from .factories import EditionFactory, NewsletterFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def confirm(subscriptions, capture):
    token = make_confirm_token(subscriptions[0].email, [s.pk for s in subscriptions])
    with capture(execute=True):
        response = Client().post(reverse("newsletters:confirm", args=[token]))
    assert response.status_code == 200


def test_confirming_sends_one_welcome_naming_each_newsletter_with_its_own_unsubscribe_link(
    smtp, django_capture_on_commit_callbacks
):
    morning = NewsletterFactory(
        name="Morning Racket", description="The day's best stories.", cadence="Every morning"
    )
    EditionFactory(
        newsletter=morning, subject="Gull steals chips", status="sent", sent_at=timezone.now()
    )
    EditionFactory(newsletter=morning, subject="A draft nobody saw")
    sport = NewsletterFactory(name="Final Whistle")
    rows = [
        SubscriptionFactory(email="new@example.com", newsletter=morning),
        SubscriptionFactory(email="new@example.com", newsletter=sport),
    ]

    confirm(rows, django_capture_on_commit_callbacks)
    confirm(rows, django_capture_on_commit_callbacks)  # pressed twice: still one welcome

    assert len(smtp.received) == 1
    message = smtp.received[0].message
    assert message["To"] == "new@example.com"
    assert message["Subject"] == "Welcome to Final Whistle and Morning Racket"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Every morning" in text and "The day's best stories." in text
    assert "The latest: Gull steals chips" in text and "A draft nobody saw" not in text
    links = re.findall(r"https://racket\.example(/newsletters/unsubscribe/\S+/)", text)
    assert len(links) == 2 and all(link in html for link in links)
    # Each link stops its own newsletter, and only that one.
    Client().post(links[0])
    statuses = dict(Subscription.objects.values_list("newsletter__name", "status"))
    assert statuses == {"Final Whistle": "unsubscribed", "Morning Racket": "confirmed"}
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert all(s.welcomed_at for s in Subscription.objects.all())


def test_a_suppressed_address_is_not_welcomed(smtp, django_capture_on_commit_callbacks):
    row = SubscriptionFactory(email="Bounced@Example.com")
    Suppression.objects.create(email="bounced@example.com", reason="hard_bounce")
    confirm([row], django_capture_on_commit_callbacks)
    assert smtp.asked == [] and smtp.received == []
    row.refresh_from_db()
    assert row.status == "confirmed" and row.welcomed_at is None


def test_a_welcome_the_mail_server_refuses_is_tried_again_later_and_sent_once(
    smtp, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = DATABASE  # the retry waits in the task queue
    row = SubscriptionFactory(email="later@example.com")
    smtp.refuse = {"later@example.com": ["451 4.7.1 Try again later"]}
    confirm([row], django_capture_on_commit_callbacks)
    # The first try, as the worker would run it: refused, so a second try is queued.
    (first,) = DBTaskResult.objects.all()
    assert send_welcome_task.call(*first.args_kwargs["args"]) == 0
    row.refresh_from_db()
    # Confirmed all the same (the reader's click counts), and not yet welcomed.
    assert row.status == "confirmed" and row.welcomed_at is None
    retry = DBTaskResult.objects.exclude(pk=first.pk).get()
    assert retry.run_after > timezone.now() and retry.args_kwargs["args"] == [[row.pk], 2]

    smtp.refuse.clear()  # the mail server is back
    assert send_welcome_task.call(*retry.args_kwargs["args"]) == 1
    assert send_welcome([row.pk]) == 0  # never twice
    assert [r.rcpt_tos for r in smtp.received] == [["later@example.com"]]
    assert smtp.asked == ["later@example.com", "later@example.com"]


def test_a_welcome_that_never_gets_through_gives_up_after_its_retries(smtp, settings):
    settings.TASKS = DATABASE
    row = SubscriptionFactory(email="never@example.com", confirmed=True)
    smtp.refuse = {"never@example.com": ["451 4.7.1 Try again later"]}
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send_welcome_task.call([row.pk], len(WELCOME_RETRIES) + 1)
    assert not DBTaskResult.objects.exists()
