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


def preferences_url(email):
    return reverse("newsletters:preferences", args=[make_preferences_token(email)])


def test_the_preferences_page_changes_what_the_reader_receives():
    sport = NewsletterFactory(name="Sport Extra", slug="sport")
    daily = Newsletter.objects.get(slug="daily")
    SubscriptionFactory(email="me@example.com", newsletter=daily, confirmed=True)
    client = Client(enforce_csrf_checks=True)
    page = client.get(preferences_url("me@example.com"))
    assert page.status_code == 200 and one_h1(page) == "Your newsletters"
    html = page.content.decode()
    assert re.search(rf'value="{daily.pk}"[^>]*checked', html)
    assert not re.search(rf'value="{sport.pk}"[^>]*checked', html)

    saved = client.post(preferences_url("me@example.com"), {"newsletters": [sport.pk]})
    assert saved.status_code == 200 and "Saved" in saved.content.decode()
    statuses = dict(
        Subscription.objects.filter(email="me@example.com").values_list(
            "newsletter__slug", "status"
        )
    )
    assert statuses == {"daily": "unsubscribed", "sport": "confirmed"}


def test_an_expired_preferences_link_gets_a_clear_page(client, settings, time_machine):
    settings.NEWSROOM_NEWSLETTER_PREFERENCES_MAX_AGE = 3600
    time_machine.move_to("2026-11-25 08:00:00+00:00", tick=False)
    url = preferences_url("me@example.com")
    time_machine.move_to("2026-11-25 09:00:01+00:00", tick=False)
    response = client.get(url)
    assert response.status_code == 410 and one_h1(response) == "This link has expired"


def test_a_tampered_preferences_link_changes_nothing(client):
    subscription = SubscriptionFactory(email="me@example.com", confirmed=True)
    url = reverse(
        "newsletters:preferences", args=[tamper(make_preferences_token("me@example.com"))]
    )
    response = client.post(url, {"newsletters": []})
    assert response.status_code == 400
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.CONFIRMED


def test_link_pages_are_never_cached(client):
    subscription = SubscriptionFactory(confirmed=True)
    response = client.get(unsubscribe_url(subscription))
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
