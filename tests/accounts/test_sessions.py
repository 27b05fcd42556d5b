"""Staff sessions: they end after a spell without requests, and a password change or a second
factor reset (an app removed or replaced) ends the person's other sessions."""

from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from tests.accounts.factories import UserFactory, totp_code, with_authenticator

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # UserFactory's
INDEX = reverse("admin:index")


def admin_opens(client) -> bool:
    response = client.get(INDEX)
    assert response.status_code in (200, 302)
    return response.status_code == 200


# Idle sessions ----------------------------------------------------------------------------


def test_a_staff_session_ends_after_thirty_minutes_without_a_request(
    client, settings, time_machine
):
    assert settings.NEWSROOM_STAFF_SESSION_IDLE_MINUTES == 30
    time_machine.move_to(timezone.now(), tick=False)
    client.force_login(UserFactory(editor=True))
    first = client.get(INDEX)
    assert first.status_code == 200
    # The cookie outlives the limit only so the login page can say why it is shown.
    assert first.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 1800 + 8 * 3600

    # Requests within the half hour keep it going, well past half an hour in all.
    for _ in range(3):
        time_machine.shift(timedelta(minutes=29))
        assert admin_opens(client)

    time_machine.shift(timedelta(minutes=30, seconds=1))
    ended = client.get(INDEX, follow=True)
    assert ended.redirect_chain[0][0].startswith(reverse("admin:login"))
    assert "logged out after 30 minutes without activity" in ended.content.decode()
    assert SESSION_KEY not in client.session


def test_the_idle_limit_is_a_setting(client, settings, time_machine):
    settings.NEWSROOM_STAFF_SESSION_IDLE_MINUTES = 5
    time_machine.move_to(timezone.now(), tick=False)
    client.force_login(UserFactory(reporter=True))
    assert admin_opens(client)
    time_machine.shift(timedelta(minutes=5, seconds=1))
    assert not admin_opens(client)


def test_a_readers_request_never_touches_the_session(client, settings):
    response = client.get("/")
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert "Cookie" not in response.get("Vary", "")


# Ending the other sessions -----------------------------------------------------------------


def test_a_password_change_ends_the_other_sessions_but_not_this_one():
    wendy = UserFactory(username="wendy", reporter=True)
    here, elsewhere = Client(), Client()
    here.force_login(wendy)
    elsewhere.force_login(wendy)
    response = here.post(
        reverse("admin:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a much longer passphrase 2026",
            "new_password2": "a much longer passphrase 2026",
        },
    )
    assert response.status_code == 302
    assert admin_opens(here)
    assert not admin_opens(elsewhere)


@pytest.mark.two_factor
def test_replacing_the_authenticator_app_ends_the_other_sessions_but_not_this_one():
    eddie = UserFactory(username="eddie", editor=True)
    device, _ = with_authenticator(eddie)
    here, elsewhere = log_in(eddie, device), log_in(eddie, device, steps_ahead=1)
    assert admin_opens(here) and admin_opens(elsewhere)

    page = here.get(reverse("admin:two_factor_setup")).content.decode()
    key = TOTPDevice(key=here.session["accounts.authenticator_key"]).bin_key
    new = TOTPDevice(user=eddie, key=key.hex())
    response = here.post(reverse("admin:two_factor_setup"), {"code": totp_code(new)})
    assert "authenticator-key" in page and response.status_code == 302

    assert admin_opens(here)
    assert not admin_opens(elsewhere)


@pytest.mark.two_factor
def test_an_administrator_removing_someones_app_ends_their_sessions(client):
    eddie = UserFactory(username="eddie", editor=True)
    device, _ = with_authenticator(eddie)
    eddies = log_in(eddie, device)
    root = UserFactory(username="root", superuser=True)
    root_device, _ = with_authenticator(root)
    admin = log_in(root, root_device)

    delete = reverse("admin:otp_totp_totpdevice_delete", args=[device.pk])
    assert admin.post(delete, {"post": "yes"}).status_code == 302
    assert not TOTPDevice.objects.filter(user=eddie).exists()
    assert not admin_opens(eddies)
    assert admin_opens(admin)
    # Eddie's next login sets a new app up.
    again = Client()
    response = again.post(reverse("admin:login"), {"username": "eddie", "password": PASSWORD})
    assert response["Location"] == reverse("admin:two_factor_setup")


@pytest.mark.two_factor
def test_turning_two_factor_off_ends_the_other_sessions():
    wendy = UserFactory(username="wendy", reporter=True)
    device, _ = with_authenticator(wendy)
    here, elsewhere = log_in(wendy, device), log_in(wendy, device, steps_ahead=1)
    assert here.post(reverse("admin:two_factor_remove")).status_code == 302
    assert admin_opens(here)
    assert not admin_opens(elsewhere)


@pytest.mark.two_factor
def test_new_recovery_codes_leave_the_other_sessions_alone():
    eddie = UserFactory(username="eddie", editor=True)
    device, _ = with_authenticator(eddie)
    here, elsewhere = log_in(eddie, device), log_in(eddie, device, steps_ahead=1)
    assert here.post(reverse("admin:two_factor_recovery_codes")).status_code == 302
    assert admin_opens(here) and admin_opens(elsewhere)


def test_a_security_stamp_keeps_sessions_across_a_secret_key_rotation(client, settings):
    eddie = UserFactory(username="eddie", editor=True)
    services.rotate_security_stamp(eddie.pk)
    client.force_login(eddie)
    assert admin_opens(client)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-for-the-rotation-test-0123456789"
    assert admin_opens(client)


def log_in(user, device, *, steps_ahead=0) -> Client:
    """A fresh browser logged in through the login form and the code step; `steps_ahead` takes
    the app's next code, as a second phone would half a minute on (each code works once)."""
    browser = Client()
    browser.post(reverse("admin:login"), {"username": user.username, "password": PASSWORD})
    device.refresh_from_db()
    if steps_ahead:
        device.tolerance = steps_ahead
        device.save()
    response = browser.post(
        reverse("admin:two_factor_verify"), {"code": totp_code(device, steps_ahead=steps_ahead)}
    )
    assert response.status_code == 302, response.content.decode()[:500]
    return browser
