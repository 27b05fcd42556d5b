"""The client's address behind the proxies (newsroom.clientip), and the login lockout and the
sign-up rate limit that key on it. Requests go through the whole middleware stack with the
X-Forwarded-For chains nginx and a load balancer write."""

import pytest
from axes.helpers import get_client_ip_address
from axes.models import AccessAttempt
from django.test import RequestFactory
from django.urls import reverse

from newsroom.clientip import client_ip
from tests.accounts.factories import UserFactory, totp_code, with_authenticator

PASSWORD = "correct horse battery staple"  # UserFactory's
NGINX = "10.0.0.2"  # the proxy beside the app, on a private network: trusted by default
OUTSIDER = "203.0.113.50"  # a public address reaching the app directly


def request(peer, forwarded=None):
    extra = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize(
    ("proxies", "peer", "forwarded", "client"),
    [
        (0, NGINX, "198.51.100.1", NGINX),  # no proxy configured: the header is not believed
        (1, NGINX, "198.51.100.1", "198.51.100.1"),  # nginx → app
        (1, NGINX, "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # the client's own entry ignored
        (1, NGINX, "junk, 198.51.100.1", "198.51.100.1"),
        (2, NGINX, "6.6.6.6, 198.51.100.1, 192.0.2.10", "198.51.100.1"),  # LB → nginx → app
        (2, NGINX, "198.51.100.1", NGINX),  # too short to hold a client: the peer
        (1, NGINX, None, NGINX),  # from the proxy's machine itself
        (1, OUTSIDER, "198.51.100.1", OUTSIDER),  # not from a trusted proxy: forged
        (1, "::1", "2001:db8::5", "2001:db8::5"),
        (1, "::ffff:10.0.0.2", "198.51.100.1", "198.51.100.1"),  # IPv4 peer on an IPv6 socket
    ],
)
def test_the_client_is_the_entry_the_trusted_proxies_wrote(
    settings, proxies, peer, forwarded, client
):
    settings.NEWSROOM_PROXY_COUNT = proxies
    assert client_ip(request(peer, forwarded)) == client


def test_only_the_peers_named_as_trusted_proxies_are_believed(settings):
    settings.NEWSROOM_PROXY_COUNT = 1
    settings.NEWSROOM_TRUSTED_PROXIES = ("192.0.2.0/28",)
    assert client_ip(request("192.0.2.3", "198.51.100.1")) == "198.51.100.1"
    assert client_ip(request(NGINX, "198.51.100.1")) == NGINX


def test_django_axes_takes_the_address_from_the_same_function(settings):
    settings.NEWSROOM_PROXY_COUNT = 1
    for peer, forwarded in [(NGINX, "6.6.6.6, 198.51.100.1"), (OUTSIDER, "198.51.100.1")]:
        assert get_client_ip_address(request(peer, forwarded)) == client_ip(
            request(peer, forwarded)
        )


@pytest.mark.django_db
def test_the_sign_up_rate_limit_counts_a_forging_outsider_as_one_client(client, settings):
    settings.NEWSROOM_PROXY_COUNT = 1
    settings.NEWSROOM_NEWSLETTER_SIGNUPS_PER_IP = 1
    url = reverse("newsletters:signup")
    first = client.post(
        url, {"email": "a@example.com"}, REMOTE_ADDR=OUTSIDER, HTTP_X_FORWARDED_FOR="198.51.100.1"
    )
    second = client.post(
        url, {"email": "b@example.com"}, REMOTE_ADDR=OUTSIDER, HTTP_X_FORWARDED_FOR="198.51.100.2"
    )
    assert (first.status_code, second.status_code) == (200, 429)


# The login lockout ------------------------------------------------------------------------


def log_in(client, client_address, password, *, username="maggie", chain=None):
    """POST the admin login form from `client_address` behind nginx (which appends it)."""
    forwarded = ", ".join([*(chain or []), client_address])
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=NGINX,
        HTTP_X_FORWARDED_FOR=forwarded,
    )


@pytest.mark.django_db
@pytest.mark.lockout
def test_five_failures_behind_the_proxy_lock_out_only_that_client_and_username(client, settings):
    settings.NEWSROOM_PROXY_COUNT = 1
    UserFactory(username="maggie", reporter=True)
    UserFactory(username="declan", reporter=True)
    attacker = "198.51.100.66"
    answers = [log_in(client, attacker, "wrong").status_code for _ in range(5)]
    assert answers == [200, 200, 200, 200, 429]
    assert log_in(client, attacker, PASSWORD).status_code == 429
    # A forged X-Forwarded-For does not get the attacker a fresh address.
    assert log_in(client, attacker, PASSWORD, chain=["192.0.2.77"]).status_code == 429
    assert list(AccessAttempt.objects.values_list("username", "ip_address")) == [
        ("maggie", attacker)
    ]

    # Maggie herself, from another address, logs in; so does a colleague from the attacker's.
    maggie = log_in(client.__class__(), "198.51.100.7", PASSWORD)
    assert maggie.status_code == 302 and maggie["Location"] == "/admin/"
    declan = log_in(client.__class__(), attacker, PASSWORD, username="declan")
    assert declan.status_code == 302


@pytest.mark.django_db
@pytest.mark.lockout
def test_a_forged_x_forwarded_for_from_an_untrusted_peer_does_not_change_the_address(
    client, settings
):
    settings.NEWSROOM_PROXY_COUNT = 1
    UserFactory(username="maggie", reporter=True)
    for n in range(5):
        client.post(
            reverse("admin:login"),
            {"username": "maggie", "password": "wrong"},
            REMOTE_ADDR=OUTSIDER,
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",  # a new "address" each time
        )
    assert list(AccessAttempt.objects.values_list("ip_address", "failures_since_start")) == [
        (OUTSIDER, 5)
    ]
    locked = client.post(
        reverse("admin:login"),
        {"username": "maggie", "password": PASSWORD},
        REMOTE_ADDR=OUTSIDER,
        HTTP_X_FORWARDED_FOR="198.51.100.200",
    )
    assert locked.status_code == 429
    assert log_in(client.__class__(), "198.51.100.7", PASSWORD).status_code == 302


@pytest.mark.django_db
@pytest.mark.lockout
def test_wrong_second_factor_codes_count_towards_the_same_lockout(client, settings):
    settings.NEWSROOM_PROXY_COUNT = 1
    editor = UserFactory(username="maggie", editor=True)
    device, _codes = with_authenticator(editor)
    thief = "198.51.100.66"  # has the password, not the phone
    assert log_in(client, thief, PASSWORD)["Location"] == reverse("admin:two_factor_verify")
    answers = []
    for n in range(5):
        device.throttling_failure_count = 0  # django-otp's pause between wrong codes, skipped
        device.save()
        answers.append(
            client.post(
                reverse("admin:two_factor_verify"),
                {"code": f"00000{n}"},
                REMOTE_ADDR=NGINX,
                HTTP_X_FORWARDED_FOR=thief,
            ).status_code
        )
    assert answers == [200, 200, 200, 200, 429]
    assert log_in(client, thief, PASSWORD).status_code == 429
    # Maggie, elsewhere, with her phone.
    device.refresh_from_db()
    device.throttle_reset()
    maggie = client.__class__()
    assert log_in(maggie, "198.51.100.7", PASSWORD).status_code == 302
    done = maggie.post(
        reverse("admin:two_factor_verify"),
        {"code": totp_code(device)},
        REMOTE_ADDR=NGINX,
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )
    assert done.status_code == 302 and done["Location"] == "/admin/"
