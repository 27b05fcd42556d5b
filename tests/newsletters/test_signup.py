"""Signing up: the sign-up box on article pages, the newsletters page, double opt-in's first
email, and the abuse guards (honeypot, rate limits, address checks)."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from newsletters.models import Newsletter, Subscription
from tests.conftest import database_vendor

from .factories import NewsletterFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db
URL = reverse("newsletters:signup")


def confirm_link(message) -> str:
    return re.search(r"https://racket\.example(/newsletters/confirm/[^/\s]+/)", message.body)[1]


def post(client, data, **extra):
    return client.post(URL, data, **extra)


def test_the_sign_up_box_subscribes_to_the_default_newsletter_as_pending(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, {"email": "reader@example.com", "next": "/news/x/"})
    assert response.status_code == 200
    assert "Nothing will be sent to you until you confirm it" in response.content.decode()
    subscription = Subscription.objects.get()
    assert subscription.newsletter.slug == "daily"
    assert subscription.status == Subscription.Status.PENDING
    assert subscription.source_url == "/news/x/"
    assert subscription.confirmed_at is None
    [message] = mailoutbox
    assert message.to == ["reader@example.com"]
    assert "confirm" in message.subject.lower()
    assert confirm_link(message)


def test_the_form_works_without_a_csrf_token_because_public_pages_are_cached():
    response = Client(enforce_csrf_checks=True).post(URL, {"email": "a@example.com"})
    assert response.status_code == 200


def test_the_newsletters_page_lists_every_public_newsletter_with_a_label_for_each_field(client):
    NewsletterFactory(name="Sport Extra", slug="sport")
    NewsletterFactory(name="Secret Staff Memo", slug="memo", private=True)
    page = client.get(reverse("newsletters:list")).content.decode()
    assert page.count("<h1") == 1
    assert "Sport Extra" in page and "The Daily Racket" in page
    assert "Secret Staff Memo" not in page
    for field_id in re.findall(r'<input[^>]*\bid="([^"]+)"', page):
        if field_id == "site-search":
            continue
        assert f'for="{field_id}"' in page, f"no label for #{field_id}"
    assert client.get(URL).status_code == 200


def test_one_address_may_choose_several_newsletters_and_gets_one_email(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    NewsletterFactory(name="Sport Extra", slug="sport")
    NewsletterFactory(name="Showbiz", slug="showbiz")
    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            client,
            {"email": "fan@example.com", "newsletters": ["sport", "showbiz"], "choosing": "True"},
        )
    assert response.status_code == 200
    assert set(Subscription.objects.values_list("newsletter__slug", flat=True)) == {
        "sport",
        "showbiz",
    }
    [message] = mailoutbox
    assert "Sport Extra" in message.body and "Showbiz" in message.body


def test_choosing_nothing_on_the_newsletters_page_is_an_error(client):
    response = post(client, {"email": "fan@example.com", "choosing": "True"})
    assert response.status_code == 400
    assert "Choose at least one newsletter" in response.content.decode()
    assert not Subscription.objects.exists()


def test_signing_up_again_reveals_nothing_and_stores_one_row(client):
    first = post(client, {"email": "reader@example.com"})
    second = post(client, {"email": "READER@example.com"})
    assert first.content == second.content
    assert Subscription.objects.count() == 1


def test_a_confirmed_reader_signing_up_again_sees_the_same_page_and_stays_confirmed(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    daily = Newsletter.objects.get(slug="daily")
    SubscriptionFactory(email="known@example.com", newsletter=daily, confirmed=True)
    with django_capture_on_commit_callbacks(execute=True):
        known = post(client, {"email": "known@example.com"})
    unknown = post(client, {"email": "unknown@example.com"})
    assert known.content == unknown.content
    assert Subscription.objects.get(email="known@example.com").status == "confirmed"
    [message] = mailoutbox  # only the address's owner hears that it was already signed up
    assert message.to == ["known@example.com"] and "already" in message.subject


def test_an_unsubscribed_reader_who_signs_up_again_must_confirm_again(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    daily = Newsletter.objects.get(slug="daily")
    SubscriptionFactory(email="back@example.com", newsletter=daily, unsubscribed=True)
    with django_capture_on_commit_callbacks(execute=True):
        post(client, {"email": "back@example.com"})
    assert Subscription.objects.get().status == Subscription.Status.PENDING
    assert confirm_link(mailoutbox[0])


@pytest.mark.parametrize(
    "email",
    ["", "not-an-address", "x" * 250 + "@example.com", "a" * 65 + "@example.com", "a@localhost"],
)
def test_a_bad_address_gets_a_clear_message_and_stores_nothing(client, email):
    response = post(client, {"email": email})
    assert response.status_code == 400
    assert "Please check the address" in response.content.decode()
    assert Subscription.objects.count() == 0


def test_a_filled_honeypot_looks_like_success_but_stores_and_sends_nothing(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, {"email": "bot@example.com", "website": "http://spam.example"})
    assert response.status_code == 200
    assert "Thanks for signing up" in response.content.decode()
    assert not Subscription.objects.exists()
    assert mailoutbox == []


def test_the_honeypot_is_hidden_from_people_and_assistive_technology(client):
    page = client.get(reverse("newsletters:list")).content.decode()
    honeypot = re.search(r'<div class="visually-hidden" aria-hidden="true">.*?</div>', page, re.S)
    assert 'name="website"' in honeypot[0] and 'tabindex="-1"' in honeypot[0]


def test_too_many_sign_ups_from_one_address_get_a_429_page(client, settings):
    settings.NEWSROOM_NEWSLETTER_SIGNUPS_PER_IP = 2
    for n in range(2):
        assert post(client, {"email": f"r{n}@example.com"}).status_code == 200
    response = post(client, {"email": "r3@example.com"})
    assert response.status_code == 429
    assert "Too many sign-ups" in response.content.decode()
    assert Subscription.objects.count() == 2
    other = post(client, {"email": "r4@example.com"}, REMOTE_ADDR="192.0.2.9")
    assert other.status_code == 200


def test_the_client_address_comes_from_the_trusted_proxy_when_there_is_one(client, settings):
    settings.NEWSROOM_NEWSLETTER_SIGNUPS_PER_IP = 1
    settings.NEWSROOM_PROXY_COUNT = 1
    first = post(client, {"email": "a@example.com"}, HTTP_X_FORWARDED_FOR="spoof, 198.51.100.1")
    second = post(client, {"email": "b@example.com"}, HTTP_X_FORWARDED_FOR="198.51.100.2")
    same = post(client, {"email": "c@example.com"}, HTTP_X_FORWARDED_FOR="x, 198.51.100.1")
    assert (first.status_code, second.status_code, same.status_code) == (200, 200, 429)


def test_one_address_gets_at_most_the_limit_of_confirmation_emails_per_hour(
    client, mailoutbox, django_capture_on_commit_callbacks, time_machine
):
    time_machine.move_to("2026-11-25 09:00:00+00:00", tick=False)
    responses = []
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(5):
            responses.append(
                post(client, {"email": "victim@example.com"}, REMOTE_ADDR=f"10.0.0.{n}")
            )
    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1  # the reader cannot tell
    assert len(mailoutbox) == 3
    time_machine.move_to("2026-11-25 10:30:00+00:00", tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        post(client, {"email": "victim@example.com"})
    assert len(mailoutbox) == 4


def test_nothing_is_sent_to_a_pending_subscriber(client, django_capture_on_commit_callbacks):
    from newsletters.services import send_edition_now
    from tests.accounts.factories import UserFactory

    from .factories import EditionFactory

    post(client, {"email": "pending@example.com"})
    edition = EditionFactory(newsletter=Newsletter.objects.get(slug="daily"))
    editor = UserFactory(is_superuser=True)
    from django.core import mail

    with django_capture_on_commit_callbacks(execute=True):
        send_edition_now(edition, by=editor)
    assert mail.outbox == []
    edition.refresh_from_db()
    assert edition.status == "sent" and edition.recipients_count == 0


# --- one mailbox, one spelling ------------------------------------------------------------------


def test_spellings_of_one_mailbox_count_as_one_address_and_are_stored_once(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    spellings = [
        "victim@example.com",
        '"victim"@example.com',
        '"\\victim"@example.com',
        '"v\\i\\c\\t\\i\\m"@Example.COM',
        "victim@EXAMPLE.com",
        '"victim"@example.com',
    ]
    with django_capture_on_commit_callbacks(execute=True):
        for n, address in enumerate(spellings):
            response = post(client, {"email": address}, REMOTE_ADDR=f"10.0.1.{n}")
            assert response.status_code == 200, address
    assert len(mailoutbox) == 3  # NEWSROOM_NEWSLETTER_SIGNUPS_PER_ADDRESS, whatever the spelling
    assert {m.to[0] for m in mailoutbox} == {"victim@example.com"}
    assert list(Subscription.objects.values_list("email", flat=True)) == ["victim@example.com"]


def test_the_local_part_keeps_its_case_but_its_case_makes_no_second_subscription(client):
    post(client, {"email": "Victim.Name@Example.com"})
    post(client, {"email": "victim.name@example.com"}, REMOTE_ADDR="10.0.1.9")
    assert list(Subscription.objects.values_list("email", flat=True)) == ["Victim.Name@example.com"]


def test_an_international_domain_is_stored_idna_encoded(client):
    post(client, {"email": "leser@Bücher.example"})
    post(client, {"email": "leser@xn--bcher-kva.EXAMPLE"}, REMOTE_ADDR="10.0.1.9")
    assert list(Subscription.objects.values_list("email", flat=True)) == [
        "leser@xn--bcher-kva.example"
    ]


@pytest.mark.parametrize(
    "email",
    [
        "x@[127.0.0.1]",
        "x@[::1]",
        '""@example.com',
        '"\x01victim"@example.com',
        '"victim\x0b"@example.com',
    ],
)
def test_ip_literal_empty_and_control_character_addresses_are_refused(
    client, mailoutbox, email, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, {"email": email})
    assert response.status_code == 400
    assert "Please check the address" in response.content.decode()
    assert not Subscription.objects.exists() and mailoutbox == []


def test_an_ip_literal_is_refused_with_a_reason_a_reader_understands(client):
    response = post(client, {"email": "x@[127.0.0.1]"})
    assert "not at an IP address" in response.content.decode()


def test_a_page_path_with_a_line_break_is_not_kept_as_the_source(client):
    post(client, {"email": "reader@example.com", "next": "/news/x/\r\n=cmd"})
    assert Subscription.objects.get().source_url == ""


# --- two sign-ups at once ------------------------------------------------------------------------


def _wait_for_a_lock_wait(seconds: float = 20) -> bool:
    """Whether another connection to the test database is waiting for a lock, within `seconds`
    (polled, since the waiting happens inside PostgreSQL)."""
    import time

    from django.db import connection

    deadline = time.monotonic() + seconds
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.02)
    return False


@pytest.mark.skipif(
    database_vendor() != "postgresql", reason="SQLite runs one writing transaction at a time"
)
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_sign_ups_for_a_new_address_both_succeed_and_store_one_row():
    """The first sign-up has written its row but not committed when the second one arrives:
    the second must wait for it and find the row, not collide with it (it answered 500)."""
    import threading

    from django.db import connections, transaction

    NewsletterFactory(slug="daily", name="The Daily Racket")  # flushed by transactional tests
    written, release = threading.Event(), threading.Event()
    statuses = {}

    def first():
        try:
            with transaction.atomic():  # held open until the second sign-up is waiting
                statuses["first"] = post(Client(), {"email": "racer@example.com"}).status_code
                written.set()
                release.wait(timeout=30)
        finally:
            written.set()
            connections.close_all()

    def second():
        try:
            written.wait(timeout=30)
            response = Client(raise_request_exception=False).post(
                URL, {"email": "Racer@example.com"}, REMOTE_ADDR="192.0.2.7"
            )
            statuses["second"] = response.status_code
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    try:
        assert written.wait(timeout=30)
        waited = _wait_for_a_lock_wait()
    finally:
        release.set()
        for thread in threads:
            thread.join(timeout=60)
    assert waited, "the second sign-up never waited for the first one's row"
    assert statuses == {"first": 200, "second": 200}
    assert list(Subscription.objects.values_list("email", "status")) == [
        ("racer@example.com", "pending")
    ]
