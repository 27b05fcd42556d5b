"""Real-browser tests: Playwright drives Debian's chromium (`make browser`) against pytest-django's
live server (Django's threaded server on 127.0.0.1) with the demo stories loaded.

Without the playwright package or /usr/bin/chromium every test here skips with the reason; under
CI=true a skip fails the run (see tests/conftest.py), so CI cannot pass without a browser."""

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
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
HERO_ALT = (
    "Cartoon: six generals in green uniforms sit at a long table with papers in front of them"
)
# The demo story with a gallery; the browser tests add an embed to it.
GALLERY_SLUG_START = "village-bake-off-descends-into-great-scone-war"
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
    gallery_story: object = None
    provider: object = None  # the oEmbed provider on 127.0.0.1, a "third party" to the site
    requests: list[str] = field(default_factory=list)
    also_allowed: set[str] = field(default_factory=set)  # hosts a test lets pages reach

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
            "gallery-story": self.gallery_story.get_absolute_url(),
        }


@pytest.fixture(scope="session")
def demo_media(tmp_path_factory):
    """The demo pictures with their renditions, made once for the whole run and copied into
    each test's media folder (making them takes half a minute)."""
    return {"folder": tmp_path_factory.mktemp("demo-media"), "made": False}


@pytest.fixture
def site(live_server, transactional_db, settings, demo_media):
    from articles.demo import install_demo_pictures
    from articles.models import Article, Correction
    from newsletters.models import Newsletter
    from pictures.embeds import snapshot_embed
    from pictures.models import Image
    from tests.pictures.provider import LINK, Provider

    settings.ROOT_URLCONF = "tests.e2e.urls"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    call_command("loaddata", DEMO_FIXTURE, verbosity=0)
    if demo_media["made"]:
        shutil.copytree(demo_media["folder"], settings.MEDIA_ROOT, dirs_exist_ok=True)
        for image in Image.objects.all():
            Image.objects.filter(pk=image.pk).update(rendition_key=image.wanted_key)
    else:
        install_demo_pictures()
        shutil.copytree(settings.MEDIA_ROOT, demo_media["folder"], dirs_exist_ok=True)
        demo_media["made"] = True
    # transactional_db empties the tables between tests, data migrations' rows included.
    Newsletter.objects.get_or_create(
        slug="daily", defaults={"name": "The Daily Racket", "is_public": True}
    )
    # What the demo lacks but readers see: a breaking banner, a correction and an embed.
    Article.objects.filter(slug=BREAKING_SLUG).update(is_breaking=True)
    article = Article.objects.select_related("section").get(slug=SEED_SLUG)
    Correction.objects.create(
        article=article, kind=Correction.Kind.UPDATE, text="This story now names its source."
    )
    with Provider() as provider:
        settings.NEWSROOM_OEMBED_PROVIDERS = [provider.settings_entry()]
        link = LINK.format(id="scones1")
        snapshot_embed(link)  # as the admin does when the story is saved
        provider.requests.clear()  # what follows is what readers' pages ask of it
        story = Article.objects.select_related("section").get(slug__startswith=GALLERY_SLUG_START)
        Article.objects.filter(pk=story.pk).update(
            body=story.body + f'\n<p class="embed">{link}</p>'
        )
        yield Site(
            base_url=live_server.url, article=article, gallery_story=story, provider=provider
        )


@pytest.fixture
def new_page(browser, site):
    """Open pages in fresh browser contexts; every request any of them makes is recorded in
    `site.requests`, and one for another host is refused so no test ever leaves the machine."""
    contexts = []

    def open_page(*, viewport=DESKTOP, **options):
        context = browser.new_context(viewport=viewport, **options)
        context.on("request", lambda request: site.requests.append(request.url))

        def only_local(route):
            if urlsplit(route.request.url).netloc in {site.host, *site.also_allowed}:
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
