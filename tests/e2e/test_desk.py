"""The desk in a real browser: axe-core's WCAG rules on the admin's home (the dashboard) and on
a story's form with its action bar, at desktop and phone widths; a slug change keeping the old
address working; a legal takedown answering 410 and taking the picture's file away."""

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from playwright.sync_api import expect

from articles.models import Article
from tests.accounts.factories import UserFactory

from .conftest import PHONE
from .login import log_in
from .test_accessibility import BLOCKING, WCAG_TAGS, describe

pytestmark = pytest.mark.e2e


def axe(page) -> list:
    from axe_playwright_python.sync_playwright import Axe

    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
    violations = Axe().run(page, options=options).response["violations"]
    return [v for v in violations if v["impact"] in BLOCKING]


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_axe_finds_nothing_serious_on_the_desk_and_the_story_form(
    new_page, site, width, screenshot_dir
):
    UserFactory(username="eddie", editor=True)
    page = new_page(viewport=PHONE, is_mobile=True) if width == "phone" else new_page()
    log_in(page, site, "eddie")
    assert not (found := axe(page)), describe(found)
    page.screenshot(path=screenshot_dir / f"desk-home-{width}.png", full_page=True)
    page.goto(site.url(reverse("admin:articles_article_change", args=[site.article.pk])))
    page.locator("[data-desk-bar]").wait_for()
    page.locator(".ProseMirror[aria-label]").wait_for()
    count = page.locator(".field-headline .desk-count")
    assert count.inner_text() == f"{len(site.article.headline)} of 110 characters"
    assert not (found := axe(page)), describe(found)
    page.screenshot(path=screenshot_dir / f"desk-story-{width}.png")


def test_a_slug_changed_in_the_admin_keeps_the_old_address_working(new_page, site):
    UserFactory(username="eddie", editor=True)
    page = new_page()
    log_in(page, site, "eddie")
    story = site.article
    old = story.get_absolute_url()
    page.goto(site.url(reverse("admin:articles_article_change", args=[story.pk])))
    page.locator("#id_slug").fill("generals-hide-the-truth")
    with page.expect_navigation():
        page.locator("[data-desk-bar] button[value=save]").click()
    assert page.locator(".messagelist .success").count() == 1
    reader = new_page()
    response = reader.goto(site.url(old))
    assert response.status == 200 and reader.url == site.url("/world/generals-hide-the-truth/")


def test_a_legal_takedown_in_the_admin_gives_410_and_removes_the_picture(new_page, site):
    UserFactory(username="eddie", editor=True)
    story = Article.objects.select_related("hero_image").get(pk=site.article.pk)
    picture = story.hero_image.file.name
    assert default_storage.exists(picture)
    page = new_page()
    log_in(page, site, "eddie")
    page.goto(site.url(reverse("admin:articles_article_change", args=[story.pk])))
    with page.expect_navigation():
        page.locator("[data-desk-bar]").get_by_role("link", name="Withdraw…").click()
    page.get_by_label("Legal reason").check()
    page.get_by_label("Note").fill("Injunction: the generals' names")
    with page.expect_navigation():
        page.get_by_role("button", name="Withdraw").click()
    assert "410 Gone" in page.locator(".messagelist").inner_text()
    reader = new_page()
    response = reader.goto(site.url(story.get_absolute_url()))
    assert response.status == 410
    assert "removed for legal reasons" in reader.locator("main").inner_text()
    assert not default_storage.exists(picture)


def test_unsaved_text_follows_the_reporter_to_another_device(new_page, site):
    """Typed on one device (a browser context), that tab closed unsaved; the story opened on
    another (a context with no storage of the first) offers the text back, from the server."""
    reporter = UserFactory(username="rita", reporter=True)
    story = Article.objects.create(
        headline="Pier plans", section=site.article.section, created_by=reporter, body="<p>Old</p>"
    )
    laptop = new_page()
    log_in(laptop, site, "rita")
    form = site.url(reverse("admin:articles_article_change", args=[story.pk]))
    laptop.goto(form)
    laptop.locator("#id_headline").fill("Pier plans scrapped after gull protest")
    laptop.wait_for_timeout(4_500)  # the form sends what is typed within 3 s
    laptop.close()

    phone = new_page(viewport=PHONE, is_mobile=True)
    log_in(phone, site, "rita")
    phone.goto(form)
    banner = phone.locator("#autosave-banner")
    banner.wait_for(state="visible")
    assert "on the server" in banner.inner_text()
    banner.get_by_role("button", name="Restore it").click()
    assert phone.locator("#id_headline").input_value() == "Pier plans scrapped after gull protest"
    with phone.expect_navigation():
        phone.locator("[data-desk-bar] button[value=save]").click()
    story.refresh_from_db()
    assert story.headline == "Pier plans scrapped after gull protest"


def test_the_body_counts_its_words_and_reading_time_as_one_types(new_page, site):
    UserFactory(username="eddie", editor=True)
    story = site.article  # the seed story: teasers and the sign-up slot are not counted
    before = story.word_count
    page = new_page()
    log_in(page, site, "eddie")
    page.goto(site.url(reverse("admin:articles_article_change", args=[story.pk])))
    words = page.locator("#desk-words")
    editor = page.locator(".ProseMirror[contenteditable=true]").first
    editor.wait_for()
    expect(words).to_have_text(f"{before} words · {story.reading_time} min read")
    # At the end of the first plain paragraph, which is the story's own text.
    editor.locator("p:not([class])").first.click()
    page.keyboard.press("End")
    page.keyboard.type(" Four more words here.")
    expect(editor).to_contain_text("Four more words here.")
    expect(words).to_have_text(f"{before + 4} words · {story.reading_time} min read")
    shown = words.inner_text()
    with page.expect_navigation():
        page.locator("[data-desk-bar] button[value=save]").click()
    story.refresh_from_db()
    # What the desk showed is what the server counts in the body it saved.
    assert story.word_count == before + 4
    assert shown == f"{story.word_count} words · {story.reading_time} min read"
