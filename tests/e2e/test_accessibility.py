"""The public pages in a real browser: axe-core's WCAG A/AA rules, one heading, keyboard use,
pictures with alt text, no third-party requests, working without JavaScript, and screenshots
in artifacts/screenshots/ for a person to look at."""

import re
from urllib.parse import urlsplit

import pytest

from newsletters.models import Subscription

from .conftest import DESKTOP, HERO_ALT, PHONE

pytestmark = pytest.mark.e2e

PAGES = ["home", "article", "gallery-story", "section", "search", "signup"]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING = {"serious", "critical"}


def visit(page, site, name):
    response = page.goto(site.url(site.pages[name]))
    assert response.status == 200, f"{name}: HTTP {response.status}"
    return page


def describe(violations) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        lines.append(f"  {violation['helpUrl']}")
        for node in violation["nodes"]:
            lines.append(f"  - {', '.join(map(str, node['target']))}")
            if node.get("failureSummary"):
                lines.append("    " + node["failureSummary"].replace("\n", "\n    "))
    return "\n".join(lines)


@pytest.mark.parametrize("width", ["phone", "desktop"])
@pytest.mark.parametrize("name", PAGES)
def test_axe_finds_no_serious_or_critical_wcag_violations(new_page, site, name, width):
    from axe_playwright_python.sync_playwright import Axe

    page = new_page(viewport=PHONE, is_mobile=True) if width == "phone" else new_page()
    visit(page, site, name)
    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
    violations = Axe().run(page, options=options).response["violations"]
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert not blocking, f"axe-core on {site.pages[name]} ({width}):\n{describe(blocking)}"


def test_every_page_has_one_h1_and_alt_text_on_every_picture(page, site):
    for name in PAGES:
        visit(page, site, name)
        assert page.locator("h1").count() == 1, name
        without_alt = page.locator("img:not([alt])")
        html = without_alt.evaluate_all("els => els.map(e => e.outerHTML)")
        assert not html, f"{name}: pictures without alt text: {html}"


def test_the_story_picture_is_shown_with_its_description(page, site):
    visit(page, site, "article")
    hero = page.locator(".story__hero img")
    assert hero.get_attribute("alt") == HERO_ALT
    assert hero.evaluate("img => img.complete && img.naturalWidth > 0"), "the picture did not load"
    assert hero.get_attribute("fetchpriority") == "high"
    # The browser chose a modern format from the <picture>: AVIF (Chromium reads it).
    assert hero.evaluate("img => img.currentSrc").endswith(".avif")


def test_every_card_has_its_picture_sized_so_nothing_moves_lazy_below_the_fold(page, site):
    visit(page, site, "home")
    pictures = page.locator("main .card img, main .lead img")
    assert pictures.count() >= 13
    sizes = pictures.evaluate_all(
        "imgs => imgs.map(i => [i.getAttribute('width'), i.getAttribute('height'),"
        " i.getAttribute('loading'), i.getAttribute('fetchpriority')])"
    )
    assert all(width and height for width, height, _, _ in sizes)
    assert [priority for *_, priority in sizes].count("high") == 1  # the lead
    assert all(loading == "lazy" for _, _, loading, priority in sizes if priority != "high")


def test_an_embed_loads_nothing_from_its_provider_until_clicked_and_the_click_loads_it(
    new_page, site
):
    provider_host = urlsplit(site.provider.origin).netloc
    site.also_allowed.add(provider_host)  # so the player the click asks for really loads
    page = new_page()
    visit(page, site, "gallery-story")
    embed = page.locator(".embed").first
    embed.scroll_into_view_if_needed()
    page.wait_for_load_state("networkidle")
    assert "Seagull steals chips live on camera" in embed.inner_text()
    assert not [url for url in site.requests if urlsplit(url).netloc == provider_host]
    assert site.provider.requests == []  # nothing asked of the provider by the page

    with page.expect_response(lambda r: urlsplit(r.url).netloc == provider_host) as answer:
        embed.get_by_role("link", name="Play video").click()

    assert answer.value.status == 200
    player = page.locator("iframe.embed__player")
    assert player.get_attribute("src") == f"{site.provider.origin}/player/scones1?autoplay=1"
    assert site.provider.requests == ["/player/scones1?autoplay=1"]
    assert page.frame_locator("iframe.embed__player").locator("title").count() == 1


def test_the_skip_link_moves_keyboard_focus_to_the_main_content(page, site):
    visit(page, site, "article")
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    assert skip.evaluate("el => el === document.activeElement")
    box = skip.bounding_box()
    assert box and box["y"] >= 0 and box["height"] > 0, "the focused skip link is off screen"

    page.keyboard.press("Enter")
    assert urlsplit(page.url).fragment == "main"
    assert page.evaluate("document.activeElement.id") == "main"
    # The next Tab continues inside the story, not back in the masthead.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('main') !== null")


