"""The sign-up rate limits hold when the cache cannot be reached: counted in the database while
the cache's circuit breaker skips Redis, never let through."""

import socket
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from newsletters import ratelimit
from newsletters.models import Subscription

pytestmark = pytest.mark.django_db
URL = reverse("newsletters:signup")


@pytest.fixture
def unreachable_cache(settings):
    """The production cache backend pointed at a loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CACHES = {
        "default": {
            "BACKEND": "newsroom.cache_backends.ResilientRedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"retry_after": 60, "socket_connect_timeout": 0.5},
        }
    }
    cache.set("probe", 1)
    assert cache.get("probe") is None and not cache.available  # really unreachable
    return cache


def test_sign_ups_from_one_client_stop_at_the_limit_while_the_cache_is_down(
    client, settings, unreachable_cache
):
    settings.NEWSROOM_NEWSLETTER_SIGNUPS_PER_IP = 20
    statuses = [
        client.post(URL, {"email": f"reader{n}@example.com"}).status_code for n in range(25)
    ]
    assert statuses == [200] * 20 + [429] * 5
    assert Subscription.objects.count() == 20


def test_one_mailbox_gets_at_most_the_limit_of_emails_while_the_cache_is_down(
    client, mailoutbox, unreachable_cache, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(8):
            response = client.post(URL, {"email": "victim@example.com"}, REMOTE_ADDR=f"10.0.3.{n}")
            assert response.status_code == 200
    assert len(mailoutbox) == 3


def test_counting_in_the_database_starts_afresh_each_window_and_forgets_old_ones(
    unreachable_cache, time_machine
):
    from newsletters.models import SignupCount

    time_machine.move_to("2026-11-25 09:00:00+00:00", tick=False)
    assert [ratelimit.allow("ip", "192.0.2.1", limit=2) for _ in range(3)] == [
        True,
        True,
        False,
    ]
    time_machine.move_to("2026-11-25 10:00:00+00:00", tick=False)
    assert ratelimit.allow("ip", "192.0.2.1", limit=2)
    # Only the current window's count is left, and it names nobody in clear.
    [row] = SignupCount.objects.all()
    assert row.count == 1 and "192.0.2.1" not in row.key
    assert row.expires_at == timezone.now() + timedelta(hours=1)


def test_with_the_cache_up_nothing_is_written_to_the_database(db):
    from newsletters.models import SignupCount

    assert [ratelimit.allow("ip", "192.0.2.1", limit=1) for _ in range(2)] == [True, False]
    assert not SignupCount.objects.exists()
