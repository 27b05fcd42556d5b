"""The content API (`/api/v1/`) as an app or partner uses it: keys, rate limits, stories as
cards and with their bodies as typed blocks, 410 tombstones, embargoes, conditional GETs,
fixed query counts, and the OpenAPI document it serves."""

import json
import os
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from openapi_spec_validator import validate

from api.models import Consumer
from articles.models import Article, LiveEntry
from pictures.models import Embed
from tests.accounts.factories import AuthorFactory, UserFactory
from tests.articles.factories import ArticleFactory, SectionFactory
from tests.pictures.factories import ImageFactory

pytestmark = pytest.mark.django_db

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "api" / "openapi.json"
REDIS_URL = os.environ.get("REDIS_URL")


def consumer(**fields) -> tuple[Consumer, str]:
    app = Consumer(name=fields.pop("name", f"App {uuid.uuid4().hex[:6]}"), **fields)
    key = app.new_key()
    app.save()
    return app, key


@pytest.fixture
def key():
    return consumer(name="The Racket app")[1]


@pytest.fixture
def api(client, key):
    """GET from the API with the app's key; returns the response."""

    def get(path, **headers):
        return client.get(f"/api/v1/{path}", headers={"Authorization": f"Bearer {key}", **headers})

    return get


def test_without_a_valid_key_nothing_is_answered(client):
    ArticleFactory(headline="Kept for key holders")
    _, stale = consumer(name="Old partner", is_active=False)
    for headers in [
        {},
        {"Authorization": "Bearer nrk_made-up"},
        {"Authorization": f"Bearer {stale}"},
    ]:
        response = client.get("/api/v1/stories/", headers=headers)
        assert response.status_code == 401
        assert response.json() == {"detail": "Send your key as: Authorization: Bearer nrk_…"}


def test_only_the_hash_of_a_key_is_stored_and_its_use_is_noted(api, key):
    app = Consumer.objects.get()
    assert key.startswith("nrk_") and len(key) > 40
    assert key not in json.dumps(list(Consumer.objects.values()), default=str)
    assert app.key_start == key[:12] and app.last_used_at is None
    assert api("stories/").status_code == 200
    app.refresh_from_db()
    assert app.last_used_at is not None


def test_stories_are_what_readers_see_newest_first_and_nothing_held_back(api):
    now = timezone.now()
    older = ArticleFactory(headline="Older story", published_at=now - timedelta(hours=3))
    newer = ArticleFactory(headline="Newer story", published_at=now - timedelta(hours=1))
    ArticleFactory(draft=True, headline="A draft")
    ArticleFactory(scheduled=True, headline="Scheduled for tomorrow")
    ArticleFactory(
        in_review=True, headline="Embargoed budget", embargo_until=now + timedelta(hours=2)
    )
    ArticleFactory(withdrawn=True, headline="Withdrawn one")
    ArticleFactory(headline="Ended offer", unpublish_at=now - timedelta(minutes=1))

    body = api("stories/").json()

    assert [item["headline"] for item in body["items"]] == ["Newer story", "Older story"]
    first = body["items"][0]
    assert first["id"] == newer.pk and first["url"] == newer.get_absolute_url()
    assert first["section"] == {"slug": "news", "name": "News", "url": "/news/"}
    assert body["next"] is None and older.pk == body["items"][1]["id"]


def test_stories_narrow_to_a_section_tag_author_or_breaking_and_page_on(api):
    sport = SectionFactory(name="Sport", slug="sport")
    author = AuthorFactory(name="Sally Sports")
    ArticleFactory(headline="Cup final", section=sport, authors=[author], tags=["football"])
    ArticleFactory(headline="Council news", is_breaking=True)
    for n in range(3):
        ArticleFactory(headline=f"Filler {n}")

    def headlines(path):
        return [item["headline"] for item in api(path).json()["items"]]

    assert headlines("stories/?section=sport") == ["Cup final"]
    assert headlines("stories/?tag=football") == ["Cup final"]
    assert headlines(f"stories/?author={author.slug}") == ["Cup final"]
    assert headlines("stories/?breaking=true") == ["Council news"]
    first = api("stories/?page_size=2").json()
    assert len(first["items"]) == 2 and first["next"].endswith("page_size=2&page=2")
    second = api(first["next"].removeprefix("/api/v1/")).json()
    assert {i["id"] for i in first["items"]}.isdisjoint({i["id"] for i in second["items"]})
    assert first["items"][0]["authors"] == [] and "Cup final" in headlines("stories/?page_size=50")


