"""The sign-up box's form posts here; the full double opt-in flow comes with newsletters."""

import pytest
from django.urls import reverse

from newsletters.models import Subscription

pytestmark = pytest.mark.django_db
URL = reverse("newsletters:signup")


def test_signing_up_records_a_pending_subscription(client):
    response = client.post(URL, {"email": "reader@example.com", "next": "/news/x/"})
    assert response.status_code == 200
    assert "Nothing will be sent to you until you confirm it" in response.content.decode()
    subscription = Subscription.objects.get()
    assert subscription.status == Subscription.Status.PENDING
    assert subscription.source_url == "/news/x/"


def test_the_form_works_without_a_csrf_token_because_public_pages_are_cached():
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(URL, {"email": "a@example.com"})
    assert response.status_code == 200


def test_signing_up_twice_reveals_nothing_and_stores_one_row(client):
    first = client.post(URL, {"email": "reader@example.com"})
    second = client.post(URL, {"email": "READER@example.com"})
    assert first.content == second.content
    assert Subscription.objects.count() == 1


@pytest.mark.parametrize("email", ["", "not-an-address", "x" * 250 + "@example.com"])
def test_a_bad_address_gets_a_clear_message_and_stores_nothing(client, email):
    response = client.post(URL, {"email": email})
    assert response.status_code == 400
    assert "Please check the address" in response.content.decode()
    assert Subscription.objects.count() == 0
