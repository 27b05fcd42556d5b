"""XML sitemaps, the Google News sitemap and robots.txt, read back with an XML parser."""

from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.utils import timezone
from lxml import etree

from articles.models import Article, Section
from tests.articles.factories import ArticleFactory

pytestmark = pytest.mark.django_db

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
NS = {"sm": SITEMAP_NS, "news": NEWS_NS}


def parse_xml(client, url) -> etree._Element:
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"].startswith("application/xml")
    return etree.fromstring(response.content)


def path_of(url: str) -> str:
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("http", "testserver"), f"{url} is not absolute"
    return parts.path + (f"?{parts.query}" if parts.query else "")


def urls_in(urlset) -> dict[str, etree._Element]:
    return {url.findtext("sm:loc", namespaces=NS): url for url in urlset.iterfind("sm:url", NS)}


def absolute(path):
    return f"http://testserver{path}"


@pytest.fixture
def stories():
    now = timezone.now()
    return {
        "fresh": ArticleFactory(
            headline="Fresh: pier collapses", published_at=now - timedelta(hours=1)
        ),
        "yesterday": ArticleFactory(
            headline="Yesterday's fish & chips <scandal>",
            published_at=now - timedelta(hours=40),
            section=Section.objects.get(slug="sport"),
        ),
        "old": ArticleFactory(headline="Last week's news", published_at=now - timedelta(days=7)),
        "draft": ArticleFactory(headline="Unapproved draft", draft=True),
        "review": ArticleFactory(headline="Waiting for the lawyers", in_review=True),
        "withdrawn": ArticleFactory(
            headline="Withdrawn story",
            status=Article.Status.DRAFT,
            published_at=now - timedelta(hours=3),
        ),
        "scheduled": ArticleFactory(headline="Tomorrow's scoop", scheduled=True),
    }


HIDDEN = ("draft", "review", "withdrawn", "scheduled")


def test_sitemap_index_lists_each_sitemap_and_the_news_sitemap(client, stories):
    index = parse_xml(client, "/sitemap.xml")
    assert etree.QName(index).localname == "sitemapindex"
    assert etree.QName(index).namespace == SITEMAP_NS
    locations = [loc.text for loc in index.iterfind("sm:sitemap/sm:loc", NS)]
    assert sorted(locations) == sorted(
        absolute(f"/sitemap-{name}.xml") for name in ("home", "sections", "articles", "news")
    )
    for location in locations:
        root = parse_xml(client, path_of(location))
        assert etree.QName(root).localname == "urlset"


def test_article_sitemap_lists_published_stories_with_lastmod(client, stories):
    urlset = parse_xml(client, "/sitemap-articles.xml")
    urls = urls_in(urlset)
    visible = [stories[name] for name in ("fresh", "yesterday", "old")]
    assert set(urls) == {absolute(story.get_absolute_url()) for story in visible}
    for story in visible:
        lastmod = urls[absolute(story.get_absolute_url())].findtext("sm:lastmod", namespaces=NS)
        assert lastmod == timezone.localtime(story.updated_at).date().isoformat()
    for location in urls:
        assert client.get(path_of(location)).status_code == 200


def test_article_sitemap_leaves_out_drafts_review_withdrawn_and_scheduled_stories(client, stories):
    text = client.get("/sitemap-articles.xml").content.decode()
    for name in HIDDEN:
        assert stories[name].slug not in text


def test_sections_and_home_sitemaps_list_every_section_and_the_front_page(client):
    sections = urls_in(parse_xml(client, "/sitemap-sections.xml"))
    assert set(sections) == {absolute(s.get_absolute_url()) for s in Section.objects.all()}
    assert set(urls_in(parse_xml(client, "/sitemap-home.xml"))) == {absolute("/")}


def test_unknown_sitemap_is_404(client):
    assert client.get("/sitemap-nonsense.xml").status_code == 404


def test_news_sitemap_lists_only_the_last_two_days_of_published_stories(client, stories):
    urlset = parse_xml(client, "/sitemap-news.xml")
    urls = urls_in(urlset)
    assert list(urls) == [
        absolute(stories["fresh"].get_absolute_url()),
        absolute(stories["yesterday"].get_absolute_url()),
    ]


