"""Two-factor authentication for staff, over HTTP: setting up an authenticator app at the first
login, codes after the password, recovery codes, who must have it, and that nothing in the
admin opens to a session without the second factor. Codes are computed from the device's key,
as the app on a phone does."""

import re
from base64 import b32decode
from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from accounts.roles import EDITOR, REPORTER
from tests.accounts.factories import UserFactory, totp_code, with_authenticator
from tests.articles.factories import ArticleFactory

pytestmark = [pytest.mark.django_db, pytest.mark.two_factor]

PASSWORD = "correct horse battery staple"  # UserFactory's
LOGIN = reverse("admin:login")
VERIFY = reverse("admin:two_factor_verify")
SET_UP = reverse("admin:two_factor_setup")
CODES = reverse("admin:two_factor_recovery_codes")
SECURITY = reverse("admin:two_factor")


def password_step(client, username, next_url="/admin/"):
    return client.post(LOGIN, {"username": username, "password": PASSWORD, "next": next_url})


def logged_in(client) -> bool:
    return SESSION_KEY in client.session


def admin_opens(client) -> bool:
    return client.get(reverse("admin:index")).status_code == 200


def key_on_page(html: str) -> bytes:
    text = re.search(r'id="authenticator-key">([A-Z2-7 ]+)<', html).group(1)
    return b32decode(text.replace(" ", ""))


def code_for(key: bytes, *, steps_ahead: int = 0) -> str:
    totp = TOTP(key)
    totp.time = totp.time + 30 * steps_ahead
    return f"{totp.token():06d}"


# Setting it up -----------------------------------------------------------------------------


def test_an_editor_without_two_factor_sets_it_up_before_reaching_any_admin_page(client):
    UserFactory(username="eddie", editor=True)
    response = password_step(client, "eddie", next_url="/admin/articles/article/")
    assert response.status_code == 302 and response["Location"] == SET_UP
    assert not logged_in(client)  # the password alone logged nobody in
    assert client.get("/admin/articles/article/")["Location"].startswith(LOGIN)

    page = client.get(SET_UP)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Your role needs two-factor authentication" in html
    assert 'src="data:image/svg+xml' in html  # the QR code, drawn inline (no request)
    key = key_on_page(html)

    wrong = client.post(SET_UP, {"code": "123456" if code_for(key) != "123456" else "654321"})
    assert wrong.status_code == 200 and "not the code the app shows" in wrong.content.decode()
    assert not TOTPDevice.objects.exists() and not logged_in(client)

    done = client.post(SET_UP, {"code": code_for(key)})
    assert done.status_code == 302 and done["Location"] == CODES
    device = TOTPDevice.objects.get(user__username="eddie")
    assert device.confirmed and device.bin_key == key
    codes_page = client.get(CODES).content.decode()
    codes = re.findall(r"<code>([a-z2-7]{4}-[a-z2-7]{4})</code>", codes_page)
    assert len(codes) == 10
    assert 'href="/admin/articles/article/"' in codes_page  # then on to where they were going
    assert client.get(CODES)["Location"] == SECURITY  # shown once
    assert admin_opens(client)


def test_the_set_up_code_cannot_be_used_again_to_log_in(client):
    UserFactory(username="eddie", editor=True)
    password_step(client, "eddie")
    key = key_on_page(client.get(SET_UP).content.decode())
    code = code_for(key)
    client.post(SET_UP, {"code": code})

    other = Client()
    assert password_step(other, "eddie")["Location"] == VERIFY
    assert other.post(VERIFY, {"code": code}).status_code == 200  # refused: already spent
    assert not logged_in(other)


def test_five_wrong_set_up_codes_send_one_back_to_the_password(client):
    UserFactory(username="eddie", editor=True)
    password_step(client, "eddie")
    key = key_on_page(client.get(SET_UP).content.decode())
    wrong = "000000" if code_for(key) != "000000" else "111111"
    answers = [client.post(SET_UP, {"code": wrong}) for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 302]
    assert answers[-1]["Location"] == LOGIN
    assert client.get(SET_UP)["Location"].startswith(LOGIN)


