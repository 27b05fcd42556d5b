"""Surrogate keys (`articles.surrogates`, `newsroom.cache`): every public response names what it
shows, and each kind of change makes exactly the pages showing it stale, no others: a table of
change × page, checked through the page cache (a page is stale when it is no longer a hit)."""

from datetime import timedelta
from io import StringIO

import pytest
from django.urls import reverse
from django.utils import timezone
from taggit.models import Tag

from articles import surrogates
from articles.models import Article, Correction, Section
from newsroom import cache as page_cache
from tests.accounts.factories import AuthorFactory
from tests.articles.factories import ArticleFactory

pytestmark = pytest.mark.django_db
NOON = timezone.make_aware(timezone.datetime(2026, 11, 20, 12, 0))


@pytest.fixture
def world(time_machine):
    """Four stories: C (news, 3 h ago), A (news, 2 h, seagulls, Maggie), B (sport, 90 min,
    football, Bob) and D (news, 1 h: its related rail shows A and C); and a draft."""
    time_machine.move_to(NOON, tick=False)
    maggie, bob = AuthorFactory(name="Maggie Thornbury"), AuthorFactory(name="Bob Rudge")
    ago = lambda minutes: NOON - timedelta(minutes=minutes)  # noqa: E731
    c = ArticleFactory(headline="Pier reopens after storm", published_at=ago(180))
    a = ArticleFactory(
        headline="Seagulls steal chips", authors=[maggie], tags=["seagulls"], published_at=ago(120)
    )
    b = ArticleFactory(
        headline="United sign a goalkeeper",
        section=Section.objects.get(slug="sport"),
        authors=[bob],
        tags=["football"],
        published_at=ago(90),
    )
    d = ArticleFactory(headline="Council bins the bin plan", published_at=ago(60))
    draft = ArticleFactory(headline="Unfinished story", draft=True)
    return {"A": a, "B": b, "C": c, "D": d, "draft": draft, "maggie": maggie, "bob": bob}


def pages(world) -> dict[str, str]:
    return {
        "home": "/",
        "news": "/news/",
        "sport": "/sport/",
        "tag seagulls": reverse("articles:tag", args=["seagulls"]),
        "tag football": reverse("articles:tag", args=["football"]),
        "Maggie": world["maggie"].get_absolute_url(),
        "Bob": world["bob"].get_absolute_url(),
        **{f"story {name}": world[name].get_absolute_url() for name in "ABCD"},
        "feed": reverse("articles:feed-rss"),
        "news feed": reverse("articles:section-feed-rss", args=["news"]),
        "sitemap": "/sitemap-articles.xml",
        "search": reverse("articles:search") + "?q=seagulls",
        "archive": reverse("articles:archive-day", args=[2026, 11, 20]),
        "corrections": reverse("articles:corrections"),
        "newsletters": reverse("newsletters:list"),
    }


SHOWING_A = {"home", "news", "tag seagulls", "Maggie", "story A", "story D", "feed", "news feed"}
SHOWING_A |= {"search", "archive"}
LISTINGS = {"home", "feed", "news feed", "sitemap", "search", "archive"}
# Every page but the feeds and sitemaps shows the breaking-news banner.
WITH_BANNER = {"home", "news", "sport", "tag seagulls", "tag football", "Maggie", "Bob"}
WITH_BANNER |= {"story A", "story B", "story C", "story D", "search", "archive", "corrections"}
WITH_BANNER |= {"newsletters"}


def edit_body(w):
    w["A"].body += "<p>The gulls were unrepentant.</p>"
    w["A"].save()


def publish_in_sport(w):
    ArticleFactory(headline="Late winner", section=Section.objects.get(slug="sport"))


def withdraw(w):
    w["A"].status = Article.Status.WITHDRAWN
    w["A"].withdrawn_reason = Article.WithdrawalReason.EDITORIAL
    w["A"].save()


def retag(w):
    w["A"].tags.set(["football"])


def rename_author(w):
    w["maggie"].name = "Margaret Thornbury"
    w["maggie"].save()


def correct(w):
    Correction.objects.create(article=w["A"], text="They were terns.")


def move_to_sport(w):
    w["A"].section = Section.objects.get(slug="sport")
    w["A"].save()


def rename_tag(w):
    tag = Tag.objects.get(name="seagulls")
    tag.name = "gulls"
    tag.save()


def rename_section(w):
    section = Section.objects.get(slug="money")
    section.name = "Cash"
    section.save()


def flag_b_breaking(w):
    w["B"].is_breaking = True
    w["B"].save()


def edit_draft(w):
    w["draft"].body += "<p>More to come.</p>"
    w["draft"].save()


CHANGES = {
    "edit A's text": (edit_body, SHOWING_A | {"sitemap"}),
    "publish a story in sport": (publish_in_sport, LISTINGS | {"sport"}),
    "withdraw A": (withdraw, SHOWING_A | {"sitemap"}),
    "tag A football instead": (retag, SHOWING_A | {"tag football"}),
    "rename A's author": (rename_author, SHOWING_A - {"story D"}),
    "correct A": (correct, SHOWING_A | {"corrections", "sitemap"}),  # its "Updated" time
    "move A to sport": (move_to_sport, SHOWING_A | {"sport", "story B", "sitemap"}),
    "rename seagulls": (rename_tag, {"tag seagulls", "story A"}),
    "rename a section": (rename_section, "every page"),
    "flag B breaking": (flag_b_breaking, WITH_BANNER | {"feed", "sitemap"}),
    "edit a draft": (edit_draft, set()),
}


