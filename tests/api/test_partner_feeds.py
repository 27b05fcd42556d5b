"""Partners' feeds, read back with feedparser as an aggregator reads them: the stories agreed
(sections; never sponsored, on legal hold, not for syndication or first published elsewhere),
full text or summaries, pictures as Media RSS with their credit, stable GUIDs, last changes,
secret addresses, and a fixed number of queries however many stories it carries."""

from datetime import timedelta

import feedparser
import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.models import PartnerFeed
from articles.models import Article, Section
from tests.articles.admin_forms import article_post_data
from tests.articles.factories import ArticleFactory
from tests.pictures.factories import ImageFactory

pytestmark = pytest.mark.django_db


def read(client, feed: PartnerFeed, status: int = 200):
    response = client.get(feed.get_absolute_url())
    assert response.status_code == status
    if status != 200:
        return response
    assert set(response["Cache-Control"].split(", ")) == {"private", "max-age=300"}
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


@pytest.fixture
def sport():
    return Section.objects.get_or_create(slug="sport", defaults={"name": "Sport"})[0]


def test_a_full_text_feed_carries_the_agreed_stories_whole_with_their_pictures(client, sport):
    inline = ImageFactory(caption="The winning goal", credit="Pitch Pics")
    hero = ImageFactory(credit="Racket Pictures")
    story = ArticleFactory(
        headline="Pier United win the cup",
        section=sport,
        hero_image=hero,
        body=(
            "<p>The final whistle <strong>went</strong> at five.</p>"
            '<p class="teaser">Pier United sign a gull</p>'
            '<p class="newsletter-signup">Sign up</p>'
            f'<p class="picture">Picture {inline.pk}</p>'
            "<p>Fans danced on the pier.</p>"
        ),
    )
    for flag in ("sponsored", "legal_hold", "no_syndication"):
        ArticleFactory(headline=f"Kept back: {flag}", section=sport, **{flag: True})
    ArticleFactory(headline="Kept back: syndicated", section=sport, source_name="The Echo")
    ArticleFactory(headline="Kept back: another section")
    ArticleFactory(
        headline="Kept back: scheduled",
        section=sport,
        published_at=timezone.now() + timedelta(hours=1),
    )
    ArticleFactory(headline="Kept back: draft", section=sport, status=Article.Status.DRAFT)
    feed = PartnerFeed.objects.create(name="Goal App", slug="goal-app", full_text=True)
    feed.sections.set([sport])

    parsed = read(client, feed)

    assert [entry.title for entry in parsed.entries] == ["Pier United win the cup"]
    [entry] = parsed.entries
    assert entry.id == f"{settings.SITE_URL}/story/{story.pk}" and not entry.guidislink
    assert entry.link.endswith(story.get_absolute_url())
    [body] = [part.value for part in entry.content if part.type == "text/html"]
    assert "The final whistle <strong>went</strong> at five." in body
    assert "Fans danced on the pier." in body
    assert "Pier United sign a gull" not in body and "Sign up" not in body
    assert f"/renditions/{inline.pk}/{inline.rendition_key}/wide-1200.jpeg" in body
    assert "<figcaption>The winning goal · Pitch Pics</figcaption>" in body
    assert entry.media_credit[0]["content"] == "Racket Pictures"
    assert entry.updated_parsed is not None


def test_a_summary_feed_without_pictures_carries_neither_body_nor_pictures(client):
    ArticleFactory(
        headline="Gulls again", standfirst="They are back.", hero_image=ImageFactory(),
        body="<p>Every word of the story.</p>",
    )  # fmt: skip
    feed = PartnerFeed.objects.create(name="Flipper", slug="flipper", pictures=False)

    [entry] = read(client, feed).entries

    assert entry.summary == "They are back."
    assert "content" not in entry and "media_content" not in entry


def test_a_wrong_or_old_address_and_a_switched_off_feed_are_not_found(client, admin_client):
    ArticleFactory()
    feed = PartnerFeed.objects.create(name="Newsy", slug="newsy")
    old = feed.get_absolute_url()
    wrong = feed.token[:-1] + ("x" if feed.token[-1] != "x" else "y")  # never the token itself
    assert client.get(old.replace(feed.token, wrong)).status_code == 404

    admin_client.post(
        "/admin/api/partnerfeed/",
        {"action": "new_addresses", "_selected_action": [feed.pk]},
    )
    feed.refresh_from_db()
    assert client.get(old).status_code == 404
    read(client, feed)  # the new one works

    PartnerFeed.objects.filter(pk=feed.pk).update(is_active=False)
    read(client, feed, status=404)


def test_the_admin_shows_the_address_to_give_the_partner(admin_client, settings):
    settings.SITE_URL = "https://racket.example"
    feed = PartnerFeed.objects.create(name="Newsy", slug="newsy")
    page = admin_client.get(f"/admin/api/partnerfeed/{feed.pk}/change/").content.decode()
    assert f"https://racket.example/partners/feeds/newsy/{feed.token}/rss/" in page


def test_an_editor_keeps_a_story_from_partners_in_the_story_form(admin_client, client):
    story = ArticleFactory(headline="Lawyers are reading this")
    feed = PartnerFeed.objects.create(name="Newsy", slug="newsy")
    assert [e.title for e in read(client, feed).entries] == ["Lawyers are reading this"]
    response = admin_client.post(
        f"/admin/articles/article/{story.pk}/change/",
        article_post_data(story, legal_hold=True),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    story.refresh_from_db()
    assert story.legal_hold and not story.sponsored
    assert read(client, feed).entries == []
    assert client.get(story.get_absolute_url()).status_code == 200  # readers still see it


def test_a_feed_costs_the_same_queries_for_one_story_as_for_twenty(client):
    def stories(count):
        Article.objects.all().delete()
        for _ in range(count):
            pictures = [ImageFactory(renditions="key-only") for _ in range(2)]
            gallery = f'<p class="gallery">Gallery {pictures[0].pk}, {pictures[1].pk}</p>'
            ArticleFactory(hero_image=pictures[0], body=f"<p>Text.</p>{gallery}")

    feed = PartnerFeed.objects.create(name="Counted", slug="counted", full_text=True)
    stories(1)
    with CaptureQueriesContext(connection) as one:
        assert len(read(client, feed).entries) == 1
    stories(20)
    with CaptureQueriesContext(connection) as twenty:
        assert len(read(client, feed).entries) == 20
    assert len(one) == len(twenty) <= 5, [q["sql"] for q in twenty]