# Logging in with it ------------------------------------------------------------------------


def test_an_editor_with_an_app_gives_a_code_after_the_password(client):
    eddie = UserFactory(username="eddie", editor=True)
    device, _ = with_authenticator(eddie)
    response = password_step(client, "eddie", next_url="/admin/newsroom/")
    assert response["Location"] == VERIFY and not logged_in(client)
    page = client.get(VERIFY).content.decode()
    assert "Logging in as <strong>eddie</strong>" in page and 'id="login-form"' in page

    done = client.post(VERIFY, {"code": totp_code(device)})
    assert done.status_code == 302 and done["Location"] == "/admin/newsroom/"
    assert logged_in(client) and admin_opens(client)
    assert client.get("/admin/newsroom/").status_code == 200


def test_a_code_works_once_and_a_wrong_one_makes_the_next_try_wait(client, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    eddie = UserFactory(username="eddie", editor=True)
    device, _ = with_authenticator(eddie)
    password_step(client, "eddie")
    wrong = client.post(VERIFY, {"code": "999999" if totp_code(device) != "999999" else "1"})
    assert "That code is not right" in wrong.content.decode()
    too_soon = client.post(VERIFY, {"code": totp_code(device)})
    assert "Too many wrong codes: try again in 1 s" in too_soon.content.decode()

    time_machine.shift(timedelta(seconds=2))
    code = totp_code(device)
    assert client.post(VERIFY, {"code": code})["Location"] == "/admin/"

    other = Client()
    password_step(other, "eddie")
    assert other.post(VERIFY, {"code": code}).status_code == 200  # the same code, again
    assert other.post(VERIFY, {"code": "next"}).status_code == 200
    time_machine.shift(timedelta(seconds=30))
    assert other.post(VERIFY, {"code": totp_code(device)})["Location"] == "/admin/"


def test_a_recovery_code_logs_in_once(client, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    eddie = UserFactory(username="eddie", editor=True)
    _, codes = with_authenticator(eddie)
    password_step(client, "eddie")
    shown = services.recovery_code_text(codes[3]).upper()  # as typed from the page, shouting
    response = client.post(VERIFY, {"code": shown}, follow=True)
    assert response.redirect_chain[0] == ("/admin/", 302)
    assert "You used a recovery code; 9 left" in response.content.decode()
    assert StaticToken.objects.filter(device__user=eddie).count() == 9

    again = Client()
    password_step(again, "eddie")
    refused = again.post(VERIFY, {"code": codes[3]})
    assert refused.status_code == 200 and not logged_in(again)
    time_machine.shift(timedelta(seconds=2))  # the pause django-otp makes after a wrong code
    assert again.post(VERIFY, {"code": codes[4]})["Location"] == "/admin/"


def test_the_code_step_expires_with_the_pending_login(client, time_machine):
    eddie = UserFactory(username="eddie", editor=True)
    device, _ = with_authenticator(eddie)
    time_machine.move_to(timezone.now(), tick=False)
    password_step(client, "eddie")
    time_machine.shift(timedelta(minutes=11))
    late = client.post(VERIFY, {"code": totp_code(device)})
    assert late.status_code == 302 and late["Location"] == LOGIN
    assert not logged_in(client)


def test_five_wrong_codes_end_the_pending_login(client):
    eddie = UserFactory(username="eddie", editor=True)
    device, _ = with_authenticator(eddie)
    password_step(client, "eddie")
    for _ in range(5):
        device.throttle_reset()  # django-otp's growing pause between tries, skipped here
        last = client.post(VERIFY, {"code": "000000" if totp_code(device) != "000000" else "1"})
    assert last["Location"] == LOGIN
    device.throttle_reset()
    assert client.post(VERIFY, {"code": totp_code(device)})["Location"] == LOGIN


# Who must have it --------------------------------------------------------------------------


def test_a_reporter_needs_no_second_factor_by_default(client):
    UserFactory(username="wendy", reporter=True)
    response = password_step(client, "wendy")
    assert response["Location"] == "/admin/" and admin_opens(client)


def test_a_reporter_who_set_an_app_up_is_asked_for_a_code_too(client):
    wendy = UserFactory(username="wendy", reporter=True)
    device, _ = with_authenticator(wendy)
    assert password_step(client, "wendy")["Location"] == VERIFY
    assert client.post(VERIFY, {"code": totp_code(device)})["Location"] == "/admin/"


def test_superusers_always_need_it(client):
    UserFactory(username="root", superuser=True)
    assert password_step(client, "root")["Location"] == SET_UP


def test_the_required_roles_are_a_setting(client, settings):
    settings.NEWSROOM_2FA_REQUIRED_ROLES = (EDITOR, REPORTER)
    UserFactory(username="wendy", reporter=True)
    assert password_step(client, "wendy")["Location"] == SET_UP

    settings.NEWSROOM_2FA_REQUIRED_ROLES = ()
    UserFactory(username="eddie", editor=True)
    assert password_step(Client(), "eddie")["Location"] == "/admin/"


# Forged requests ---------------------------------------------------------------------------


def test_a_session_without_the_second_factor_is_refused_by_every_admin_page(client):
    """Django's own force_login here (this module's marker): a session that Django counts as
    logged in, but that never passed the second factor."""
    eddie = UserFactory(username="eddie", editor=True)
    with_authenticator(eddie)
    article = ArticleFactory(in_review=True)
    client.force_login(eddie)
    pages = [
        reverse("admin:index"),
        reverse("editorial-dashboard"),
        reverse("admin:articles_article_changelist"),
        reverse("admin:articles_article_change", args=[article.pk]),
        reverse("admin:autocomplete") + "?app_label=articles&model_name=article&field_name=related",
        SECURITY,
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(LOGIN), url
    forged = client.post(
        reverse("admin:articles_article_change", args=[article.pk]),
        {"headline": "Hacked", "status": "published"},
    )
    assert forged.status_code == 302 and forged["Location"].startswith(LOGIN)
    article.refresh_from_db()
    assert article.headline != "Hacked"
    # And the login page starts again from the password rather than letting the session in.
    login_page = client.get(LOGIN, follow=True)
    assert "the admin needs your second factor too" in login_page.content.decode()
    assert not logged_in(client)


def test_the_code_and_set_up_steps_need_the_password_first(client):
    eddie = UserFactory(username="eddie", editor=True)
    device, _ = with_authenticator(eddie)
    assert client.post(VERIFY, {"code": totp_code(device)})["Location"] == LOGIN
    assert client.get(SET_UP)["Location"].startswith(LOGIN)
    assert not logged_in(client)


def test_someone_with_an_app_cannot_skip_to_setting_up_a_new_one(client):
    eddie = UserFactory(username="eddie", editor=True)
    with_authenticator(eddie)
    password_step(client, "eddie")
    assert client.get(SET_UP)["Location"] == VERIFY
    assert client.post(SET_UP, {"code": "123456"})["Location"] == VERIFY
    assert TOTPDevice.objects.filter(user=eddie).count() == 1


# One's own page ----------------------------------------------------------------------------


def log_in_fully(client, user, device):
    password_step(client, user.username)
    assert client.post(VERIFY, {"code": totp_code(device)})["Location"] == "/admin/"


def test_new_recovery_codes_replace_the_old_ones(client):
    eddie = UserFactory(username="eddie", editor=True)
    device, old_codes = with_authenticator(eddie)
    log_in_fully(client, eddie, device)
    page = client.get(SECURITY).content.decode()
    assert "<strong>On.</strong>" in page and "10 recovery codes left" in page
    assert "cannot be turned off" in page

    response = client.post(CODES, follow=True)
    new_codes = re.findall(r"<code>([a-z2-7]{4}-[a-z2-7]{4})</code>", response.content.decode())
    assert len(new_codes) == 10
    tokens = set(StaticToken.objects.filter(device__user=eddie).values_list("token", flat=True))
    assert tokens == {code.replace("-", "") for code in new_codes}
    assert not tokens & set(old_codes)


def test_an_editor_cannot_turn_it_off_but_a_reporter_can(client):
    eddie = UserFactory(username="eddie", editor=True)
    device, _ = with_authenticator(eddie)
    log_in_fully(client, eddie, device)
    assert client.post(reverse("admin:two_factor_remove")).status_code == 403
    assert TOTPDevice.objects.filter(user=eddie).exists()

    wendy = UserFactory(username="wendy", reporter=True)
    device, _ = with_authenticator(wendy)
    reporter = Client()
    log_in_fully(reporter, wendy, device)
    response = reporter.post(reverse("admin:two_factor_remove"), follow=True)
    assert "Two-factor authentication is off" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=wendy).exists()
    assert admin_opens(reporter)  # still logged in: she needs none
    assert password_step(Client(), "wendy")["Location"] == "/admin/"


def test_moving_to_a_new_phone_replaces_the_key(client):
    eddie = UserFactory(username="eddie", editor=True)
    device, _ = with_authenticator(eddie)
    log_in_fully(client, eddie, device)
    page = client.get(SET_UP).content.decode()
    assert "any app set up before stops working" in " ".join(page.split())
    key = key_on_page(page)
    assert client.post(SET_UP, {"code": code_for(key)})["Location"] == CODES
    assert TOTPDevice.objects.get(user=eddie).bin_key == key
    assert admin_opens(client)


# The look ----------------------------------------------------------------------------------


def test_the_login_steps_are_admin_pages_with_the_newsroom_header_and_no_inline_script(client):
    eddie = UserFactory(username="eddie", editor=True)
    with_authenticator(eddie)
    login = client.get(LOGIN)
    password_step(client, "eddie")
    verify = client.get(VERIFY)
    UserFactory(username="newbie", editor=True)
    other = Client()
    password_step(other, "newbie")
    set_up = other.get(SET_UP)
    for response in (login, verify, set_up):
        html = response.content.decode()
        assert response.status_code == 200
        assert "The Daily Racket newsroom" in html
        assert re.search(r'<body class="[^"]*\blogin\b', html)  # the admin's login layout
        assert all("src=" in tag for tag in re.findall(r"<script\b[^>]*>", html))
        assert response["Cache-Control"].startswith("max-age=0")


# For administrators ------------------------------------------------------------------------


def test_the_user_list_shows_who_has_set_two_factor_up(client):
    root = UserFactory(username="root", superuser=True)
    device, _ = with_authenticator(root)
    UserFactory(username="newbie", editor=True)
    log_in_fully(client, root, device)
    page = client.get(reverse("admin:accounts_user_changelist")).content.decode()
    rows = {}
    for row in re.findall(r"<tr\b.*?</tr>", page, re.DOTALL):
        if username := re.search(r'/accounts/user/\d+/change/">(\w+)</a>', row):
            rows[username.group(1)] = re.findall(r'alt="(\w+)"', row)[-1]  # the last column
    assert rows == {"root": "True", "newbie": "False"}


def test_the_reset_command_removes_the_app_and_ends_the_sessions():
    from io import StringIO

    from django.core.management import CommandError, call_command

    eddie = UserFactory(username="eddie", editor=True)
    device, _ = with_authenticator(eddie)
    browser = Client()
    log_in_fully(browser, eddie, device)

    out = StringIO()
    call_command("reset_second_factor", "eddie", "--dry-run", stdout=out)
    assert "Would remove the authenticator app and 10 recovery codes" in out.getvalue()
    assert TOTPDevice.objects.filter(user=eddie).exists() and admin_opens(browser)

    call_command("reset_second_factor", "eddie", stdout=out)
    assert "who sets up a new app at the next login" in out.getvalue()
    assert not TOTPDevice.objects.filter(user=eddie).exists()
    assert not admin_opens(browser)
    with pytest.raises(CommandError, match="no authenticator app"):
        call_command("reset_second_factor", "eddie", stdout=out)
    with pytest.raises(CommandError, match="No login"):
        call_command("reset_second_factor", "nobody", stdout=out)
