"""The newsroom's day in a real browser, at desktop and phone widths: a Reporter writes a story with
a picture in the admin and sends it for review, an Editor returns it with a note, the Reporter
fixes it and sends it again, the Editor publishes it through the checklist, and a reader finds it
on the front page and reads it. Screenshots of each step go to artifacts/screenshots/."""

import io
import re

import pytest
from django.urls import reverse
from PIL import Image, ImageDraw

from articles.models import Article, Transition
from tests.accounts.factories import UserFactory
from tests.e2e.conftest import PHONE
from tests.e2e.login import log_in  # with the second factor, for Editors

pytestmark = pytest.mark.e2e

HEADLINE = "Seagull steals mayor's chain of office during pier reopening"
STANDFIRST = "The bird was last seen heading for the bandstand."
PARAGRAPHS = [
    "A herring gull swooped on the mayor as she cut the ribbon on the restored pier.",
    "Witnesses said the bird made off with the gold chain before anyone could react.",
]
ALT = "A seagull flying off with a gold chain above the pier"
NOTE = "Who is the mayor? Name her, and say when the pier reopened."
FIX = "The mayor, Councillor Jean Price, reopened the pier on Saturday after a two-year repair."
TIMEOUT = 15_000


def photo() -> bytes:
    """A 1200×800 JPEG drawn here: sea, pier, and a gull."""
    image = Image.new("RGB", (1200, 800), "#7fb2d9")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 520, 1200, 800), fill="#2d5d7b")  # the sea
    draw.rectangle((100, 470, 1100, 520), fill="#6b4f2a")  # the pier
    draw.polygon([(560, 200), (640, 240), (720, 200), (640, 260)], fill="white")  # the gull
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def write_body(page, paragraphs):
    """Type into the rich-text editor, as a person would."""
    editor = page.locator(".ProseMirror[contenteditable=true]")
    editor.first.wait_for(state="visible", timeout=10_000)
    editor.first.click()
    for number, paragraph in enumerate(paragraphs):
        if number:
            page.keyboard.press("Enter")
        page.keyboard.type(paragraph)


