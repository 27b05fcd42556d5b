"""The signed links in newsletter emails: confirming (double opt-in), unsubscribing (with the
RFC 8058 one-click POST) and the preferences page, each with tampered and expired links."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from newsletters.models import Newsletter, Subscription
from newsletters.tokens import (
    make_confirm_token,
    make_preferences_token,
    make_unsubscribe_token,
)

from .factories import NewsletterFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def confirm_url(subscriptions, email=None):
    email = email or subscriptions[0].email
    return reverse(
        "newsletters:confirm", args=[make_confirm_token(email, [s.pk for s in subscriptions])]
    )


def tamper(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


def one_h1(response) -> str:
    page = response.content.decode()
    assert page.count("<h1") == 1, page
    return re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S)[1].strip()


# --- confirming -------------------------------------------------------------------------------


def test_the_link_in_the_confirmation_email_confirms_after_one_press(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("newsletters:signup"), {"email": "new@example.com"})
    path = re.search(r"https://racket\.example(/newsletters/confirm/\S+/)", mailoutbox[0].body)[1]

    page = client.get(path)  # what a link scanner sees: a button, nothing confirmed yet
    assert page.status_code == 200 and one_h1(page) == "Confirm your sign-up"
    assert Subscription.objects.get().status == Subscription.Status.PENDING

    done = Client(enforce_csrf_checks=True).post(path)
    assert done.status_code == 200 and one_h1(done) == "You are signed up"
    subscription = Subscription.objects.get()
    assert subscription.status == Subscription.Status.CONFIRMED
    assert subscription.confirmed_at is not None


def test_confirming_twice_says_it_is_already_confirmed(client):
    subscription = SubscriptionFactory()
    url = confirm_url([subscription])
    client.post(url)
    again = client.post(url)
    assert again.status_code == 200 and one_h1(again) == "Already confirmed"
    assert one_h1(client.get(url)) == "Already confirmed"


def test_an_expired_confirmation_link_gets_a_clear_page_and_confirms_nothing(
    client, settings, time_machine
):
    settings.NEWSROOM_NEWSLETTER_CONFIRM_MAX_AGE = 3 * 24 * 3600
    time_machine.move_to("2026-11-01 08:00:00+00:00", tick=False)
    subscription = SubscriptionFactory()
    url = confirm_url([subscription])
    time_machine.move_to("2026-11-04 08:00:01+00:00", tick=False)
    response = client.post(url)
    assert response.status_code == 410
    assert one_h1(response) == "This link has expired"
    assert "Sign up again" in response.content.decode()
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.PENDING


def test_a_confirmation_link_just_inside_its_lifetime_still_works(client, settings, time_machine):
    settings.NEWSROOM_NEWSLETTER_CONFIRM_MAX_AGE = 3 * 24 * 3600
    time_machine.move_to("2026-11-01 08:00:00+00:00", tick=False)
    subscription = SubscriptionFactory()
    url = confirm_url([subscription])
    time_machine.move_to("2026-11-04 07:59:00+00:00", tick=False)
    assert client.post(url).status_code == 200
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.CONFIRMED


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_tampered_confirmation_link_gets_a_clear_page_and_confirms_nothing(client, method):
    subscription = SubscriptionFactory()
    token = make_confirm_token(subscription.email, [subscription.pk])
    response = getattr(client, method)(reverse("newsletters:confirm", args=[tamper(token)]))
    assert response.status_code == 400
    assert one_h1(response) == "This link does not work"
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.PENDING


def test_a_token_made_for_another_purpose_or_address_does_not_confirm(client):
    subscription = SubscriptionFactory()
    other = SubscriptionFactory()
    unsubscribe_token = make_unsubscribe_token(subscription.pk)
    assert client.post(reverse("newsletters:confirm", args=[unsubscribe_token])).status_code == 400
    # A genuine token for one address cannot confirm another address's subscription.
    response = client.post(confirm_url([other], email=subscription.email))
    assert response.status_code == 400
    assert Subscription.objects.filter(status="confirmed").count() == 0


def test_confirming_after_unsubscribing_leaves_the_reader_unsubscribed(client):
    subscription = SubscriptionFactory(unsubscribed=True)
    response = client.post(confirm_url([subscription]))
    assert one_h1(response) == "Nothing to confirm"
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.UNSUBSCRIBED


# --- unsubscribing ---------------------------------------------------------------------------


def unsubscribe_url(subscription):
    return reverse("newsletters:unsubscribe", args=[make_unsubscribe_token(subscription.pk)])


def test_the_unsubscribe_link_shows_a_button_then_unsubscribes(client):
    subscription = SubscriptionFactory(confirmed=True)
    page = client.get(unsubscribe_url(subscription))
    assert page.status_code == 200
    assert one_h1(page).startswith("Unsubscribe from")
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.CONFIRMED
    done = client.post(unsubscribe_url(subscription))
    assert one_h1(done) == "You are unsubscribed"
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.UNSUBSCRIBED
    assert subscription.unsubscribed_at is not None


def test_one_click_post_works_without_csrf_token_cookie_or_login():
    subscription = SubscriptionFactory(confirmed=True)
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        unsubscribe_url(subscription),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.UNSUBSCRIBED
    # Mail providers may repeat the POST; it stays a success.
    assert (
        client.post(unsubscribe_url(subscription), {"List-Unsubscribe": "One-Click"}).status_code
        == 200
    )


def test_unsubscribing_from_one_newsletter_keeps_the_others(client):
    first = SubscriptionFactory(email="two@example.com", confirmed=True)
    second = SubscriptionFactory(email="two@example.com", confirmed=True)
    client.post(unsubscribe_url(first))
    assert Subscription.objects.get(pk=second.pk).status == Subscription.Status.CONFIRMED


def test_a_tampered_unsubscribe_link_gets_a_clear_page(client):
    subscription = SubscriptionFactory(confirmed=True)
    url = reverse("newsletters:unsubscribe", args=[tamper(make_unsubscribe_token(subscription.pk))])
    response = client.post(url)
    assert response.status_code == 400 and one_h1(response) == "This link does not work"
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.CONFIRMED


def test_an_old_unsubscribe_link_still_works(client, time_machine):
    time_machine.move_to("2024-01-01 08:00:00+00:00", tick=False)
    subscription = SubscriptionFactory(confirmed=True)
    url = unsubscribe_url(subscription)
    time_machine.move_to("2026-11-25 08:00:00+00:00", tick=False)
    assert client.post(url).status_code == 200
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.UNSUBSCRIBED


# --- preferences -----------------------------------------------------------------------------


def preferences_url(subscription):
    return reverse(
        "newsletters:preferences",
        args=[make_preferences_token(subscription.pk, subscription.email)],
    )


def test_the_preferences_page_shows_and_stops_what_the_reader_receives():
    sport = NewsletterFactory(name="Sport Extra", slug="sport")
    daily = Newsletter.objects.get(slug="daily")
    mine = SubscriptionFactory(email="me@example.com", newsletter=daily, confirmed=True)
    client = Client(enforce_csrf_checks=True)
    page = client.get(preferences_url(mine))
    assert page.status_code == 200 and one_h1(page) == "Your newsletters"
    html = page.content.decode()
    assert re.search(rf'value="{daily.pk}"[^>]*checked', html)
    assert not re.search(rf'value="{sport.pk}"[^>]*checked', html)

    saved = client.post(preferences_url(mine), {"newsletters": []})
    assert saved.status_code == 200 and "No longer receiving: The Daily Racket" in (
        saved.content.decode()
    )
    mine.refresh_from_db()
    assert mine.status == Subscription.Status.UNSUBSCRIBED


def test_adding_a_newsletter_on_the_preferences_page_waits_for_its_confirmation(
    mailoutbox, django_capture_on_commit_callbacks
):
    """Whoever holds a preferences link (a forwarded newsletter) may not own the address."""
    sport = NewsletterFactory(name="Sport Extra", slug="sport")
    daily = Newsletter.objects.get(slug="daily")
    mine = SubscriptionFactory(email="me@example.com", newsletter=daily, confirmed=True)
    client = Client(enforce_csrf_checks=True)
    with django_capture_on_commit_callbacks(execute=True):
        saved = client.post(preferences_url(mine), {"newsletters": [daily.pk, sport.pk]})
    assert saved.status_code == 200
    assert "emailed a link to confirm: Sport Extra" in " ".join(saved.content.decode().split())
    statuses = dict(
        Subscription.objects.for_email("me@example.com").values_list("newsletter__slug", "status")
    )
    assert statuses == {"daily": "confirmed", "sport": "pending"}  # daily: nothing to confirm
    [message] = mailoutbox
    assert message.to == ["me@example.com"] and "Sport Extra" in message.body
    path = re.search(r"https://racket\.example(/newsletters/confirm/\S+/)", message.body)[1]
    client.post(path)
    assert Subscription.objects.get(newsletter=sport).status == Subscription.Status.CONFIRMED


def test_keeping_what_the_reader_receives_sends_nothing(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    daily = Newsletter.objects.get(slug="daily")
    mine = SubscriptionFactory(email="me@example.com", newsletter=daily, confirmed=True)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(preferences_url(mine), {"newsletters": [daily.pk]})
    assert mailoutbox == []
    mine.refresh_from_db()
    assert mine.status == Subscription.Status.CONFIRMED


def test_an_expired_preferences_link_gets_a_clear_page(client, settings, time_machine):
    settings.NEWSROOM_NEWSLETTER_PREFERENCES_MAX_AGE = 3600
    time_machine.move_to("2026-11-25 08:00:00+00:00", tick=False)
    url = preferences_url(SubscriptionFactory(email="me@example.com", confirmed=True))
    time_machine.move_to("2026-11-25 09:00:01+00:00", tick=False)
    response = client.get(url)
    assert response.status_code == 410 and one_h1(response) == "This link has expired"


def test_a_tampered_preferences_link_changes_nothing(client):
    subscription = SubscriptionFactory(email="me@example.com", confirmed=True)
    token = make_preferences_token(subscription.pk, subscription.email)
    url = reverse("newsletters:preferences", args=[tamper(token)])
    response = client.post(url, {"newsletters": []})
    assert response.status_code == 400
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.CONFIRMED


def test_link_pages_are_never_cached(client):
    subscription = SubscriptionFactory(confirmed=True)
    response = client.get(unsubscribe_url(subscription))
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


# --- what the unsubscribe link may do ---------------------------------------------------------


def test_the_unsubscribe_link_never_leads_to_the_preferences_page(client):
    """It never expires, so it must not mint links that can do more than unsubscribe."""
    subscription = SubscriptionFactory(confirmed=True)
    url = unsubscribe_url(subscription)
    for response in (client.get(url), client.post(url), client.get(url), client.post(url)):
        assert response.status_code == 200
        assert "/newsletters/preferences/" not in response.content.decode()


def test_an_unsubscribed_reader_may_sign_up_again_by_confirming_by_email(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    subscription = SubscriptionFactory(email="back@example.com", confirmed=True)
    url = unsubscribe_url(subscription)
    client.post(url)
    page = client.get(url).content.decode()
    assert 'name="action" value="resubscribe"' in page
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(url, {"action": "resubscribe"})
    assert again.status_code == 200 and one_h1(again) == "Check your inbox"
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.PENDING  # nothing sent until confirmed
    [message] = mailoutbox
    assert message.to == ["back@example.com"]
    path = re.search(r"https://racket\.example(/newsletters/confirm/\S+/)", message.body)[1]
    client.post(path)
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.CONFIRMED


def test_signing_up_again_from_the_unsubscribe_page_counts_towards_the_address_limit(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    subscription = SubscriptionFactory(email="back@example.com", unsubscribed=True)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            client.post(unsubscribe_url(subscription), {"action": "resubscribe"})
    assert len(mailoutbox) == 3


# --- no address in any link -------------------------------------------------------------------


def readable_part(token: str) -> str:
    """What anyone who sees a link can read in its token: the signed value, which is only
    base64 (and perhaps zlib), not encrypted."""
    import zlib

    from django.core.signing import b64_decode

    value = token.split(":")[0]
    data = b64_decode(value.lstrip(".").encode())
    return (zlib.decompress(data) if value.startswith(".") else data).decode()


LINK = re.compile(
    r"https://racket\.example/newsletters/(?:confirm|preferences|unsubscribe)/([^/\s>]+)/"
)


def test_no_link_in_any_email_carries_the_readers_address(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    from newsletters.services import send_edition_now
    from tests.accounts.factories import UserFactory

    from .factories import EditionFactory

    sport = NewsletterFactory(name="Sport Extra", slug="sport")
    SubscriptionFactory(email="known.reader@example.com", newsletter=sport, confirmed=True)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("newsletters:signup"),
            {
                "email": "known.reader@example.com",
                "newsletters": ["daily", "sport"],
                "choosing": "1",
            },
        )
        send_edition_now(EditionFactory(newsletter=sport), by=UserFactory(is_superuser=True))
    confirmation, edition = mailoutbox
    tokens = LINK.findall(confirmation.body) + LINK.findall(edition.body)
    tokens += LINK.findall(edition.extra_headers["List-Unsubscribe"])
    assert len(tokens) == 5  # confirm and preferences; unsubscribe, preferences, the header's
    for token in tokens:
        assert "known.reader" not in readable_part(token), readable_part(token)


def test_links_sent_before_tokens_stopped_carrying_the_address_still_work(client):
    from django.core import signing

    from newsletters.tokens import CONFIRM_SALT, PREFERENCES_SALT

    subscription = SubscriptionFactory(email="old.reader@example.com")
    old_confirm = signing.TimestampSigner(salt=CONFIRM_SALT).sign_object(
        {"e": "old.reader@example.com", "s": [subscription.pk]}
    )
    assert client.post(reverse("newsletters:confirm", args=[old_confirm])).status_code == 200
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.CONFIRMED
    old_preferences = signing.TimestampSigner(salt=PREFERENCES_SALT).sign_object(
        "old.reader@example.com"
    )
    page = client.get(reverse("newsletters:preferences", args=[old_preferences]))
    assert page.status_code == 200 and "old.reader@example.com" in page.content.decode()


def test_a_preferences_link_stops_working_once_its_subscription_has_another_address(client):
    subscription = SubscriptionFactory(email="me@example.com", confirmed=True)
    url = preferences_url(subscription)
    Subscription.objects.filter(pk=subscription.pk).update(email="someone.else@example.com")
    response = client.get(url)
    assert response.status_code == 400 and "someone.else" not in response.content.decode()


def test_links_keep_working_while_the_secret_key_is_rotated(client, settings):
    subscription = SubscriptionFactory(email="me@example.com")
    confirm, preferences = confirm_url([subscription]), preferences_url(subscription)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-key-" + "x" * 50
    assert client.get(preferences).status_code == 200
    assert client.post(confirm).status_code == 200
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.CONFIRMED
    settings.SECRET_KEY_FALLBACKS = []
    assert client.get(preferences).status_code == 400


def test_an_old_preferences_link_to_an_address_now_refused_asks_for_nothing(client, mailoutbox):
    from django.core import signing

    from newsletters.tokens import PREFERENCES_SALT

    sport = NewsletterFactory(name="Sport Extra", slug="sport")
    old = signing.TimestampSigner(salt=PREFERENCES_SALT).sign_object("x@[127.0.0.1]")
    url = reverse("newsletters:preferences", args=[old])
    assert client.post(url, {"newsletters": [sport.pk]}).status_code == 200
    assert not Subscription.objects.exists() and mailoutbox == []