def is_hit(response) -> bool:
    return response.get("X-Page-Cache") == "hit"


@pytest.mark.parametrize("change", CHANGES)
def test_each_change_makes_exactly_the_pages_showing_it_stale(
    client, world, change, django_capture_on_commit_callbacks
):
    do, expected = CHANGES[change]
    urls = pages(world)
    for name, url in urls.items():
        client.get(url)
        response = client.get(url)
        assert response.status_code == 200 and is_hit(response), f"{name} was not cached"

    with django_capture_on_commit_callbacks(execute=True):
        do(world)

    stale = {name for name, url in urls.items() if not is_hit(client.get(url))}
    assert stale == (set(urls) if expected == "every page" else expected)


def test_every_public_response_names_what_it_shows(client, world):
    a, maggie = world["A"], world["maggie"]
    tag = Tag.objects.get(name="seagulls")
    urls = pages(world) | {
        "atom feed": reverse("articles:feed-atom"),
        "tag feed": reverse("articles:tag-feed-rss", args=["seagulls"]),
        "author feed": reverse("articles:author-feed-atom", args=[maggie.slug]),
        "sitemap index": "/sitemap.xml",
        "news sitemap": "/sitemap-news.xml",
        "corrections feed": reverse("articles:corrections-feed-rss"),
        "month": reverse("articles:archive-month", args=[2026, 11]),
        "sign-up": reverse("newsletters:signup"),
    }
    expected = {
        "home": {"home", surrogates.story(a.pk), surrogates.author(maggie.pk)},
        "news": {surrogates.section(a.section_id), surrogates.story(a.pk)},
        "tag seagulls": {surrogates.tag_listing(tag.pk), surrogates.story(a.pk)},
        "Maggie": {surrogates.author_listing(maggie.pk), surrogates.author(maggie.pk)},
        "story A": {surrogates.story(a.pk), surrogates.tag(tag.pk), surrogates.author(maggie.pk)},
        "story D": {surrogates.story(world["D"].pk), surrogates.story(a.pk)},
        "feed": {"feeds", surrogates.story(a.pk)},
        "atom feed": {"feeds", surrogates.story(a.pk)},
        "tag feed": {"feeds", surrogates.tag_listing(tag.pk)},
        "author feed": {"feeds", surrogates.author_listing(maggie.pk)},
        "sitemap": {"sitemaps"},
        "sitemap index": {"sitemaps"},
        "news sitemap": {"sitemaps"},
        "search": {"search", surrogates.story(a.pk)},
        "archive": {"d20261120", surrogates.story(a.pk)},
        "month": {"m202611"},
        "corrections": {"corrections"},
        "corrections feed": {"corrections"},
        "newsletters": {"newsletters"},
        "sign-up": {"newsletters"},
    }
    for name, url in urls.items():
        response = client.get(url)
        assert response.status_code == 200, name
        keys = set(response["xkey"].split())
        assert "all" in keys, name
        assert expected.get(name, set()) <= keys, (name, keys)


def test_a_page_of_a_withdrawn_story_names_it_and_is_not_cached(client, world):
    withdraw(world)
    response = client.get(world["A"].get_absolute_url())
    assert response.status_code == 410
    assert not response.has_header("Cache-Control") or "public" not in response["Cache-Control"]


def test_a_transaction_of_many_changes_sends_one_batch(
    world, django_capture_on_commit_callbacks, monkeypatch
):
    batches = []
    monkeypatch.setattr(page_cache, "purge_now", lambda keys: batches.append(set(keys)) or True)
    with django_capture_on_commit_callbacks(execute=True):
        edit_body(world)
        rename_author(world)
        correct(world)
    assert len(batches) == 1
    a = world["A"]
    assert {
        surrogates.story(a.pk),
        surrogates.author(world["maggie"].pk),
        "corrections",
    } <= batches[0]


def test_the_old_design_is_one_switch_away(
    client, world, settings, django_capture_on_commit_callbacks
):
    """NEWSROOM_PAGE_CACHE_INVALIDATION=version: any change makes every page stale, as before
    surrogate keys (kept for the benchmark's comparison)."""
    settings.NEWSROOM_PAGE_CACHE_INVALIDATION = "version"
    urls = pages(world)
    for url in urls.values():
        client.get(url)
    with django_capture_on_commit_callbacks(execute=True):
        edit_draft(world)
    assert not any(is_hit(client.get(url)) for url in urls.values())


def test_an_import_makes_the_listings_it_enters_stale_and_no_story_page(
    client, world, django_capture_on_commit_callbacks, tmp_path
):
    from django.core.management import call_command

    seed = tmp_path / "story.txt"
    seed.write_text("Gull seen eating a whole pasty\n\nIt took the lot.\n", encoding="utf-8")
    urls = pages(world)
    for url in urls.values():
        client.get(url)
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "import_articles", str(seed), "--section", "sport", "--status", "published",
            stdout=StringIO(),
        )  # fmt: skip
    assert Article.objects.filter(headline="Gull seen eating a whole pasty").exists()
    stale = {name for name, url in urls.items() if not is_hit(client.get(url))}
    # Published now, at the time of the import: today's archive page too.
    assert stale == {"home", "sport", "feed", "news feed", "sitemap", "search", "archive"}
