"""Two-factor login in a real browser: an Editor's first login sets an authenticator app up
(the key read off the page, as a person would type it into the app), later logins ask for its
code, and a recovery code stands in for a lost phone. Screenshots of the login, the code prompt
and the set-up page at phone and desktop widths go to artifacts/screenshots/; axe-core checks
each page; nothing may stick out sideways on a phone."""

from base64 import b32decode

import pytest
from django.urls import reverse
from django_otp.oath import TOTP

from tests.accounts.factories import UserFactory, with_authenticator

from .conftest import DESKTOP, PHONE
from .login import PASSWORD
from .test_accessibility import BLOCKING, WCAG_TAGS, describe

pytestmark = pytest.mark.e2e
WIDTHS = [("phone", PHONE), ("desktop", DESKTOP)]


def check_page(page, screenshot_dir, name):
    """axe-core's WCAG rules, no sideways scrolling, and a screenshot for a person to look at."""
    from axe_playwright_python.sync_playwright import Axe

    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
    violations = Axe().run(page, options=options).response["violations"]
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert not blocking, f"axe-core on {page.url}:\n{describe(blocking)}"
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} is {overflow}px too wide"
    path = screenshot_dir / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    assert path.stat().st_size > 5_000


def submit(page):
    with page.expect_navigation():
        page.locator("#login-form input[type=submit]").click()


def give_password(page, site, username):
    page.goto(site.url(reverse("admin:login")))
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    submit(page)


@pytest.mark.parametrize(("width", "viewport"), WIDTHS)
def test_an_editors_first_login_sets_up_an_authenticator_app(
    new_page, site, screenshot_dir, width, viewport
):
    UserFactory(username="eddie", first_name="Eddie", editor=True)
    page = new_page(viewport=viewport, is_mobile=width == "phone")
    page.goto(site.url(reverse("admin:login")))
    check_page(page, screenshot_dir, f"admin-login-{width}")

    give_password(page, site, "eddie")
    assert page.url == site.url(reverse("admin:two_factor_setup"))
    qr = page.locator("img.two-factor-qr")
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
    check_page(page, screenshot_dir, f"two-factor-set-up-{width}")

    key = b32decode("".join(page.locator("#authenticator-key").inner_text().split()))
    code = f"{TOTP(key).token():06d}"
    page.locator("#id_code").fill(code)
    submit(page)
    assert page.url == site.url(reverse("admin:two_factor_recovery_codes"))
    assert page.locator("#recovery-codes li").count() == 10
    page.screenshot(path=screenshot_dir / f"two-factor-recovery-codes-{width}.png", full_page=True)
    with page.expect_navigation():
        page.get_by_role("link", name="I have kept them: continue").click()
    assert page.url == site.url(reverse("admin:index"))
    assert page.get_by_role("link", name="Two-factor").count() == 1


@pytest.mark.parametrize(("width", "viewport"), WIDTHS)
def test_a_later_login_asks_for_the_code_and_takes_a_recovery_code(
    new_page, site, screenshot_dir, width, viewport
):
    eddie = UserFactory(username="eddie", first_name="Eddie", editor=True)
    _device, codes = with_authenticator(eddie)
    page = new_page(viewport=viewport, is_mobile=width == "phone")
    give_password(page, site, "eddie")
    assert page.url == site.url(reverse("admin:two_factor_verify"))
    check_page(page, screenshot_dir, f"two-factor-code-{width}")

    page.locator("#id_code").fill("000000" if codes[0] != "000000" else "111111")
    submit(page)
    assert "That code is not right" in page.locator(".errornote").inner_text()
    page.wait_for_timeout(1_100)  # django-otp's pause after a wrong code
    page.locator("#id_code").fill(codes[0][:4] + " " + codes[0][4:])  # typed with a space
    submit(page)
    assert page.url == site.url(reverse("admin:index"))
    assert "9 left" in page.locator(".messagelist").inner_text()
