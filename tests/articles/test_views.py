"""Public pages: what readers see, what they must not see, and what each page costs."""

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from articles.models import Article, Correction, Section
from articles.views import LATEST_ON_HOME
from pictures.models import Embed
from tests.accounts.factories import AuthorFactory
from tests.articles.factories import ArticleFactory
from tests.pictures.factories import ImageFactory

pytestmark = pytest.mark.django_db


def h1_count(html: str) -> int:
    return len(re.findall(r"<h1[\s>]", html))


def test_article_page_shows_the_story_with_byline_and_dates(client):
    author = AuthorFactory(name="Maggie Thornbury")
    article = ArticleFactory(
        headline="Seagulls steal chips",
        standfirst="Brazen birds strike again.",
        authors=[author],
        tags=["seaside"],
    )
    response = client.get(article.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert '<h1 class="story__headline">Seagulls steal chips</h1>' in html
    assert "Brazen birds strike again." in html
    assert f'By <a href="{author.get_absolute_url()}" rel="author">Maggie Thornbury</a>' in html
    assert f'datetime="{timezone.localtime(article.published_at):%Y-%m-%dT%H:%M:%S%z}"' in html
    assert '<a href="/tags/seaside/" rel="tag">seaside</a>' in html
    assert h1_count(html) == 1


def test_body_renders_quotes_teasers_signup_and_navigation(client):
    target = ArticleFactory(headline="Keeper catches zebra")
    article = ArticleFactory(
        headline="Zebra escapes zoo",
        body=(
            "<p>A zebra escaped.</p><blockquote><p>“Stripes everywhere,” he said.</p></blockquote>"
            '<p class="teaser">Keeper catches zebra</p>'
            '<p class="teaser">A story we never ran</p>'
            '<p class="newsletter-signup">Sign-up box</p><p>More later.</p>'
        ),
        previous_title="Keeper catches zebra",
        next_title="Lion learns to knit",
        source_name="The Bugle",
        source_url="https://bugle.example/zebra",
    )
    html = client.get(article.get_absolute_url()).content.decode()
    assert "<blockquote><p>“Stripes everywhere,” he said.</p></blockquote>" in html
    assert f'<a href="{target.get_absolute_url()}">Keeper catches zebra</a>' in html
    assert '<span class="teaser__title">A story we never ran</span>' in html
    form = re.search(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', html, re.S)
    assert form and form.group(1) == reverse("newsletters:signup")
    assert 'type="email" name="email"' in form.group(2)
    # Everything stays in the order it was written.
    order = [
        html.index(s)
        for s in ("A zebra escaped", "Stripes", "Keeper catches", '<form method="post"')
    ]
    assert order == sorted(order) and html.index("<form") < html.index("More later.")
    assert f'<a rel="prev" href="{target.get_absolute_url()}">Keeper catches zebra</a>' in html
    assert "<span>Lion learns to knit</span>" in html
    assert '<a href="https://bugle.example/zebra" rel="noopener">The Bugle</a>' in html


@pytest.mark.parametrize("trait", ["draft", "in_review", "scheduled"])
def test_unpublished_and_future_stories_are_404_for_readers(client, trait):
    article = ArticleFactory(**{trait: True})
    if article.published_at is None:
        article.published_at = timezone.now() - timedelta(days=1)  # a URL must exist to try
    response = client.get(article.get_absolute_url())
    assert response.status_code == 404
    assert article.headline not in client.get("/").content.decode()
    assert article.headline not in client.get(article.section.get_absolute_url()).content.decode()


def test_a_scheduled_story_appears_by_itself_when_its_time_comes(client, time_machine):
    article = ArticleFactory(scheduled=True)
    assert client.get(article.get_absolute_url()).status_code == 404
    time_machine.move_to(article.published_at + timedelta(seconds=1))
    assert client.get(article.get_absolute_url()).status_code == 200
    assert article.headline in client.get("/").content.decode()


def test_published_is_the_one_definition_of_visibility():
    now = timezone.now()
    visible = ArticleFactory(published_at=now - timedelta(minutes=1))
    ArticleFactory(published_at=now + timedelta(minutes=1))
    ArticleFactory(draft=True)
    ArticleFactory(status=Article.Status.REVIEW, published_at=now - timedelta(days=1))
    assert list(Article.objects.published(now=now)) == [visible]


def test_wrong_section_in_the_url_redirects_to_the_canonical_address(client):
    article = ArticleFactory()
    response = client.get(reverse("articles:detail", args=["sport", article.slug]))
    assert response.status_code == 301
    assert response["Location"] == article.get_absolute_url()


def test_home_shows_the_featured_lead_and_latest_stories(client):
    older_lead = ArticleFactory(
        headline="The big one", is_featured=True, published_at=timezone.now() - timedelta(days=2)
    )
    latest = ArticleFactory(headline="Fresh off the press")
    html = client.get("/").content.decode()
    assert html.index(older_lead.headline) < html.index(latest.headline)
    assert 'class="lead__headline"' in html and h1_count(html) == 1


def test_section_page_lists_only_its_stories(client):
    sport = Section.objects.get(slug="sport")
    mine = ArticleFactory(section=sport, headline="Darts drama")
    other = ArticleFactory(headline="Council news")
    html = client.get(sport.get_absolute_url()).content.decode()
    assert mine.headline in html and other.headline not in html
    assert h1_count(html) == 1


def test_unicode_slugs_resolve(client):
    article = ArticleFactory(headline="Κατσίκες στο χωριό Μικροβουνάκι")
    assert article.slug == "κατσίκες-στο-χωριό-μικροβουνάκι"
    assert client.get(article.get_absolute_url()).status_code == 200


def test_unknown_pages_get_the_friendly_404(client):
    response = client.get("/no-such-section/")
    assert response.status_code == 404
    assert "We can't find that page" in response.content.decode()


def build_stories(count: int):
    """`count` stories, each with its picture (renditions marked made: no files needed to
    count queries), three bylines, tags, related stories, a correction, and a body holding a
    picture, a gallery of three and an embed, all different for every story."""
    authors = AuthorFactory.create_batch(3)
    stories = []
    for i in range(count):
        inline, *gallery = ImageFactory.create_batch(4, renditions="key-only")
        thumbnail = ImageFactory(renditions="key-only", licence="embed")
        link = f"https://www.youtube.com/watch?v=video{thumbnail.pk:06d}"
        Embed.objects.create(url=link, provider="YouTube", kind="video", thumbnail=thumbnail)
        body = (
            f'<p>The council said nothing.</p><p class="picture">Picture {inline.pk}</p>'
            f'<p class="gallery">Gallery {", ".join(str(g.pk) for g in gallery)}</p>'
            f'<p class="embed">{link}</p>'
        )
        stories.append(
            ArticleFactory(
                authors=authors,
                tags=[f"tag{i}", "common", f"other{i}"],
                hero_image=ImageFactory(renditions="key-only"),
                body=body,
            )
        )
    for story in stories:
        story.related.set(stories[:3])
        Correction.objects.create(article=story, text=f"We misspelt {story.headline}.")
    return stories


def queries_for(client, url) -> int:
    cache.clear()  # measure a page being made, not served from the page cache
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


# Queries per page before pictures came (stories without any): pictures on every card, and in
# the body, must not cost more, except the story page's one query for its body's pictures and
# embeds together.
BEFORE_PICTURES = {
    "home": 10,
    "section": 6,
    "article": 7,
    "tag": 6,
    "author": 6,
    "archive": 5,
    "search": 5,
    "corrections": 4,
    "feed": 3,
    "section-feed": 4,
    "sitemap": 3,
    "news-sitemap": 4,
}
BODY_MEDIA_QUERY = {"article": 1}
# A story page finds its chosen related stories' ids first (a query on the link table, cheaper
# than a prefetch), then loads them if there are any, as here: on a page without chosen stories
# (most; the importer chooses none) that second query is the section's rail instead.
CHOSEN_RELATED_QUERY = {"article": 1}
# The breaking-news banner on every page: one query when it is not in the cache (here, where
# the cache is emptied before each page; then it is kept for every page). The home page had
# its own query for the banner before.
BANNER_QUERY = dict.fromkeys(["section", "article", "tag", "author", "archive", "search"], 1)
BANNER_QUERY |= {"corrections": 1}
# A listing reads its stories' ids and times, then loads the cards it has not kept (here, with
# the cache emptied, all of them; on most pages made afresh, none: articles.cards). The home
# page had that query before, for its latest stories and rails together.
CARDS_QUERY = dict.fromkeys(["section", "tag", "author", "archive"], 1)
PAGES = [
    "home",
    "section",
    "article",
    "tag",
    "author",
    "archive",
    "search",
    "corrections",
    "feed",
    "section-feed",
    "sitemap",
    "news-sitemap",
]


@pytest.mark.parametrize("page", PAGES)
def test_page_query_count_does_not_grow_with_stories_tags_or_authors(client, page):
    def url(stories):
        story = stories[0]
        when = timezone.localtime(story.published_at)
        return {
            "home": "/",
            "section": story.section.get_absolute_url(),
            "article": story.get_absolute_url(),
            "tag": reverse("articles:tag", args=["common"]),
            "author": story.authors.first().get_absolute_url(),
            "archive": reverse("articles:archive-month", args=[when.year, when.month]),
            "search": reverse("articles:search") + "?q=council",
            "corrections": reverse("articles:corrections"),
            "feed": reverse("articles:feed-rss"),
            "section-feed": reverse("articles:section-feed-atom", args=[story.section.slug]),
            "sitemap": reverse("articles:sitemap", args=["articles"]),
            "news-sitemap": reverse("articles:sitemap-news"),
        }[page]

    # At least one row in every list: on the home page the lead and the latest stories come
    # before the section rails.
    extra = 1 + LATEST_ON_HOME if page == "home" else 0
    few = build_stories(1 + extra)
    count_one = queries_for(client, url(few))
    Article.objects.all().delete()
    many = build_stories(20 + extra)
    count_many = queries_for(client, url(many))
    assert count_one == count_many
    bound = BEFORE_PICTURES[page] + BODY_MEDIA_QUERY.get(page, 0) + BANNER_QUERY.get(page, 0)
    bound += CARDS_QUERY.get(page, 0)
    assert count_many <= bound + CHOSEN_RELATED_QUERY.get(page, 0)


def test_pictures_are_on_every_card_and_in_the_story(client):
    stories = build_stories(3)
    home = client.get("/").content.decode()
    for story in stories:
        assert f'alt="{story.hero_image.alt_text}"' in home
    assert home.count("<picture") >= 3
    assert 'fetchpriority="high"' in home and home.count('fetchpriority="high"') == 1
    assert 'loading="lazy"' in home
    page = client.get(stories[0].get_absolute_url()).content.decode()
    assert page.count('class="story__figure"') == 1
    assert page.count('class="gallery__item"') == 3
    assert 'class="embed embed--video"' in page
    assert "<iframe" not in page and "youtube.com/embed" not in page


@pytest.mark.parametrize(
    "path",
    ["/archive/9999/12/", "/archive/9999/12/31/", "/archive/99999999999999999999/1/"],
)
def test_archive_dates_past_the_calendar_are_not_found_not_an_error(client, path):
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("name", ["!!!", "🔥", "…"])
def test_a_tag_of_symbols_alone_gets_a_page_and_its_stories_show(client, name):
    article = ArticleFactory(headline="Fire at the pier", tags=[name])
    tag = article.tags.get()
    assert tag.slug.startswith("tag-")
    assert client.get(article.get_absolute_url()).status_code == 200
    page = client.get(reverse("articles:tag", args=[tag.slug]))
    assert page.status_code == 200 and "Fire at the pier" in page.content.decode()


@pytest.mark.parametrize("with_embed", [False, True], ids=["pictures", "pictures-and-embed"])
def test_a_story_page_costs_the_same_with_one_body_picture_or_twenty(client, with_embed):
    def story(pictures: int):
        images = ImageFactory.create_batch(pictures, renditions="key-only")
        body = f'<p>Look.</p><p class="gallery">Gallery {", ".join(str(i.pk) for i in images)}</p>'
        if with_embed:
            thumbnail = ImageFactory(renditions="key-only", licence="embed")
            link = f"https://www.youtube.com/watch?v=clip{thumbnail.pk:07d}"
            Embed.objects.create(url=link, provider="YouTube", kind="video", thumbnail=thumbnail)
            body += f'<p class="embed">{link}</p>'
        article = ArticleFactory(body=body)
        article.related.set([ArticleFactory(hero_image=ImageFactory(renditions="key-only"))])
        return article

    one = queries_for(client, story(1).get_absolute_url())
    twenty = queries_for(client, story(20).get_absolute_url())
    bound = BEFORE_PICTURES["article"] + BODY_MEDIA_QUERY["article"] + BANNER_QUERY["article"]
    assert one == twenty <= bound + CHOSEN_RELATED_QUERY["article"]


def test_the_navigation_is_kept_until_a_section_changes(client, django_capture_on_commit_callbacks):
    story = ArticleFactory()
    weather = Section.objects.create(name="Weather", slug="weather", order=99)

    def navigation(url):  # each URL once: made afresh, never from the page cache
        with CaptureQueriesContext(connection) as captured:
            html = client.get(url).content.decode()
        asked = any('FROM "articles_section" ORDER BY' in q["sql"] for q in captured)
        return re.findall(r'<nav class="sections".*?</nav>', html, re.S)[0], asked

    first, asked = navigation("/")
    assert "Weather" in first and asked
    again, asked = navigation(story.get_absolute_url())
    assert again.replace(' aria-current="page"', "") == first and not asked
    with django_capture_on_commit_callbacks(execute=True):
        weather.name = "Weather and tides"
        weather.save()
    renamed, asked = navigation("/?after-the-change")
    assert "Weather and tides" in renamed and asked


def test_a_sponsored_story_says_so_on_its_page_and_on_its_card(client):
    import lxml.html

    paid = ArticleFactory(headline="Ten reasons to love Pier Ices", sponsored=True)
    ArticleFactory(headline="Gulls strike again")

    page = client.get(paid.get_absolute_url()).content.decode()
    assert lxml.html.document_fromstring(page).find_class("badge-sponsored")[0].text == "Sponsored"
    home = lxml.html.document_fromstring(client.get("/").content)
    # One badge on the home page, on the paid-for story's card and no other.
    [badge] = home.find_class("badge-sponsored")
    [card] = badge.xpath("ancestor::article[1]")
    assert "Ten reasons to love Pier Ices" in card.text_content()
    assert "Gulls strike again" not in card.text_content()
    assert "Gulls strike again" in home.text_content()
