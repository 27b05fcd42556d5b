"""Most read and trending, counted by the page's beacon into the real Redis: who is counted and
who is not, where readers came from, the rails on the site (a withdrawn story leaves them at
once), and the desk's view of a story's reads."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from articles import reads
from articles.services import workflow
from tests.accounts.factories import UserFactory
from tests.articles.factories import ArticleFactory, SectionFactory

pytestmark = pytest.mark.django_db
BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15"


@pytest.fixture(autouse=True)
def redis_cache(reads_redis):
    return reads_redis


def read(client, story, *, times=1, came_from="", agent=BROWSER, **headers):
    for _ in range(times):
        response = client.post(
            reverse("articles:reads-beacon"),
            {"id": str(story.pk), "from": came_from},
            headers={"User-Agent": agent, **headers},
        )
        assert response.status_code == 204 and response["Cache-Control"] == "no-store"


def counted(story) -> int:
    return reads.per_story(story.pk)["hours"][0][1]


def test_a_read_is_counted_without_a_cookie_and_nothing_personal_kept(client, redis_cache):
    story = ArticleFactory(headline="Pier collapses")
    read(client, story, came_from="https://www.google.com/")
    assert counted(story) == 1
    assert "Set-Cookie" not in client.post(reverse("articles:reads-beacon"), {"id": "x"}).headers
    stored = [key.decode() for key in redis_cache.scan_iter(match="*reads:*")]
    assert stored and all(("reads:h:" in k) or ("reads:from:" in k) for k in stored)
    values = b"".join(
        field + value for key in stored for field, value in redis_cache.hgetall(key).items()
    )
    assert b"Mozilla" not in values and b"127.0.0.1" not in values and b"google" not in values


@pytest.mark.parametrize(
    ("headers", "agent"),
    [
        ({"DNT": "1"}, BROWSER),
        ({"Sec-GPC": "1"}, BROWSER),
        ({}, "Googlebot/2.1 (+http://www.google.com/bot.html)"),
        ({}, "facebookexternalhit/1.1"),
        ({}, ""),
    ],
    ids=["do not track", "global privacy control", "googlebot", "link preview", "no agent"],
)
def test_those_asking_not_to_be_counted_and_robots_are_not(client, headers, agent):
    story = ArticleFactory()
    read(client, story, agent=agent, **headers)
    assert counted(story) == 0


@pytest.mark.parametrize("trait", ["draft", "scheduled", "withdrawn"])
def test_reads_of_a_story_readers_cannot_see_are_not_counted(client, trait):
    story = ArticleFactory(**{trait: True})
    read(client, story)
    assert counted(story) == 0
    response = client.post(reverse("articles:reads-beacon"), {"id": "not a number"})
    assert response.status_code == 204


@pytest.mark.parametrize(
    ("came_from", "newsletter", "kind"),
    [
        ("https://www.google.co.uk/", False, "search"),
        ("https://duckduckgo.com/", False, "search"),
        ("https://t.co/abc", False, "social"),
        ("https://www.facebook.com/", False, "social"),
        ("https://news.example.org/story", False, "other"),
        ("", False, "direct"),
        ("https://mail.example.com/", True, "newsletter"),
    ],
)
def test_where_readers_came_from(came_from, newsletter, kind):
    assert reads.kind_of(came_from, newsletter) == kind


def test_the_rails_rank_by_reads_and_a_withdrawn_story_leaves_them_at_once(
    client, django_capture_on_commit_callbacks
):
    editor = UserFactory(username="eddie", editor=True)
    top = ArticleFactory(headline="Pier collapses in storm")
    second = ArticleFactory(headline="Seagull steals chain")
    third = ArticleFactory(headline="Council denies everything")
    read(client, top, times=5)
    read(client, second, times=3)
    read(client, third, times=1)
    url = reverse("articles:reads-rails")

    page = client.get(url).content.decode()
    most = page.split("Most read", 1)[1].split("</ol>", 1)[0]
    assert most.index(top.headline) < most.index(second.headline) < most.index(third.headline)
    assert client.get(url).headers.get("X-Page-Cache") == "hit"  # the same for everyone

    with django_capture_on_commit_callbacks(execute=True):
        workflow.withdraw_article(top, by=editor, legal=True, note="Injunction")

    page = client.get(url).content.decode()
    assert top.headline not in page and second.headline in page


def test_a_story_put_on_legal_hold_leaves_the_rails_at_once(
    client, django_capture_on_commit_callbacks
):
    editor = UserFactory(username="eddie", editor=True)
    held = ArticleFactory(headline="Footballer in hotel row")
    other = ArticleFactory(headline="Gull steals chips")
    read(client, held, times=4)
    read(client, other, times=1)
    url = reverse("articles:reads-rails")
    assert held.headline in client.get(url).content.decode()

    held.legal_hold = True
    with django_capture_on_commit_callbacks(execute=True):
        workflow.save_article(held, by=editor)

    page = client.get(url).content.decode()
    assert held.headline not in page and other.headline in page


def test_a_sections_rails_hold_its_own_stories(client):
    sport = SectionFactory(name="Sport", slug="sport")
    match = ArticleFactory(headline="Cup final chaos", section=sport)
    news = ArticleFactory(headline="Budget leak")
    read(client, match, times=2)
    read(client, news, times=4)
    page = client.get(reverse("articles:reads-rails") + "?section=sport").content.decode()
    assert match.headline in page and news.headline not in page


def test_trending_is_what_is_read_far_more_now_than_before(time_machine):
    start = timezone.now().replace(minute=30)
    steady = ArticleFactory(headline="Steady seller")
    surging = ArticleFactory(headline="Breaking: pier on fire")
    for hours_ago in range(2, 20):
        for _ in range(10):
            reads.record(steady.pk, "direct", at=start - timedelta(hours=hours_ago))
    for _ in range(12):
        reads.record(surging.pk, "social", at=start)
        reads.record(steady.pk, "direct", at=start)

    trending = [pk for pk, _ in reads.ranking("trending", now=start)]
    most = [pk for pk, _ in reads.ranking("most", now=start)]

    assert trending[0] == surging.pk  # new and rising
    assert most[0] == steady.pk  # read more over the day


def test_the_desk_sees_a_storys_reads_by_hour_and_by_where_readers_came_from(client):
    story = ArticleFactory(headline="Pier collapses")
    read(client, story, times=2, came_from="https://www.bing.com/")
    read(client, story, came_from="https://www.reddit.com/r/news")
    client.force_login(UserFactory(username="eddie", editor=True))

    page = client.get(reverse("admin:articles_article_reads", args=[story.pk])).content.decode()

    assert "3 reads in the last 24 hours" in page
    today = page.split("by where readers came from", 1)[1].split("</tr>", 2)[1]
    cells = [c.split("</td>")[0] for c in today.split("<td>")[2:]]
    assert cells == ["2", "1", "0", "0", "0", "3"]  # search, social, newsletter, other, direct