def save(page, move="save"):
    """Press one of the action bar's buttons (`save`: Save draft, Save or Update)."""
    with page.expect_navigation():
        page.locator(f"[data-desk-bar] button[name=_move][value={move}]").click()
    page.wait_for_load_state()


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_a_reporter_writes_an_editor_returns_it_the_reporter_fixes_it_and_the_editor_publishes(
    new_page, site, screenshot_dir, width
):
    def device():
        page = new_page(viewport=PHONE, is_mobile=True) if width == "phone" else new_page()
        page.set_default_timeout(TIMEOUT)
        return page

    def shot(page, step):
        page.screenshot(path=screenshot_dir / f"editorial-{width}-{step}.png", full_page=True)

    page = device()
    reporter = UserFactory(username="wendy", first_name="Wendy", reporter=True)
    editor = UserFactory(username="eddie", first_name="Eddie", editor=True)

    # The Reporter writes the story, with a picture, and sends it for review.
    log_in(page, site, "wendy")
    page.goto(site.url(reverse("admin:articles_article_add")))
    page.locator("#id_headline").fill(HEADLINE)
    page.locator("#id_standfirst").fill(STANDFIRST)
    write_body(page, PARAGRAPHS)
    words = sum(len(paragraph.split()) for paragraph in PARAGRAPHS)
    page.wait_for_function(
        f"() => document.getElementById('desk-words').textContent === '{words} words · 1 min read'"
    )
    # The picture: uploaded in place from the story form's picture panel, then chosen.
    panel = page.locator("[data-picture-panel]")
    panel.locator("summary").click()
    panel.locator("[data-upload-file]").set_input_files(
        files=[{"name": "gull.jpg", "mimeType": "image/jpeg", "buffer": photo()}]
    )
    panel.locator("[data-upload-field=alt_text]").fill(ALT)
    panel.locator("[data-upload-field=credit]").fill("Wendy Writer")
    panel.get_by_role("button", name="Upload").click()
    panel.get_by_text("Uploaded as picture").wait_for()
    panel.locator(".picture-panel__item").first.get_by_role(
        "button", name="Use as story picture"
    ).click()
    page.locator("#id_section").select_option(label="News")
    bar = page.locator("[data-desk-bar] button[name=_move]")
    assert bar.all_inner_texts() == ["Save draft", "Submit for review"]  # no Publish for her
    shot(page, "1-reporter-writes")
    save(page, "review")

    assert page.locator(".messagelist .success").count() == 1, page.content()
    article = Article.objects.get(headline=HEADLINE)
    assert (article.status, article.created_by) == (Article.Status.REVIEW, reporter)
    assert all(p in article.body for p in PARAGRAPHS)
    picture = article.hero_image
    assert (picture.width, picture.height, picture.alt_text) == (1200, 800, ALT)
    assert picture.uploaded_by == reporter and picture.is_shown

    # The Editor finds it waiting on the dashboard and returns it with a note.
    desk = device()
    log_in(desk, site, "eddie")
    desk.goto(site.url(reverse("editorial-dashboard")))
    waiting = desk.locator(".module", has=desk.get_by_role("heading", name="Waiting for review"))
    with desk.expect_navigation():
        waiting.get_by_role("link", name=HEADLINE).click()
    assert desk.locator("#id_headline").input_value() == HEADLINE
    desk.get_by_label("Note for the reporter").fill(NOTE)
    shot(desk, "2-editor-returns")
    save(desk, "return")
    assert desk.locator(".messagelist .success").count() == 1, desk.content()
    article.refresh_from_db()
    assert article.status == Article.Status.DRAFT

    # The Reporter opens it from her drafts, reads the note, fixes the story and resubmits.
    page.goto(site.url(reverse("editorial-dashboard")))
    mine = page.locator(".module", has=page.get_by_role("heading", name="My drafts"))
    with page.expect_navigation():
        mine.get_by_role("link", name=HEADLINE).click()
    notice = page.locator(".desk-notice--returned")
    assert "Returned by Eddie" in notice.inner_text() and NOTE in notice.inner_text()
    editor_box = page.locator(".ProseMirror[contenteditable=true]").first
    editor_box.click()
    page.keyboard.press("Control+End")
    page.keyboard.press("Enter")
    page.keyboard.type(FIX)
    shot(page, "3-reporter-fixes")
    save(page, "review")
    assert page.locator(".messagelist .success").count() == 1, page.content()
    article.refresh_from_db()
    assert article.status == Article.Status.REVIEW and FIX in article.body

    # The Editor publishes it through the checklist.
    desk.goto(site.url(reverse("admin:articles_article_change", args=[article.pk])))
    assert desk.locator(".desk-notice--returned").count() == 0  # resubmitted: nothing pending
    checklist = desk.locator(".desk-bar__checklist")
    assert "to fix" not in checklist.locator("summary").inner_text()  # the picture is described
    checklist.locator("summary").click()
    items = checklist.locator(".desk-checklist__item")
    assert items.count() >= 6
    assert checklist.locator(".desk-checklist__item--block").count() == 0
    shot(desk, "4-editor-publishes")
    asked = []
    desk.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    save(desk, "publish")
    assert asked == ["Publish this story now? Readers see it at once."]

    assert desk.locator(".messagelist .success").count() == 1, desk.content()
    article.refresh_from_db()
    assert article.is_visible
    moves = Transition.objects.filter(article=article).order_by("at", "pk")
    assert [(t.to_status, t.by, t.note) for t in moves] == [
        (Article.Status.REVIEW, reporter, ""),
        (Article.Status.DRAFT, editor, NOTE),
        (Article.Status.REVIEW, reporter, ""),
        (Article.Status.PUBLISHED, editor, ""),
    ]

    # A reader finds it on the front page and reads it, picture, fix and all.
    reader = device()
    response = reader.goto(site.url("/"))
    assert response.status == 200
    link = reader.locator("main").get_by_role("link", name=HEADLINE).first
    link.wait_for()
    shot(reader, "5-front-page")
    with reader.expect_navigation():
        link.click()
    assert re.search(re.escape(article.get_absolute_url()) + "$", reader.url)
    assert reader.locator("h1").inner_text() == HEADLINE
    assert reader.locator(".story__standfirst").inner_text() == STANDFIRST
    body = reader.locator(".story__body").inner_text()
    assert all(p in body for p in [*PARAGRAPHS, FIX])
    hero = reader.locator(".story__hero img")
    assert hero.get_attribute("alt") == ALT
    hero.scroll_into_view_if_needed()
    reader.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=hero.element_handle()
    )
    shot(reader, "6-reader-reads")


def test_the_rich_text_editor_starts_on_the_article_form(new_page, site):
    page = new_page()
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    UserFactory(username="eddie", editor=True)
    log_in(page, site, "eddie")
    page.goto(site.url(reverse("admin:articles_article_add")))
    page.locator(".ProseMirror[contenteditable=true]").first.wait_for(
        state="visible", timeout=5_000
    )
    assert problems == []


def test_an_imported_story_keeps_its_teasers_and_signup_slot_through_the_editor(new_page, site):
    """The body's marked paragraphs are what the editor's paragraph styles make, so opening and
    saving an imported story in the admin loses neither its teasers nor its sign-up slot."""
    from articles.models import Article

    article = Article.objects.get(slug__startswith="putins-generals")
    before = article.body
    assert before.count('<p class="teaser">') == 2
    page = new_page()
    UserFactory(username="eddie", editor=True)
    log_in(page, site, "eddie")
    page.goto(site.url(reverse("admin:articles_article_change", args=[article.pk])))
    page.locator(".ProseMirror[contenteditable=true]").first.wait_for(state="visible")
    save(page)
    article.refresh_from_db()
    assert article.body.count('<p class="teaser">') == 2
    assert article.body.count('<p class="newsletter-signup">') == 1
    assert article.body.count("<blockquote>") == 4