def test_a_story_comes_with_its_body_as_typed_blocks_and_its_pictures_as_renditions(api):
    hero, inline, shot = ImageFactory(), ImageFactory(), ImageFactory()
    thumbnail = ImageFactory()
    Embed.objects.create(
        url="https://www.youtube.com/watch?v=abc", provider="YouTube", kind="video",
        title="Gull steals chips", thumbnail=thumbnail,
    )  # fmt: skip
    linked = ArticleFactory(headline="Seagull menace grows")
    story = ArticleFactory(
        headline="Gulls take the pier",
        standfirst="Chips are no longer safe.",
        hero_image=hero,
        tags=["seagulls"],
        body=(
            "<p>The gulls <strong>came</strong> at noon.</p>"
            "<blockquote>“They took my chips,” said a visitor.</blockquote>"
            "<h2>What next</h2><ul><li>Cover your food</li><li>Walk fast</li></ul>"
            '<p class="teaser">Seagull menace grows</p>'
            '<p class="newsletter-signup">Sign up</p>'
            f'<p class="picture">Picture {inline.pk}</p>'
            f'<p class="gallery">Gallery {inline.pk}, {shot.pk}</p>'
            '<p class="embed">https://www.youtube.com/watch?v=abc</p>'
        ),
    )

    body = api(f"stories/{story.pk}/").json()

    assert (
        body["headline"] == "Gulls take the pier"
        and body["standfirst"] == "Chips are no longer safe."
    )
    assert body["tags"] == ["seagulls"]
    assert body["language"] == "en-GB"
    kinds = [block["type"] for block in body["blocks"]]
    assert kinds == [
        "paragraph", "quote", "heading", "list", "teaser", "signup", "image", "gallery", "embed"
    ]  # fmt: skip
    paragraph, quote, heading, items, teaser, signup, image, gallery, embed = body["blocks"]
    assert paragraph == {
        "type": "paragraph",
        "html": "The gulls <strong>came</strong> at noon.",
        "text": "The gulls came at noon.",
    }
    assert quote["text"] == "“They took my chips,” said a visitor."
    assert heading["level"] == 2 and items["items"] == ["Cover your food", "Walk fast"]
    assert teaser["story"] == {
        "id": linked.pk,
        "headline": "Seagull menace grows",
        "url": linked.get_absolute_url(),
    }
    assert signup["url"] == reverse("newsletters:signup")
    assert image["picture"]["id"] == inline.pk and image["picture"]["credit"] == inline.credit
    assert [p["id"] for p in gallery["pictures"]] == [inline.pk, shot.pk]
    assert embed["provider"] == "YouTube" and embed["thumbnail"]["id"] == thumbnail.pk
    picture = body["picture"]
    assert (picture["id"], picture["alt"], picture["caption"]) == (
        hero.pk,
        hero.alt_text,
        hero.caption,
    )
    wide = picture["renditions"]["wide"]
    assert [(r["width"], r["height"]) for r in wide] == [(400, 225), (800, 450), (1200, 675)]
    for rendition in wide:
        for fmt in ("jpeg", "webp", "avif"):
            assert rendition[fmt].endswith(f"wide-{rendition['width']}.{fmt}")
    assert set(picture["renditions"]) == {"wide", "standard", "square", "free"}


@pytest.mark.parametrize(
    ("trait", "gone"),
    [("withdrawn", "withdrawn"), ("legal_takedown", "legal"), ("ended", "ended")],
)
def test_a_story_readers_can_no_longer_see_answers_410_with_a_tombstone(api, trait, gone):
    if trait == "ended":
        story = ArticleFactory(unpublish_at=timezone.now() - timedelta(minutes=5))
    else:
        story = ArticleFactory(**{trait: True})

    response = api(f"stories/{story.pk}/")

    assert response.status_code == 410
    body = response.json()
    assert (body["id"], body["gone"]) == (story.pk, gone) and body["at"]
    assert set(body) == {"id", "gone", "at"}  # nothing of the story itself


