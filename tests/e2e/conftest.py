"""Real-browser tests: Playwright drives Debian's chromium (`make browser`) against pytest-django's
live server (Django's threaded server on 127.0.0.1) with the demo stories loaded.

Without the playwright package or /usr/bin/chromium every test here skips with the reason; under
CI=true a skip fails the run (see tests/conftest.py), so CI cannot pass without a browser."""

import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management import call_command

# Django's threaded live server on the loopback address (pytest-django's default is "localhost").
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
DEMO_FIXTURE = Path(settings.BASE_DIR) / "fixtures" / "demo.json"
SCREENSHOT_DIR = Path(settings.BASE_DIR) / "artifacts" / "screenshots"
# The seed story as shipped (fixtures/seeds/000_…): teasers, sign-up box, source credit,
# previous and next stories.
SEED_SLUG = "putins-generals-are-hiding-disastrous-truth-about-ukraine-invasion-from-him"
HERO_ALT = "Vladimir Putin at a table with his generals in the Kremlin"
# The demo's newest story, given the breaking-news banner on the front page.
BREAKING_SLUG = "man-who-dug-12ft-treasure-hole-in-back-garden-finds-only-his-dads-old-lawnmower"


@pytest.fixture(scope="package")
def browser():
    """One Chromium for the whole package, started on first use."""
    try:
        import axe_playwright_python  # noqa: F401  (the tests load axe-core from it)
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        pytest.skip(f"{error.name} is not installed: run `make install`")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM}: run `make browser` (as root)")
    with pytest.MonkeyPatch.context() as patch:
        # Playwright's sync API keeps an asyncio event loop running in the test thread, and
        # Django refuses ORM calls from a thread with a running loop (SynchronousOnlyOperation).
        # Our ORM calls (fixtures, rows, assertions, the flush between tests) run between browser
        # calls, never inside the loop, so that check is a false alarm here. The variable is set
        # only while the browser is up, so the rest of the suite keeps Django's check.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()


@dataclass
class Site:
    """The live server with the demo stories, and where each page under test lives."""

    base_url: str
    article: object
    requests: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).netloc

    @property
    def pages(self) -> dict[str, str]:
        return {
            "home": "/",
            "article": self.article.get_absolute_url(),
            "section": self.article.section.get_absolute_url(),
            "search": "/search/?q=putin",
            "signup": "/newsletters/sign-up/",
        }


@pytest.fixture
def site(live_server, transactional_db, settings):
    from articles.models import Article, Correction
    from newsletters.models import Newsletter

    settings.ROOT_URLCONF = "tests.e2e.urls"
    call_command("loaddata", DEMO_FIXTURE, verbosity=0)
    # transactional_db empties the tables between tests, data migrations' rows included.
    Newsletter.objects.get_or_create(
        slug="daily", defaults={"name": "The Daily Racket", "is_public": True}
    )
    # What the demo lacks but readers see: a breaking banner, a correction and a picture.
    Article.objects.filter(slug=BREAKING_SLUG).update(is_breaking=True)
    article = Article.objects.select_related("section").get(slug=SEED_SLUG)
    Correction.objects.create(
        article=article, kind=Correction.Kind.UPDATE, text="This story now names its source."
    )
    article.hero_alt = HERO_ALT
    article.hero_caption = "The President's top brass are said to fear telling him the truth"
    article.hero_credit = "Newsroom test picture"
    article.hero_image.save("generals.jpg", ContentFile(_picture()), save=True)
    return Site(base_url=live_server.url, article=article)


def _picture() -> bytes:
    """A 1200×675 JPEG made here, so no picture is shipped or downloaded."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (1200, 675), "#2b2b2b")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 480, 1200, 675), fill="#5a3b24")  # the table
    for x in range(150, 1100, 190):  # the generals
        draw.ellipse((x, 230, x + 110, 340), fill="#d9b38c")
        draw.rectangle((x - 20, 340, x + 130, 480), fill="#3b4a2a")
    draw.rectangle((0, 0, 1200, 40), fill="#c8102e")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


@pytest.fixture
def new_page(browser, site):
    """Open pages in fresh browser contexts; every request any of them makes is recorded in
    `site.requests`, and one for another host is refused so no test ever leaves the machine."""
    contexts = []

    def open_page(*, viewport=DESKTOP, **options):
        context = browser.new_context(viewport=viewport, **options)
        context.on("request", lambda request: site.requests.append(request.url))

        def only_local(route):
            if urlsplit(route.request.url).netloc == site.host:
                route.continue_()
            else:
                route.abort("blockedbyclient")

        context.route("**/*", only_local)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture(scope="session")
def screenshot_dir():
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR
