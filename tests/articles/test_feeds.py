"""RSS and Atom feeds, read back with a real feed parser, and the pages that advertise them."""

import calendar
import html
import re
from datetime import timedelta
from urllib.parse import urlsplit
from xml.etree import ElementTree

import feedparser
import lxml.html
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from articles.models import Article, Section
from tests.accounts.factories import AuthorFactory
from tests.articles.factories import ArticleFactory

pytestmark = pytest.mark.django_db

FEED_TYPES = {"rss": "application/rss+xml", "atom": "application/atom+xml"}


def parse_feed(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    feed = feedparser.parse(response.content)
    assert not feed.bozo, f"{url} is not well-formed: {feed.get('bozo_exception')}"
    return feed


def absolute(path):
    return f"http://testserver{path}"


def timestamp(struct_time):
    return calendar.timegm(struct_time)


def seconds(moment):
    return int(moment.timestamp())


@pytest.fixture
def newsroom():
    """Two published stories by one author with one tag, and every kind of story that must not
    reach a feed, all with the same author, tag and section."""
    now = timezone.now().replace(microsecond=0)
    author = AuthorFactory(name="Maggie Thornbury")
    common = {"authors": [author], "tags": ["seagulls"]}
    older = ArticleFactory(
        headline="Seagulls circle the pier",
        standfirst="Day one of the siege.",
        published_at=now - timedelta(hours=5),
        **common,
    )
    newer = ArticleFactory(
        headline="Seagulls seize the chip shop",
        standfirst="The siege ends badly.",
        published_at=now - timedelta(hours=1),
        revised_at=now - timedelta(minutes=10),
        **common,
    )
    hidden = [
        ArticleFactory(headline="A draft nobody approved", draft=True, **common),
        ArticleFactory(headline="A story still in review", in_review=True, **common),
        ArticleFactory(
            headline="A story withdrawn after publication",
            status=Article.Status.DRAFT,
            published_at=now - timedelta(hours=2),
            **common,
        ),
        ArticleFactory(
            headline="A review story with a past time",
            status=Article.Status.REVIEW,
            published_at=now - timedelta(hours=2),
            **common,
        ),
        ArticleFactory(headline="Tomorrow's scoop", scheduled=True, **common),
    ]
    return {"author": author, "older": older, "newer": newer, "hidden": hidden}


def feed_urls(kind, newsroom):
    section = newsroom["newer"].section
    return {
        "site": reverse(f"articles:feed-{kind}"),
        "section": reverse(f"articles:section-feed-{kind}", args=[section.slug]),
        "tag": reverse(f"articles:tag-feed-{kind}", args=["seagulls"]),
        "author": reverse(f"articles:author-feed-{kind}", args=[newsroom["author"].slug]),
    }


@pytest.mark.parametrize("kind", ["rss", "atom"])
@pytest.mark.parametrize("scope", ["site", "section", "tag", "author"])
def test_feed_lists_published_stories_newest_first_with_absolute_links(
    client, newsroom, kind, scope
):
    feed = parse_feed(client, feed_urls(kind, newsroom)[scope])
    expected = [newsroom["newer"], newsroom["older"]]
    assert [entry.title for entry in feed.entries] == [a.headline for a in expected]
    assert [entry.link for entry in feed.entries] == [
        absolute(a.get_absolute_url()) for a in expected
    ]
    for entry in feed.entries:
        assert client.get(urlsplit(entry.link).path).status_code == 200


@pytest.mark.parametrize("kind", ["rss", "atom"])
@pytest.mark.parametrize("scope", ["site", "section", "tag", "author"])
def test_feed_never_carries_drafts_stories_in_review_or_scheduled_stories(
    client, newsroom, kind, scope
):
    url = feed_urls(kind, newsroom)[scope]
    titles = {entry.title for entry in parse_feed(client, url).entries}
    assert titles, "the feed should not be empty"
    text = client.get(url).content.decode()
    for story in newsroom["hidden"]:
        assert story.headline not in titles
        assert story.slug not in text


@pytest.mark.parametrize("kind", ["rss", "atom"])
def test_feed_entries_carry_publication_date_author_and_summary(client, newsroom, kind):
    feed = parse_feed(client, reverse(f"articles:feed-{kind}"))
    newer, older = newsroom["newer"], newsroom["older"]
    first, second = feed.entries
    assert timestamp(first.published_parsed) == seconds(newer.published_at)
    assert timestamp(second.published_parsed) == seconds(older.published_at)
    assert first.author == "Maggie Thornbury"
    assert first.summary == "The siege ends badly."
    # Identifiers are stable whatever happens to the slug.
    assert first.id == f"{settings.SITE_URL}/story/{newer.pk}"


def test_atom_entries_are_updated_at_the_shown_revision_time(client, newsroom):
    feed = parse_feed(client, reverse("articles:feed-atom"))
    newer, older = newsroom["newer"], newsroom["older"]
    first, second = feed.entries
    assert timestamp(first.updated_parsed) == seconds(newer.revised_at)
    # Never revised: updated when published.
    assert timestamp(second.updated_parsed) == seconds(older.published_at)
    assert timestamp(feed.feed.updated_parsed) == seconds(newer.revised_at)


def test_rss_channel_describes_the_site(client, newsroom):
    feed = parse_feed(client, reverse("articles:feed-rss"))
    assert feed.version == "rss20"
    assert feed.feed.title == f"{settings.SITE_NAME}: latest stories"
    assert feed.feed.link == absolute("/")
    assert timestamp(feed.feed.updated_parsed) == seconds(newsroom["newer"].revised_at)


def test_atom_feed_has_title_subtitle_and_alternate_link(client, newsroom):
    feed = parse_feed(client, reverse("articles:feed-atom"))
    assert feed.version == "atom10"
    assert feed.feed.title == f"{settings.SITE_NAME}: latest stories"
    assert feed.feed.subtitle == f"The newest stories from {settings.SITE_NAME}."
    assert feed.feed.link == absolute("/")


@pytest.mark.parametrize("kind", ["rss", "atom"])
def test_section_tag_and_author_feeds_are_titled_and_linked_to_their_page(client, newsroom, kind):
    section = newsroom["newer"].section
    author = newsroom["author"]
    urls = feed_urls(kind, newsroom)
    expectations = {
        "section": (f"{settings.SITE_NAME}: {section.name}", section.get_absolute_url()),
        "tag": (
            f"{settings.SITE_NAME}: stories tagged seagulls",
            reverse("articles:tag", args=["seagulls"]),
        ),
        "author": (
            f"{settings.SITE_NAME}: stories by Maggie Thornbury",
            author.get_absolute_url(),
        ),
    }
    for scope, (title, page) in expectations.items():
        feed = parse_feed(client, urls[scope])
        assert feed.feed.title == title
        assert feed.feed.link == absolute(page)


def test_section_feed_holds_only_that_sections_stories(client):
    sport = Section.objects.get(slug="sport")
    darts = ArticleFactory(section=sport, headline="Darts drama at the Dog and Duck")
    ArticleFactory(headline="Council news")
    for kind in ("rss", "atom"):
        feed = parse_feed(client, reverse(f"articles:section-feed-{kind}", args=["sport"]))
        assert [entry.title for entry in feed.entries] == [darts.headline]


def test_several_authors_are_all_named(client):
    ArticleFactory(authors=[AuthorFactory(name="Ann Alpha"), AuthorFactory(name="Bob Beta")])
    for kind in ("rss", "atom"):
        (entry,) = parse_feed(client, reverse(f"articles:feed-{kind}")).entries
        assert {name.strip() for name in entry.author.split(",")} == {"Ann Alpha", "Bob Beta"}


def test_a_story_without_standfirst_is_summarised_from_its_body(client):
    ArticleFactory(standfirst="", body="<p>Short and <strong>sweet</strong>.</p>")
    long_body = "<p>" + " ".join(f"word{i}" for i in range(100)) + "</p>"
    ArticleFactory(standfirst="", body=long_body, published_at=timezone.now() - timedelta(days=1))
    short, long = parse_feed(client, reverse("articles:feed-rss")).entries
    # Nothing was cut, so nothing claims to be cut.
    assert short.summary.startswith("Short and sweet")
    assert "…" not in short.summary
    assert long.summary.split()[:60] == [f"word{i}" for i in range(60)]
    assert "word60" not in long.summary
    assert long.summary.endswith("…")


def test_a_story_with_a_greek_slug_has_a_working_link(client):
    article = ArticleFactory(headline="Κατσίκες στο χωριό")
    for kind in ("rss", "atom"):
        (entry,) = parse_feed(client, reverse(f"articles:feed-{kind}")).entries
        assert entry.title == "Κατσίκες στο χωριό"
        response = client.get(urlsplit(entry.link).path)
        assert response.status_code == 200
        page = lxml.html.document_fromstring(response.content.decode())
        assert page.findtext(".//h1") == article.headline


@pytest.mark.parametrize("kind", ["rss", "atom"])
@pytest.mark.parametrize("name", ["section-feed", "tag-feed", "author-feed"])
def test_feed_of_an_unknown_section_tag_or_author_is_404(client, kind, name):
    assert client.get(reverse(f"articles:{name}-{kind}", args=["no-such-thing"])).status_code == 404


# Feed discovery ----------------------------------------------------------------------------


def advertised_feeds(html: str) -> set[tuple[str, str]]:
    head = lxml.html.document_fromstring(html).head
    return {
        (link.get("type"), link.get("href"))
        for link in head.iterfind("link")
        if link.get("rel") == "alternate" and link.get("type") in FEED_TYPES.values()
    }


def public_pages(newsroom):
    story = newsroom["newer"]
    section = story.section
    author = newsroom["author"]
    return {
        "home": ("/", [("feed", ())]),
        "section": (
            section.get_absolute_url(),
            [("feed", ()), ("section-feed", (section.slug,))],
        ),
        "tag": (
            reverse("articles:tag", args=["seagulls"]),
            [("feed", ()), ("tag-feed", ("seagulls",))],
        ),
        "author": (author.get_absolute_url(), [("feed", ()), ("author-feed", (author.slug,))]),
        "article": (story.get_absolute_url(), [("feed", ())]),
    }


@pytest.mark.parametrize("page", ["home", "section", "tag", "author", "article"])
def test_public_pages_advertise_rss_and_atom_feeds_in_the_head(client, newsroom, page):
    url, feeds = public_pages(newsroom)[page]
    response = client.get(url)
    assert response.status_code == 200
    found = advertised_feeds(response.content.decode())
    for name, args in feeds:
        for kind, mime in FEED_TYPES.items():
            assert (mime, reverse(f"articles:{name}-{kind}", args=args)) in found
    # Every advertised feed is a real feed of the advertised kind.
    for mime, href in found:
        feed = parse_feed(client, href)
        assert feed.version == ("atom10" if mime == FEED_TYPES["atom"] else "rss20")
        assert feed.entries


def test_control_characters_in_a_story_cannot_break_the_feeds_or_the_news_sitemap(client):
    # A headline pasted from a word processor (a vertical tab) and a body with a stray control
    # character; and a row written around the models (a bulk update, a script), which only
    # the feed and sitemap writers themselves can stop.
    saved = ArticleFactory(headline="Line\x0bbreak headline", body="<p>Body \x02 text</p>")
    raw = ArticleFactory(headline="Raw row")
    Article.objects.filter(pk=raw.pk).update(headline="Raw\x0b row\x1f", standfirst="Bad\x02")

    assert Article.objects.get(pk=saved.pk).headline == "Line break headline"
    for name in ("articles:feed-rss", "articles:feed-atom", "articles:sitemap-news"):
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        root = ElementTree.fromstring(response.content)  # well-formed XML, or this raises
        text = "".join(root.itertext())
        assert "Line break headline" in text and "Raw row" in text
        assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", response.content.decode())
    section = saved.section.slug
    assert client.get(reverse("articles:section-feed-rss", args=[section])).status_code == 200


def test_a_summary_is_sent_as_html_so_readers_show_its_text_as_written(client):
    ArticleFactory(standfirst="Tom & Jerry <3 <b>not bold</b>")
    for name in ("articles:feed-rss", "articles:feed-atom"):
        [entry] = feedparser.parse(client.get(reverse(name)).content).entries
        # The reader takes the summary for HTML; unescaped, it is the plain text again.
        assert html.unescape(entry.summary) == "Tom & Jerry <3 <b>not bold</b>"


@pytest.mark.parametrize("name", ["articles:feed-rss", "articles:feed-atom"])
def test_each_item_carries_its_picture_as_media_rss_with_its_credit(client, name):
    import feedparser

    from tests.pictures.factories import ImageFactory

    picture = ImageFactory(
        file__width=1600, file__height=900, alt_text="A gull on a bin", credit="Pier Cam"
    )
    ArticleFactory(headline="Gull raids bin", hero_image=picture)
    ArticleFactory(headline="No picture here")

    feed = feedparser.parse(client.get(reverse(name)).content)

    by_title = {entry.title: entry for entry in feed.entries}
    [content] = by_title["Gull raids bin"].media_content
    assert content["url"].endswith(
        f"/renditions/{picture.pk}/{picture.rendition_key}/wide-1200.jpeg"
    )
    assert (content["medium"], content["type"]) == ("image", "image/jpeg")
    assert (content["width"], content["height"]) == ("1200", "675")
    assert by_title["Gull raids bin"].media_credit[0]["content"] == "Pier Cam"
    assert "media_content" not in by_title["No picture here"]