@pytest.mark.parametrize("trait", ["draft", "scheduled", "embargoed", "unknown"])
def test_a_story_not_yet_out_is_as_unknown_as_one_that_never_was(api, trait):
    if trait == "embargoed":
        lifts = timezone.now() + timedelta(hours=2)
        story = ArticleFactory(published_at=lifts, embargo_until=lifts)
        pk = story.pk
    elif trait == "unknown":
        pk = 999_999
    else:
        pk = ArticleFactory(**{trait: True}).pk

    response = api(f"stories/{pk}/")

    assert response.status_code == 404 and response.json() == {"detail": "No such story."}


def test_an_answer_the_app_has_already_is_a_304(api):
    story = ArticleFactory(headline="Unchanged")
    first = api(f"stories/{story.pk}/")
    assert first["Cache-Control"] == "private, max-age=30" and first["ETag"]

    again = api(f"stories/{story.pk}/", **{"If-None-Match": first["ETag"]})

    assert again.status_code == 304 and again.content == b"" and again["ETag"] == first["ETag"]
    Article.objects.filter(pk=story.pk).update(headline="Changed")
    changed = api(f"stories/{story.pk}/", **{"If-None-Match": first["ETag"]})
    assert changed.status_code == 200 and changed.json()["headline"] == "Changed"


def test_a_live_blog_gives_the_entries_after_the_one_the_app_has(api):
    blog = ArticleFactory(live_status=Article.LiveStatus.LIVE)
    entries = [
        LiveEntry.objects.create(
            article=blog, body=f"<p>Update {n}</p>", status=LiveEntry.Status.PUBLISHED
        )
        for n in range(3)
    ]
    LiveEntry.objects.create(article=blog, body="<p>Pending</p>", status=LiveEntry.Status.PENDING)

    everything = api(f"stories/{blog.pk}/live/").json()
    later = api(f"stories/{blog.pk}/live/?since={entries[0].pk}").json()

    assert everything["status"] == "live"
    assert [e["text"] for e in everything["items"]] == ["Update 0", "Update 1", "Update 2"]
    assert [e["id"] for e in later["items"]] == [entries[1].pk, entries[2].pk]
    assert later["items"][0]["url"] == f"{blog.get_absolute_url()}live/{entries[1].pk}/"
    assert api(f"stories/{ArticleFactory().pk}/live/").status_code == 404  # not a live blog


def test_sections_authors_and_search(api):
    author = AuthorFactory(name="Pat Pier")
    ArticleFactory(
        headline="Pier collapses in the storm", authors=[author], body="<p>The pier fell.</p>"
    )
    AuthorFactory(name="Nobody Published")

    sections = api("sections/").json()
    assert {"slug": "news", "name": "News", "url": "/news/"} in sections
    assert api("authors/").json() == [
        {"slug": author.slug, "name": "Pat Pier", "url": author.get_absolute_url()}
    ]
    found = api("search/?q=pier").json()
    assert found["query"] == "pier"
    assert [item["headline"] for item in found["items"]] == ["Pier collapses in the storm"]
    assert "pier fell" in found["items"][0]["snippet"]


@pytest.mark.parametrize(
    ("path", "make"),
    [
        ("stories/", lambda n: [ArticleFactory(hero_image=ImageFactory(renditions="key-only"),
                                               authors=[AuthorFactory()]) for _ in range(n)]),
        ("stories/?section=news", lambda n: [ArticleFactory() for _ in range(n)]),
        ("search/?q=council", lambda n: [ArticleFactory() for _ in range(n)]),
    ],
    ids=["stories", "by section", "search"],
)  # fmt: skip
def test_a_list_costs_the_same_queries_for_one_row_as_for_twenty(api, path, make):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    api("sections/")  # the key's first use is noted (a write): not what is counted here
    make(1)
    with CaptureQueriesContext(connection) as one:
        assert len(api(path).json()["items"]) == 1
    make(19)
    with CaptureQueriesContext(connection) as twenty:
        assert len(api(path).json()["items"]) == 20
    assert len(one) == len(twenty) <= 5, [q["sql"] for q in twenty]