def focus_style(page):
    return page.evaluate(
        """() => {
            const el = document.activeElement, style = getComputedStyle(el);
            return {tag: el.tagName, focusVisible: el.matches(':focus-visible'),
                    outline: style.outlineStyle, width: parseFloat(style.outlineWidth)};
        }"""
    )


def test_a_link_focused_from_the_keyboard_has_a_visible_outline(page, site):
    visit(page, site, "home")
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")  # the masthead's name, on red
    style = focus_style(page)
    assert style["tag"] == "A" and style["focusVisible"]
    assert style["outline"] not in {"none", "hidden"} and style["width"] >= 2, style

    page.locator("main a").first.focus()
    page.keyboard.press("Tab")  # a link in the page's content, on white
    style = focus_style(page)
    assert style["tag"] == "A" and style["focusVisible"]
    assert style["outline"] not in {"none", "hidden"} and style["width"] >= 2, style


def test_every_request_goes_to_our_own_server(page, site):
    for name in PAGES:
        visit(page, site, name)
    hosts = {urlsplit(url).netloc for url in site.requests}
    assert hosts == {site.host}, sorted(u for u in site.requests if urlsplit(u).netloc != site.host)
    assert any(url.endswith(".css") for url in site.requests)
    assert any("/media/" in url for url in site.requests), "the story picture was not requested"
    assert site.provider.requests == []  # the embed's provider was never asked for anything


def test_reading_and_signing_up_work_without_javascript(new_page, site):
    page = new_page(java_script_enabled=False)
    visit(page, site, "gallery-story")
    gallery = page.locator(".gallery__item")
    assert gallery.count() == 3
    for number in range(3):
        item = gallery.nth(number)
        item.scroll_into_view_if_needed()
        assert item.locator("img").evaluate("img => img.complete && img.naturalWidth > 0")
        assert f"{number + 1} of 3" in item.inner_text()
        assert item.get_by_role("link", name="Link to this picture").count() == 1
    # Without JavaScript the embed is a link to the original.
    assert page.locator(".embed a.embed__open").get_attribute("href").startswith("https://")
    visit(page, site, "article")
    assert page.locator("h1").inner_text() == site.article.headline
    assert page.locator(".story__body > p").count() > 5
    assert page.locator(".teaser").count() > 0

    page.locator(".signup-box input[type=email]").fill("reader@example.com")
    page.locator(".signup-box button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Thanks for signing up"
    subscription = Subscription.objects.get(email="reader@example.com")
    assert subscription.source_url == site.article.get_absolute_url()

    visit(page, site, "signup")
    page.get_by_label("Your email address").fill("not an address")
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_load_state()
    assert "Please check the address" in page.get_by_role("alert").inner_text()
    page.get_by_label("Your email address").fill("second.reader@example.com")
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Thanks for signing up"
    assert Subscription.objects.filter(email="second.reader@example.com").exists()

    page.get_by_role("searchbox", name="Search stories").fill("putin")
    page.get_by_role("searchbox", name="Search stories").press("Enter")
    page.wait_for_load_state()
    assert re.search(r"/search/\?q=putin$", page.url)
    assert page.get_by_role("link", name=site.article.headline).count() >= 1


@pytest.mark.parametrize("name", ["home", "article", "gallery-story", "section"])
def test_screenshots_at_phone_and_desktop_widths(new_page, site, screenshot_dir, name):
    for label, viewport in [("phone", PHONE), ("desktop", DESKTOP)]:
        page = new_page(viewport=viewport, is_mobile=label == "phone")
        visit(page, site, name)
        _load_every_picture(page)
        # Nothing may stick out sideways: a phone reader should never have to scroll across.
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} is {overflow}px too wide at {viewport['width']}px"
        path = screenshot_dir / f"{name}-{label}.png"
        page.screenshot(path=path, full_page=True)
        assert path.stat().st_size > 10_000


def _load_every_picture(page):
    """Load every picture (lazy ones told to load now: scrolling past them in a headless
    browser does not reliably start them), then wait until each has, so the full-page
    screenshot shows them. A picture that never loads is named in the failure."""
    page.evaluate(
        "document.querySelectorAll('img[loading=lazy]').forEach(img => img.loading = 'eager')"
    )
    try:
        page.wait_for_function(
            "() => [...document.images].every(img => img.complete && img.naturalWidth > 0)",
            timeout=15_000,
        )
    except Exception:
        missing = page.evaluate(
            "[...document.images].filter(img => !(img.complete && img.naturalWidth > 0))"
            ".map(img => img.currentSrc || img.src)"
        )
        raise AssertionError(f"pictures that did not load: {missing}") from None