def test_news_sitemap_entries_have_google_news_details_in_their_namespace(client, stories):
    urlset = parse_xml(client, "/sitemap-news.xml")
    assert urlset.nsmap.get("news") == NEWS_NS
    for story in (stories["fresh"], stories["yesterday"]):
        url = urls_in(urlset)[absolute(story.get_absolute_url())]
        (news,) = url.findall("news:news", NS)
        assert news.findtext("news:publication/news:name", namespaces=NS) == settings.SITE_NAME
        assert news.findtext("news:publication/news:language", namespaces=NS) == "en"
        published = datetime.fromisoformat(news.findtext("news:publication_date", namespaces=NS))
        assert published.tzinfo is not None
        assert published == story.published_at
        # The title is the headline as written, markup characters and all.
        assert news.findtext("news:title", namespaces=NS) == story.headline
        # The news elements are in the news namespace, not the sitemap one.
        assert url.find("sm:news", NS) is None and url.find("sm:title", NS) is None


def test_news_sitemap_forgets_a_story_after_two_days(client, time_machine):
    story = ArticleFactory()
    assert absolute(story.get_absolute_url()) in urls_in(parse_xml(client, "/sitemap-news.xml"))
    time_machine.move_to(story.published_at + timedelta(days=2, minutes=1))
    # Stays in the full sitemap, leaves the news one.
    assert absolute(story.get_absolute_url()) in urls_in(parse_xml(client, "/sitemap-articles.xml"))
    assert urls_in(parse_xml(client, "/sitemap-news.xml")) == {}


# robots.txt --------------------------------------------------------------------------------


def robots(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    lines = [line.strip() for line in response.content.decode().splitlines()]
    return [tuple(part.strip() for part in line.split(":", 1)) for line in lines if ":" in line]


def test_robots_txt_names_every_sitemap_by_absolute_url(client, stories):
    sitemaps = [value for field, value in robots(client) if field.lower() == "sitemap"]
    assert absolute("/sitemap.xml") in sitemaps
    assert absolute("/sitemap-news.xml") in sitemaps
    # Every sitemap is reachable from robots.txt: named there or in an index named there.
    reachable = set()
    for url in sitemaps:
        root = parse_xml(client, path_of(url))
        reachable.add(url)
        if etree.QName(root).localname == "sitemapindex":
            reachable.update(loc.text for loc in root.iterfind("sm:sitemap/sm:loc", NS))
    assert reachable >= {
        absolute(f"/sitemap-{name}.xml") for name in ("home", "sections", "articles", "news")
    }


def test_robots_txt_keeps_crawlers_out_of_the_admin(client):
    rules = robots(client)
    assert ("User-agent", "*") in rules
    assert ("Disallow", "/admin/") in rules
    # Nothing public is disallowed wholesale.
    assert ("Disallow", "/") not in rules and ("Disallow", "") not in rules


def test_a_storys_language_is_in_the_news_sitemap_its_page_and_its_structured_data(client):
    import json

    import lxml.html

    welsh = ArticleFactory(headline="Gwylanod yn dwyn sglodion", language="cy")
    chinese = ArticleFactory(headline="海鸥偷薯条", language="zh-hans")
    english = ArticleFactory(headline="Gulls steal chips")  # the site's language by default
    urls = urls_in(parse_xml(client, "/sitemap-news.xml"))

    def news_language(story):
        url = urls[absolute(story.get_absolute_url())]
        return url.findtext("news:news/news:publication/news:language", namespaces=NS)

    # Google News: ISO 639 codes, Chinese as zh-cn / zh-tw.
    assert [news_language(s) for s in (welsh, chinese, english)] == ["cy", "zh-cn", "en"]
    for story, tag in ((welsh, "cy"), (chinese, "zh-Hans"), (english, "en-GB")):
        page = lxml.html.document_fromstring(client.get(story.get_absolute_url()).content)
        assert page.get("lang") == tag
        [data] = page.xpath("//script[@type='application/ld+json']/text()")
        assert json.loads(data)["inLanguage"] == tag
    home = lxml.html.document_fromstring(client.get("/").content)
    assert home.get("lang") == "en-GB"


def test_a_language_django_does_not_know_is_refused_by_the_story_form():
    from django.core.exceptions import ValidationError

    story = ArticleFactory()
    story.language = "klingon"
    with pytest.raises(ValidationError) as refused:
        story.full_clean()
    assert "language" in refused.value.message_dict