def test_a_story_costs_a_fixed_number_of_queries_whatever_its_pictures(api):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def story_with(pictures: int):
        images = [ImageFactory(renditions="key-only") for _ in range(pictures)]
        refs = "".join(f'<p class="picture">Picture {i.pk}</p>' for i in images)
        return ArticleFactory(body=f"<p>Text.</p>{refs}", tags=["a", "b"])

    api("sections/")  # the key's first use is noted (a write): not what is counted here
    few, many = story_with(1), story_with(20)
    with CaptureQueriesContext(connection) as one:
        assert api(f"stories/{few.pk}/").status_code == 200
    with CaptureQueriesContext(connection) as twenty:
        assert len(api(f"stories/{many.pk}/").json()["blocks"]) == 21
    assert len(one) == len(twenty) <= 9, [q["sql"] for q in twenty]


@pytest.fixture
def redis_cache():
    if not REDIS_URL:
        pytest.skip("REDIS_URL is not set (e.g. redis://127.0.0.1:6379/0): Redis test skipped")
    prefix = f"test-api-{uuid.uuid4().hex}"
    backend = "newsroom.cache_backends.ResilientRedisCache"  # what production uses
    caches = {"default": {"BACKEND": backend, "LOCATION": REDIS_URL, "KEY_PREFIX": prefix}}
    with override_settings(CACHES=caches):
        client = cache._cache.get_client(write=True)
        try:
            yield
        finally:
            if keys := list(client.scan_iter(match=f"{prefix}:*")):
                client.delete(*keys)


def test_each_consumer_has_its_own_rate_limit_counted_in_redis(client, redis_cache, time_machine):
    time_machine.move_to(timezone.now().replace(second=5), tick=False)
    _, slow = consumer(name="Small partner", requests_per_minute=3)
    _, other = consumer(name="Big app", requests_per_minute=100)

    def get(key):
        return client.get("/api/v1/sections/", headers={"Authorization": f"Bearer {key}"})

    assert [get(slow).status_code for _ in range(3)] == [200, 200, 200]
    refused = get(slow)
    assert refused.status_code == 429 and 0 < int(float(refused["Retry-After"])) <= 60
    assert get(other).status_code == 200  # another consumer is not held back
    time_machine.move_to(timezone.now() + timedelta(minutes=1), tick=False)
    assert get(slow).status_code == 200  # a new minute


def test_the_openapi_document_is_valid_and_is_the_one_kept_in_the_tree(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    served = response.json()
    validate(served)  # OpenAPI 3.1, by openapi-spec-validator
    assert {"/api/v1/stories/", "/api/v1/stories/{story_id}/", "/api/v1/search/"} <= set(
        served["paths"]
    )
    assert served["components"]["securitySchemes"]["ConsumerKey"]["scheme"] == "bearer"
    kept = json.loads(SCHEMA_FILE.read_text())
    assert served == kept, (
        "The API changed: review the difference, then write the new document with "
        "`make openapi` and commit it."
    )


def test_an_administrator_adding_a_consumer_sees_its_key_once(client):
    client.force_login(UserFactory(username="root", superuser=True))
    response = client.post(
        reverse("admin:api_consumer_add"),
        {"name": "Aggregator", "contact": "", "requests_per_minute": "120", "is_active": "on"},
        follow=True,
    )
    app = Consumer.objects.get(name="Aggregator")
    shown = [str(m) for m in response.context["messages"] if "key of" in str(m)]
    assert len(shown) == 1 and app.key_start in shown[0] and "not shown again" in shown[0]
    key = shown[0].split(" is ", 1)[1].split(":", 1)[0]
    assert (
        client.get("/api/v1/sections/", headers={"Authorization": f"Bearer {key}"}).status_code
        == 200
    )
