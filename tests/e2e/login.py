"""Logging staff into the admin in the browser as a person does: username and password in the
login form, then, for anyone with two-factor authentication, the code their authenticator app
shows, computed here from the device's key. Editors (who must have it) get an app set up
beforehand, as if on their phone at an earlier login."""

from django.urls import reverse

from accounts import services
from accounts.models import User
from tests.accounts.factories import totp_code

PASSWORD = "correct horse battery staple"  # UserFactory's


def log_in(page, site, username, *, password=PASSWORD):
    user = User.objects.get(username=username)
    device = services.authenticator_of(user)
    if device is None and services.second_factor_required(user):
        device, _codes = services.set_up_authenticator(user, key=services.new_authenticator_key())
    page.goto(site.url(reverse("admin:login")))
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    with page.expect_navigation():
        page.locator("#login-form input[type=submit]").click()
    if device is not None:
        assert page.url == site.url(reverse("admin:two_factor_verify")), page.url
        page.locator("#id_code").fill(totp_code(device))
        with page.expect_navigation():
            page.locator("#login-form input[type=submit]").click()
    assert page.url == site.url(reverse("admin:index")), page.url
