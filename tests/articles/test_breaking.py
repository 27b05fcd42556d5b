"""Breaking news on every page: the banner (`articles.context_processors.breaking_news`) shows
the newest breaking stories on every page of the site, kept in the cache under its own surrogate
key (`breaking`), so flagging, unflagging, withdrawing or renaming one purges exactly the pages
showing the banner, and it runs out at its time."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_max_age
from lxml import html

from articles import surrogates
from articles.models import Article, Section
from articles.services import workflow
from tests.accounts.factories import AuthorFactory, UserFactory
from tests.articles.factories import ArticleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def story():
    author = AuthorFactory(name="Maggie Thornbury")
    return ArticleFactory(headline="Seagulls steal chips", authors=[author], tags=["seagulls"])


def pages(story) -> dict[str, str]:
    return {
        "home": "/",
        "story": story.get_absolute_url(),
        "section": story.section.get_absolute_url(),
        "tag": reverse("articles:tag", args=["seagulls"]),
        "author": story.authors.get().get_absolute_url(),
        "search": reverse("articles:search") + "?q=seagulls",
        "archive": reverse("articles:archive-month", args=[story.published_at.year, 1]),
        "corrections": reverse("articles:corrections"),
        "newsletters": reverse("newsletters:list"),
        "sign-up": reverse("newsletters:signup"),
    }


def banner(response) -> list[str]:
    """The headlines in the page's breaking-news banner, in order ([] without one)."""
    tree = html.fromstring(response.content)
    return [link.text_content() for link in tree.xpath("//section[@class='breaking']//li/a")]


def is_hit(response) -> bool:
    return response.get("X-Page-Cache") == "hit"


@pytest.mark.parametrize(
    "page",
    ["home", "story", "section", "tag", "author", "search", "archive", "corrections",
     "newsletters", "sign-up"],
)  # fmt: skip
def test_the_banner_is_on_every_page_and_names_its_key(client, story, page):
    fire = ArticleFactory(headline="Pier on fire", is_breaking=True)
    response = client.get(pages(story)[page])
    assert response.status_code == 200
    assert banner(response) == ["Pier on fire"]
    tree = html.fromstring(response.content)
    assert (
        tree.xpath("//section[@class='breaking']//li/a")[0].get("href") == fire.get_absolute_url()
    )
    if response.has_header("xkey"):  # the public pages: purged by the banner's key
        assert surrogates.BREAKING in response["xkey"].split()


def test_a_missing_page_shows_the_banner_too(client):
    ArticleFactory(headline="Pier on fire", is_breaking=True)
    response = client.get("/no-such-section/no-such-story/")
    assert response.status_code == 404 and banner(response) == ["Pier on fire"]


def test_several_breaking_stories_show_newest_first_three_at_most(client, story):
    now = timezone.now()
    for minutes, words in [(50, "Oldest"), (40, "Older"), (30, "Newer"), (20, "Newest")]:
        ArticleFactory(
            headline=words, is_breaking=True, published_at=now - timedelta(minutes=minutes)
        )
    assert banner(client.get(story.get_absolute_url())) == ["Newest", "Newer", "Older"]


def test_feeds_and_sitemaps_carry_no_banner_and_no_banner_key(client, story):
    ArticleFactory(headline="Pier on fire", is_breaking=True)
    for url in [reverse("articles:feed-rss"), "/sitemap-articles.xml"]:
        response = client.get(url)
        assert surrogates.BREAKING not in response["xkey"].split(), url


def test_flagging_a_story_breaking_purges_every_page_showing_the_banner_and_no_feed(
    client, story, django_capture_on_commit_callbacks
):
    fire = ArticleFactory(headline="Pier on fire")
    # A feed that does not list the story: it shows no banner, so it stays cached.
    urls = pages(story) | {"feed": reverse("articles:tag-feed-rss", args=["seagulls"])}
    for url in urls.values():
        client.get(url)
        assert is_hit(client.get(url)), url
    with django_capture_on_commit_callbacks(execute=True):
        workflow.set_breaking(fire, by=UserFactory(editor=True))
    for name, url in urls.items():
        response = client.get(url)
        if name == "feed":
            assert is_hit(response)
        else:
            assert not is_hit(response) and banner(response) == ["Pier on fire"], name


@pytest.mark.parametrize("change", ["withdraw", "unflag", "rename", "move"])
def test_a_change_to_a_breaking_story_reaches_the_banner_on_every_cached_page_at_once(
    client, story, change, django_capture_on_commit_callbacks
):
    fire = ArticleFactory(headline="Pier on fire", is_breaking=True)
    url = story.get_absolute_url()  # another story's page, which shows only the banner of it
    assert banner(client.get(url)) == ["Pier on fire"] and is_hit(client.get(url))
    editor = UserFactory(editor=True)
    with django_capture_on_commit_callbacks(execute=True):
        if change == "withdraw":
            workflow.withdraw_article(fire, by=editor)
        elif change == "unflag":
            workflow.set_flags(fire, by=editor, is_breaking=False)
        else:
            fire = Article.objects.get(pk=fire.pk)
            if change == "rename":
                fire.headline = "Pier fire out"
            else:
                fire.section = Section.objects.get(slug="world")
            fire.save()
    response = client.get(url)
    assert not is_hit(response)
    expected = {"withdraw": [], "unflag": [], "rename": ["Pier fire out"], "move": ["Pier on fire"]}
    assert banner(response) == expected[change]
    if change == "move":
        link = html.fromstring(response.content).xpath("//section[@class='breaking']//li/a")[0]
        assert link.get("href") == Article.objects.get(pk=fire.pk).get_absolute_url()
        assert link.get("href").startswith("/world/")


def test_the_banner_runs_out_at_its_time_on_every_page(client, story, time_machine):
    start = timezone.now().replace(microsecond=0)
    time_machine.move_to(start, tick=False)
    ArticleFactory(
        headline="Pier on fire", is_breaking=True, breaking_until=start + timedelta(seconds=40)
    )
    page = client.get(story.get_absolute_url())
    assert banner(page) == ["Pier on fire"]
    assert 0 < get_max_age(page) <= 40  # browsers and the edge do not keep it longer either
    time_machine.move_to(start + timedelta(seconds=41), tick=False)
    later = client.get(story.get_absolute_url())
    assert not is_hit(later) and banner(later) == []


def test_a_scheduled_breaking_story_enters_the_banner_at_its_time(client, story, time_machine):
    start = timezone.now().replace(microsecond=0)
    time_machine.move_to(start, tick=False)
    ArticleFactory(
        headline="Verdict: guilty", is_breaking=True, published_at=start + timedelta(seconds=30)
    )
    page = client.get(story.get_absolute_url())
    assert banner(page) == [] and 0 < get_max_age(page) <= 30
    time_machine.move_to(start + timedelta(seconds=31), tick=False)
    assert banner(client.get(story.get_absolute_url())) == ["Verdict: guilty"]


def test_the_banner_is_read_once_for_many_pages(client, story, monkeypatch):
    from articles import context_processors

    reads = []
    real = context_processors._banner_rows
    monkeypatch.setattr(context_processors, "_banner_rows", lambda: reads.append(1) or real())
    ArticleFactory(headline="Pier on fire", is_breaking=True)
    for url in pages(story).values():
        assert banner(client.get(url)) == ["Pier on fire"]
    assert len(reads) == 1
