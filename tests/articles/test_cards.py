"""Story cards kept rendered in the cache (`articles.cards`): a listing made afresh renders, and
loads the bylines of, only the cards not kept, gives the same markup and surrogate keys as
when it rendered them all, and shows a card's change (headline, byline, picture) at once."""

import re
from datetime import timedelta

import lxml.html
import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from articles import cards
from articles.models import Article
from articles.models.queries import ArticleQuerySet
from tests.accounts.factories import AuthorFactory
from tests.articles.factories import ArticleFactory
from tests.prepared_sql import plain

pytestmark = pytest.mark.django_db

PAGES = {
    "home": lambda story: "/",
    "section": lambda story: story.section.get_absolute_url(),
    "tag": lambda story: reverse("articles:tag", args=["gulls"]),
    "author": lambda story: story.authors.get().get_absolute_url(),
}


def made(client, url: str, bust: int, **params):
    """A fresh copy of the page at `url` (a query string never asked for: a page-cache miss):
    the response, its cards' markup (the home page's lead's too), and the SQL it ran."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, {"v": bust, **params})
    assert response.status_code == 200 and "X-Page-Cache" not in response
    page = lxml.html.document_fromstring(response.content.decode())
    lead = '//section[contains(concat(" ", @class, " "), " lead ")]'
    shown = page.xpath(f'//article[contains(@class, "card")] | {lead}')
    cards = [lxml.html.tostring(card) for card in shown]
    return response, cards, [plain(query["sql"]) for query in captured]


BYLINES = re.compile(r'"articles_article_authors"\."article_id" (?:= (\d+)|IN \(([\d, ]+)\))')


def byline_queries(sql: list[str]) -> list[set[int]]:
    """The ids of the stories each query loading bylines is for (not the author page's own)."""
    found = [BYLINES.search(query) for query in sql if 'FROM "accounts_author"' in query]
    return [{int(n) for n in re.findall(r"\d+", "".join(m.groups("")))} for m in found if m]


@pytest.mark.parametrize("page", PAGES)
def test_a_listing_made_again_shows_its_kept_cards_without_rendering_them(any_cache, client, page):
    author = AuthorFactory(name="Maggie Thornbury")
    stories = [ArticleFactory(authors=[author], tags=["gulls"], with_hero=n % 2) for n in range(5)]
    url = PAGES[page](stories[0])
    client.get(reverse("articles:corrections"))  # what every page shows, kept: not counted
    first, cards, sql = made(client, url, 1)
    again, cards_again, sql_again = made(client, url, 2)
    assert len(cards) >= 4 and cards_again == cards
    header = settings.NEWSROOM_SURROGATE_KEY_HEADER
    assert again[header] == first[header] and f"p{author.pk}" in again[header].split()
    # Neither the rows of kept cards nor any bylines are read (the home page's lead is kept too).
    assert len(sql_again) == len(sql) - 2
    assert len(byline_queries(sql)) == 1 and byline_queries(sql_again) == []


def rename_story(story, author):
    story.headline = "Gulls return the chips"
    story.save()
    return "Gulls return the chips", "Seagulls steal chips"


def rename_author(story, author):
    author.name = "Margaret Thornbury-Hale"
    author.save()
    return "Margaret Thornbury-Hale", "Maggie Thornbury"


def describe_picture(story, author):
    story.hero_image.alt_text = "A gull with a chip"
    story.hero_image.save()
    return 'alt="A gull with a chip"', 'alt="Seagull"'


@pytest.mark.parametrize("change", [rename_story, rename_author, describe_picture])
@pytest.mark.parametrize("page", ["home", "section", "tag"])  # on the home page: the lead
def test_a_kept_card_is_made_again_when_what_it_shows_changes(
    any_cache, client, page, change, django_capture_on_commit_callbacks
):
    author = AuthorFactory(name="Maggie Thornbury")
    story = ArticleFactory(headline="Seagulls steal chips", authors=[author], tags=["gulls"],
                           with_hero=True)  # fmt: skip
    story.hero_image.alt_text = "Seagull"
    story.hero_image.save()
    other = ArticleFactory(headline="Other news", authors=[AuthorFactory()], tags=["gulls"],
                           published_at=story.published_at - timedelta(hours=1))  # fmt: skip
    url = PAGES[page](story)
    made(client, url, 1)
    with django_capture_on_commit_callbacks(execute=True):
        shown, gone = change(story, author)
    _, cards, sql = made(client, url, 2)
    text = b"".join(cards).decode()
    assert shown in text and gone not in text
    assert other.headline in text
    # Only the changed story's card was made again (and its bylines loaded).
    assert byline_queries(sql) == [{story.pk}]


def test_search_results_are_kept_cards_each_with_the_snippet_of_its_own_search(any_cache, client):
    author = AuthorFactory(name="Maggie Thornbury")
    for n in range(3):
        ArticleFactory(
            headline=f"Pelicans {n}", authors=[author], body="<p>Pelicans ate chips.</p>"
        )
    url = reverse("articles:search")
    _, first, _ = made(client, url, 1, q="pelicans")
    _, second, sql = made(client, url, 2, q="chips")
    assert len(first) == len(second) == 3
    assert byline_queries(sql) == []  # the cards were kept by the first search
    for one, other in zip(first, second, strict=True):
        assert b"<mark>Pelicans</mark>" in one and b"<mark>chips</mark>" in other
        assert b"<mark>" not in one.split(b"card__snippet")[0]  # the headline is not marked
        assert one.replace(b"<mark>Pelicans</mark> ate chips", b"") == other.replace(
            b"Pelicans ate <mark>chips</mark>", b""
        )


def test_a_card_made_while_its_story_was_saved_again_is_not_kept(
    any_cache, client, monkeypatch, django_capture_on_commit_callbacks
):
    story = ArticleFactory(headline="Old headline", authors=[AuthorFactory()])
    url = story.section.get_absolute_url()
    real, saved = ArticleQuerySet.cards_of, []

    def racing(queryset, stubs):
        found = real(queryset, stubs)  # the rows are read...
        if not saved:  # ...then an editor's save commits before the card is kept
            with django_capture_on_commit_callbacks(execute=True):
                edited = Article.objects.get(pk=story.pk)
                edited.headline = "New headline"
                edited.save()
            saved.append(True)
        return found

    monkeypatch.setattr(ArticleQuerySet, "cards_of", racing)
    assert b"Old headline" in b"".join(made(client, url, 1)[1])
    assert b"New headline" in b"".join(made(client, url, 2)[1])


def test_a_card_is_not_kept_past_a_change_that_came_due_while_it_was_made(
    any_cache, client, monkeypatch, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    story = ArticleFactory(headline="Gulls", with_hero=True)
    story.hero_image.rights_expire_at = timezone.now() + timedelta(seconds=30)
    story.hero_image.save()
    url, real = story.section.get_absolute_url(), cards.keep

    def later(request):
        time_machine.shift(timedelta(seconds=60))  # the licence runs out during the render
        return real(request)

    monkeypatch.setattr(cards, "keep", later)
    assert b"<picture" in b"".join(made(client, url, 1)[1])
    monkeypatch.setattr(cards, "keep", real)
    assert b"<picture" not in b"".join(made(client, url, 2)[1])


def test_a_story_gone_between_the_listing_and_its_cards_is_left_out(any_cache, client, monkeypatch):
    stories = [ArticleFactory(headline=f"Story {n}") for n in range(3)]
    real = ArticleQuerySet.cards_of

    def racing(queryset, stubs):
        Article.objects.filter(pk=stories[1].pk).delete()
        return real(queryset, stubs)

    monkeypatch.setattr(ArticleQuerySet, "cards_of", racing)
    _, shown, _ = made(client, stories[0].section.get_absolute_url(), 1)
    assert len(shown) == 2 and b"Story 1" not in b"".join(shown)
