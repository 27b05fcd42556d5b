"""A live blog in a real browser: a new entry offered on an open page without a reload and
without moving what the reader is reading, an edit above them changed in place with their
place kept, the page without JavaScript showing new entries on a refresh, an entry's permalink
opening at it on a later page, axe-core's WCAG rules, and screenshots."""

from datetime import timedelta

import pytest
from django.utils import timezone

from articles.models import Article, LiveEntry, Section
from articles.services import live

from .conftest import PHONE
from .test_accessibility import BLOCKING, WCAG_TAGS, _load_every_picture, describe

pytestmark = pytest.mark.e2e


@pytest.fixture
def blog(site, settings):
    settings.NEWSROOM_LIVE_POLL_SECONDS = 1  # a reader's ten seconds, shortened for the test
    story = Article(
        headline="Storm Agnes: live updates as gales batter the coast",
        standfirst="Ferries cancelled, trees down and a pier closed.",
        section=Section.objects.get(slug="news"),
        live_status=Article.LiveStatus.LIVE,
        live_summary="Red warning until midnight\nAll ferries cancelled",
        is_breaking=True,
    )
    story.mark_published(timezone.now() - timedelta(hours=5))
    story.save()
    now = timezone.now()
    for number in range(45):  # the newest first on the page: "Update 44" at the top
        words = " ".join(["The wind keeps rising along the front."] * (2 + number % 3))
        LiveEntry.objects.create(
            article=story,
            title=f"Update {number}",
            body=f"<p>{words}</p>",
            key_event=number % 10 == 0,
            status=LiveEntry.Status.PUBLISHED,
            posted_at=now - timedelta(minutes=5 * (45 - number)),
        )
    return story


@pytest.fixture
def editor():
    from tests.accounts.factories import UserFactory

    return UserFactory(username="live-editor", editor=True)


def top_of(page, selector) -> float:
    return page.locator(selector).evaluate("node => node.getBoundingClientRect().top")


def test_a_new_entry_is_offered_without_a_reload_and_nothing_moves(
    new_page, site, blog, editor, screenshot_dir
):
    page = new_page()
    page.goto(site.url(blog.get_absolute_url()))
    page.evaluate("window.sameDocument = true")
    reading = page.locator("[data-entry]").nth(8)  # the ninth entry: well down the page
    reading.scroll_into_view_if_needed()
    reading_id = reading.get_attribute("data-entry")
    selector = f'[data-entry="{reading_id}"]'
    scroll, top = page.evaluate("window.scrollY"), top_of(page, selector)

    entry = live.post_entry(blog, by=editor, body="<p>The pier has been closed.</p>", publish=True)
    button = page.locator("[data-live-show]")
    button.wait_for(state="visible", timeout=15_000)
    assert button.inner_text() == "1 new update: show"
    assert page.evaluate("window.sameDocument") is True  # no reload
    assert page.evaluate("window.scrollY") == scroll
    assert abs(top_of(page, selector) - top) < 1
    assert page.locator(f'[data-entry="{entry.pk}"]').count() == 0  # offered, not pushed in
    page.screenshot(path=screenshot_dir / "live-blog-new-updates.png")

    # An edit to an entry above the reader is made where it is; their place is kept.
    above = LiveEntry.objects.get(article=blog, title="Update 43")
    longer = " ".join(["Gusts of 90 mph were recorded at the harbour wall."] * 12)
    live.edit_entry(above, by=editor, title=above.title, body=f"<p>{longer}</p>")
    page.wait_for_function(
        f"() => document.querySelector('[data-entry=\"{above.pk}\"]').textContent"
        ".includes('90 mph')",
        timeout=15_000,
    )
    assert abs(top_of(page, selector) - top) < 2
    assert "Updated" in page.locator(f'[data-entry="{above.pk}"]').inner_text()

    button.click()
    first = page.locator("[data-live-entries] > [data-entry]").first
    assert first.get_attribute("data-entry") == str(entry.pk)
    assert "The pier has been closed." in first.inner_text()
    assert first.evaluate("node => node.getBoundingClientRect().top") < 200  # taken to it
    assert page.locator("[data-live-new]").is_hidden()


def test_coverage_ending_stops_the_page_polling(new_page, site, blog, editor):
    from articles.services import workflow

    page = new_page()
    page.goto(site.url(blog.get_absolute_url()))
    workflow.set_live_status(blog, Article.LiveStatus.ENDED, by=editor)
    page.locator("[data-live][data-polling=stopped]").wait_for(state="attached", timeout=15_000)
    assert "Live coverage has ended" in page.locator(".live__status").inner_text()


def test_without_javascript_a_refresh_shows_the_new_entry(new_page, site, blog, editor):
    page = new_page(java_script_enabled=False)
    page.goto(site.url(blog.get_absolute_url()))
    assert page.locator("[data-entry]").count() == 20
    entry = live.post_entry(blog, by=editor, body="<p>Schools close early.</p>", publish=True)
    assert page.locator(f'[data-entry="{entry.pk}"]').count() == 0
    page.reload()
    first = page.locator("[data-live-entries] > [data-entry]").first
    assert first.get_attribute("data-entry") == str(entry.pk)
    # Older updates are on further pages, by plain links.
    page.get_by_role("link", name="Older updates").click()
    page.wait_for_load_state()
    assert page.url.endswith("?page=2") and page.locator("[data-entry]").count() == 20


def test_an_entry_permalink_on_page_three_opens_at_the_entry(new_page, site, blog):
    wanted = LiveEntry.objects.get(article=blog, title="Update 2")  # the 43rd newest
    page = new_page()
    page.goto(site.url(f"{blog.get_absolute_url()}live/{wanted.pk}/"))
    assert page.url.endswith(f"?page=3#entry-{wanted.pk}")
    target = page.locator(f"#entry-{wanted.pk}")
    assert target.evaluate("node => node.matches(':target')")
    box = target.evaluate("node => node.getBoundingClientRect().top")
    assert 0 <= box < page.viewport_size["height"] / 2
    # Page three is not the newest: it does not poll for new entries.
    assert page.locator("[data-live]").get_attribute("data-poll-seconds") == "0"


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_axe_finds_nothing_serious_on_a_live_blog(new_page, site, blog, width, screenshot_dir):
    from axe_playwright_python.sync_playwright import Axe

    page = new_page(viewport=PHONE, is_mobile=True) if width == "phone" else new_page()
    page.goto(site.url(blog.get_absolute_url()))
    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
    violations = Axe().run(page, options=options).response["violations"]
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert not blocking, describe(blocking)
    _load_every_picture(page)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    path = screenshot_dir / f"live-blog-{width}.png"
    page.screenshot(path=path, full_page=width == "desktop")
    assert path.stat().st_size > 10_000


def test_older_updates_page_in_below_without_leaving_the_page(new_page, site, blog):
    page = new_page()
    address = site.url(blog.get_absolute_url())
    page.goto(address)
    older = page.get_by_role("link", name="Older updates")
    older.click()
    page.wait_for_function("() => document.querySelectorAll('[data-entry]').length === 40")
    assert page.url == address
    older.click()
    page.wait_for_function("() => document.querySelectorAll('[data-entry]').length === 45")
    assert page.get_by_role("link", name="Older updates").count() == 0
    titles = page.locator(".live-entry__title").all_inner_texts()
    assert titles == [f"Update {n}" for n in range(44, -1, -1)]  # each once, newest first