def test_text_being_typed_survives_a_closed_tab(new_page, site):
    """The browser keeps what is typed; reopening the form offers it back, into the editor."""
    page = new_page()
    UserFactory(username="rita", reporter=True)
    log_in(page, site, "rita")
    add = site.url(reverse("admin:articles_article_add"))
    page.goto(add)
    page.locator("#id_headline").fill("Pigeon fancier’s unsaved scoop")
    write_body(page, ["Words nobody saved yet."])
    page.wait_for_timeout(1_500)  # the page stores a draft 0.8 s after the last keystroke
    context = page.context
    page.close()  # the tab is closed without saving

    reopened = context.new_page()  # same browser: same storage, still logged in
    reopened.goto(add)
    banner = reopened.locator("#autosave-banner")
    banner.wait_for(state="visible")
    assert reopened.locator("#id_headline").input_value() == ""
    banner.get_by_role("button", name="Restore it").click()
    assert reopened.locator("#id_headline").input_value() == "Pigeon fancier’s unsaved scoop"
    editor = reopened.locator(".ProseMirror[contenteditable=true]").first
    assert "Words nobody saved yet." in editor.inner_text()
    reopened.locator("#id_section").select_option(label="News")
    save(reopened)
    assert Article.objects.get(headline="Pigeon fancier’s unsaved scoop").body == (
        "<p>Words nobody saved yet.</p>"
    )


def test_logging_out_removes_the_drafts_this_browser_kept(new_page, site):
    """On a shared computer the next person must not find the last one's unsaved story."""
    page = new_page()
    UserFactory(username="rita", reporter=True)
    log_in(page, site, "rita")
    page.goto(site.url(reverse("admin:articles_article_add")))
    page.locator("#id_headline").fill("Source's name, not for anyone else")
    page.wait_for_timeout(1_500)  # the page stores a draft 0.8 s after the last keystroke
    stored = "() => Object.keys(localStorage).filter(k => k.startsWith('newsroom-article-'))"
    assert page.evaluate(stored) == ["newsroom-article-new"]

    page.locator("#logout-form button").click()
    page.get_by_text("You are logged out").wait_for()
    page.wait_for_load_state("load")  # the page's script has run by then

    assert page.evaluate(stored) == []


def test_the_tags_field_suggests_existing_tags(new_page, site):
    page = new_page()
    UserFactory(username="rita", reporter=True)
    log_in(page, site, "rita")
    page.goto(site.url(reverse("admin:articles_article_add")))
    tags = page.locator("#id_tags")
    tags.fill("seaside, ukr")
    options = page.locator("#tag-suggestions option")
    options.first.wait_for(state="attached")
    assert options.evaluate_all("els => els.map(e => e.value)") == ["seaside, ukraine"]


def test_an_editor_finds_a_picture_inserts_it_and_sets_its_focal_point(
    new_page, site, screenshot_dir
):
    """The library in the admin: search by caption, insert into the body where the cursor is,
    then click the picture's focal point and see every placement's crop before saving."""
    from pictures.models import Image

    page = new_page()
    page.set_default_timeout(TIMEOUT)
    UserFactory(username="eddie", editor=True)
    log_in(page, site, "eddie")
    page.goto(site.url(reverse("admin:articles_article_add")))
    write_body(page, ["The scones were inspected at dawn."])
    panel = page.locator("[data-picture-panel]")
    panel.locator("[data-picture-query]").fill("scone")
    panel.get_by_role("button", name="Search").click()
    scones = Image.objects.get(file="demo/great-scone-war.jpg")  # its alt text names scones
    found = panel.locator(f"[data-picture-id='{scones.pk}']")
    found.wait_for()
    found.locator("img").evaluate("img => img.decode()")
    page.locator("[data-picture-panel]").screenshot(
        path=screenshot_dir / "admin-picture-panel-desktop.png"
    )
    found.get_by_role("button", name="Insert in body").click()
    editor = page.locator(".ProseMirror[contenteditable=true]").first
    assert f"Picture {scones.pk}" in editor.inner_text()
    page.screenshot(path=screenshot_dir / "admin-insert-picture-desktop.png", full_page=True)

    page.goto(site.url(reverse("admin:pictures_image_change", args=[scones.pk])))
    source = page.locator("[data-focal-source]")
    source.evaluate("img => img.decode()")
    before = page.locator("[data-crop-name=square] img").evaluate("img => img.style.left")
    box = source.bounding_box()
    source.click(position={"x": box["width"] * 0.9, "y": box["height"] * 0.5})
    assert float(page.locator("#id_focal_x").input_value()) == pytest.approx(0.9, abs=0.01)
    after = page.locator("[data-crop-name=square] img").evaluate("img => img.style.left")
    assert after != before  # the square crop moved right, before anything is saved
    page.screenshot(path=screenshot_dir / "admin-focal-point-desktop.png", full_page=True)
    with page.expect_navigation():
        page.locator("input[name=_save]").click()
    scones.refresh_from_db()
    assert scones.focal_x == pytest.approx(0.9, abs=0.01)
    assert scones.renditions_current  # the task made the new crops
