"""The readers' newsletter pages in a real browser (Chromium and the live
server): axe-core's WCAG A/AA rules, one heading each, and the newsletters page without
JavaScript."""

import pytest
from django.urls import reverse

from newsletters.models import Newsletter, Subscription
from newsletters.tokens import make_confirm_token, make_preferences_token, make_unsubscribe_token
from tests.e2e.test_accessibility import BLOCKING, WCAG_TAGS, describe

pytestmark = pytest.mark.e2e


@pytest.fixture
def pages(site):
    daily = Newsletter.objects.get(slug="daily")
    Newsletter.objects.create(
        name="Sport Extra", slug="sport", description="Goals, gossip.", cadence="Mondays"
    )
    pending = Subscription.objects.create(
        email="reader@example.com", newsletter=daily, consent_at="2026-11-25T08:00:00Z"
    )
    left = Subscription.objects.create(
        email="left@example.com",
        newsletter=daily,
        status=Subscription.Status.UNSUBSCRIBED,
        consent_at="2026-11-25T08:00:00Z",
    )
    return {
        "newsletters": reverse("newsletters:list"),
        "confirm": reverse(
            "newsletters:confirm", args=[make_confirm_token(pending.email, [pending.pk])]
        ),
        "unsubscribe": reverse(
            "newsletters:unsubscribe", args=[make_unsubscribe_token(pending.pk)]
        ),
        "unsubscribed, with a way back": reverse(
            "newsletters:unsubscribe", args=[make_unsubscribe_token(left.pk)]
        ),
        "preferences": reverse(
            "newsletters:preferences", args=[make_preferences_token(pending.pk, pending.email)]
        ),
        "bad link": reverse("newsletters:preferences", args=["not-a-token"]),
    }


def test_newsletter_pages_pass_axe_and_have_one_h1(new_page, site, pages, screenshot_dir):
    from axe_playwright_python.sync_playwright import Axe

    page = new_page()
    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
    for name, path in pages.items():
        page.goto(site.url(path))
        assert page.locator("h1").count() == 1, name
        violations = Axe().run(page, options=options).response["violations"]
        blocking = [v for v in violations if v["impact"] in BLOCKING]
        assert not blocking, f"axe-core on {name}:\n{describe(blocking)}"
        if name == "newsletters":
            page.screenshot(path=screenshot_dir / "newsletters-desktop.png", full_page=True)


def test_choosing_several_newsletters_works_without_javascript(new_page, site, pages):
    page = new_page(java_script_enabled=False)
    page.goto(site.url(pages["newsletters"]))
    page.get_by_label("Sport Extra").check()
    page.get_by_label("The Daily Racket").check()
    page.get_by_label("Your email address").fill("fan@example.com")
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Thanks for signing up"
    chosen = Subscription.objects.filter(email="fan@example.com")
    assert sorted(chosen.values_list("newsletter__slug", flat=True)) == ["daily", "sport"]
