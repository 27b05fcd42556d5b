"""Reader search: full-text search on PostgreSQL (ranking, stemming, the query syntax people
type, highlighted snippets), the simple fallback used on SQLite, and queries meant to break it."""

from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import lxml.html
import pytest
from django.urls import reverse
from django.utils import timezone

from articles import search
from articles.models import Article
from articles.views import PER_PAGE
from tests.articles.factories import ArticleFactory
from tests.conftest import database_vendor

pytestmark = pytest.mark.django_db

ON_POSTGRESQL = database_vendor() == "postgresql"
postgresql_only = pytest.mark.skipif(
    not ON_POSTGRESQL,
    reason="full-text search needs PostgreSQL (set DATABASE_URL=postgres://…); SQLite "
    "uses the simple fallback, tested below",
)


def search_page(client, query, **params):
    response = client.get(reverse("articles:search"), {"q": query, **params})
    assert response.status_code == 200
    return lxml.html.document_fromstring(response.content.decode())


def headlines(page) -> list[str]:
    return [a.text_content() for a in page.xpath('//h2[@class="card__headline"]/a')]


def snippets(page):
    return page.xpath('//p[@class="card__snippet"]')


def found(client, query) -> set[str]:
    return set(headlines(search_page(client, query)))


def body(*paragraphs):
    return "".join(f"<p>{p}</p>" for p in paragraphs)


# PostgreSQL full-text search ---------------------------------------------------------------


@postgresql_only
def test_a_headline_match_ranks_above_a_body_only_match(client):
    ArticleFactory(headline="Zebra crossing chaos", body=body("Traffic stopped for an hour."))
    # Newer, so it would come first if rank were ignored.
    ArticleFactory(headline="Traffic news", body=body("A zebra was seen near the crossing."))
    assert headlines(search_page(client, "zebra")) == ["Zebra crossing chaos", "Traffic news"]


@postgresql_only
def test_english_stemming_matches_other_forms_of_a_word(client):
    ArticleFactory(headline="Council meets", body=body("The council met on Tuesday."))
    ArticleFactory(headline="Marathon", body=body("She runs every morning."))
    ArticleFactory(headline="Old race", body=body("He ran once, in 1994."))
    assert found(client, "councils") == {"Council meets"}
    # Suffixes are stemmed ("running" and "runs" are both "run"); irregular forms are not:
    # the english configuration is a stemmer, not a dictionary.
    assert found(client, "running") == {"Marathon"}


@postgresql_only
def test_a_quoted_phrase_matches_only_those_words_in_that_order(client):
    ArticleFactory(headline="Bills", body=body("Council tax rises again."))
    ArticleFactory(headline="Levies", body=body("The tax office and the council disagree."))
    assert found(client, '"council tax"') == {"Bills"}
    assert found(client, "council tax") == {"Bills", "Levies"}


@postgresql_only
def test_a_minus_word_excludes_stories_with_that_word(client):
    ArticleFactory(headline="Bills", body=body("Council tax rises again."))
    ArticleFactory(headline="Meeting", body=body("The council met in private."))
    assert found(client, "council -tax") == {"Meeting"}


@postgresql_only
def test_or_finds_either_word(client):
    ArticleFactory(headline="Zoo one", body=body("A zebra escaped."))
    ArticleFactory(headline="Zoo two", body=body("A giraffe escaped."))
    ArticleFactory(headline="Zoo three", body=body("A lion escaped."))
    assert found(client, "zebra or giraffe") == {"Zoo one", "Zoo two"}
    assert found(client, "zebra giraffe") == set()


@postgresql_only
def test_snippets_highlight_the_words_and_escape_the_story_text(client):
    ArticleFactory(
        headline="Markup row",
        body=body(
            "The council wrote &lt;script&gt;alert(1)&lt;/script&gt; &amp; more.",
            "A <strong>bold</strong> <em>councillor</em> disagreed.",
        ),
    )
    page = search_page(client, "council")
    (snippet,) = snippets(page)
    assert {element.tag for element in snippet.iterdescendants()} == {"mark"}
    assert {mark.text.lower() for mark in snippet.iterfind("mark")} >= {"council"}
    text = snippet.text_content()
    assert "<script>alert(1)</script>" in text  # shown as the words the story printed
    assert "&amp;" not in text and "& more" in text
    assert not page.xpath("//main//script")


@postgresql_only
def test_search_never_finds_drafts_or_scheduled_stories(client):
    ArticleFactory(headline="Published pelican", body=body("A pelican."))
    ArticleFactory(headline="Draft pelican", body=body("A pelican."), draft=True)
    ArticleFactory(headline="Review pelican", body=body("A pelican."), in_review=True)
    ArticleFactory(headline="Future pelican", body=body("A pelican."), scheduled=True)
    assert found(client, "pelican") == {"Published pelican"}


@postgresql_only
def test_the_search_vector_follows_edits(client):
    article = ArticleFactory(headline="Penguin parade", body=body("Penguins marched."))
    article.headline, article.body = "Puffin parade", body("Puffins marched.")
    article.save()
    assert found(client, "puffin") == {"Puffin parade"}
    assert search.search_articles(search.SearchTerms("penguin")).count() == 0


@postgresql_only
def test_the_body_s_markup_gives_no_words_and_moves_no_word_s_position():
    """The body's words are indexed as they read, weight C, at the positions they would have
    without any markup: tags, attributes and links' addresses give no lexeme."""
    from django.db import connection

    marked = (
        '<p>Read <a href="https://example.com/pelicans?q=1&amp;x=2" title="Rates &gt; 3">the '
        'report</a> <b>now</b>s.</p><p class="teaser">Gary slams council</p><h2>Puffins</h2>'
        "<ul><li>one</li><li>two</li></ul><blockquote><p>“Quoted,” he said.</p></blockquote>"
        '<p class="picture">12</p><p>a &lt;b&gt; c</p>'
    )
    article = ArticleFactory(headline="Pelican", standfirst="", body=marked)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT search_vector = setweight(to_tsvector('pg_catalog.english', %s), 'A') || "
            "setweight(to_tsvector('pg_catalog.english', regexp_replace(body, '<[^>]*>', ' ', "
            "'g')), 'C'), search_vector::text FROM articles_article WHERE id = %s",
            [article.headline, article.pk],
        )
        same, vector = cursor.fetchone()
    assert same, vector
    assert "'puffin':" in vector and "'quot':" in vector and "'council':" in vector
    assert "example" not in vector and "href" not in vector and "teaser" not in vector


# The simple fallback (any database) --------------------------------------------------------


def simple(query) -> set[str]:
    return {a.headline for a in search._simple(search.SearchTerms.from_request(query))}


def test_fallback_needs_every_word_and_matches_headline_standfirst_or_body():
    ArticleFactory(headline="Zebra escapes", body=body("It ran into town."))
    ArticleFactory(headline="Town news", standfirst="A zebra in the high street.")
    ArticleFactory(headline="Other news", body=body("A zebra was seen. Nothing else."))
    assert simple("zebra") == {"Zebra escapes", "Town news", "Other news"}
    assert simple("zebra town") == {"Zebra escapes", "Town news"}
    assert simple("ZEBRA") == simple("zebra")


def test_fallback_quoted_phrase_and_minus_word():
    ArticleFactory(headline="Bills", body=body("Council tax rises again."))
    ArticleFactory(headline="Levies", body=body("The tax office and the council disagree."))
    ArticleFactory(headline="Meeting", standfirst="The council met; tax was not discussed.")
    assert simple('"council tax"') == {"Bills"}
    # Excluded wherever the word appears, the standfirst included.
    assert simple("council -tax") == set()
    assert simple("council -rises") == {"Levies", "Meeting"}


def test_fallback_excludes_unpublished_stories():
    ArticleFactory(headline="Published pelican")
    ArticleFactory(headline="Draft pelican", draft=True)
    ArticleFactory(headline="Future pelican", scheduled=True)
    assert simple("pelican") == {"Published pelican"}


def test_fallback_with_only_excluded_words_finds_nothing():
    ArticleFactory(headline="Anything")
    assert simple("-anything") == set()


def test_fallback_snippet_marks_words_and_escapes_the_story():
    article = ArticleFactory(
        body=body("The council wrote &lt;b&gt;bold&lt;/b&gt; &amp; <strong>meant</strong> it.")
    )
    snippet = search.simple_snippet(article, search.SearchTerms("council bold"))
    fragment = lxml.html.fragment_fromstring(snippet, create_parent="p")
    assert {element.tag for element in fragment.iterdescendants()} == {"mark"}
    assert [mark.text for mark in fragment.iterfind("mark")] == ["council", "bold"]
    assert "<b>bold</b> & meant it" in fragment.text_content()


@pytest.mark.parametrize("query", ["mark a", "amp council", "lt council", "a b"])
def test_fallback_snippet_stays_well_formed_whatever_the_words(query):
    """A word may be part of the markup the highlighting itself adds ("mark") or of an escaped
    character ("amp", "lt"): neither may be marked inside a tag or an entity."""
    article = ArticleFactory(body=body("A council marked &lt;a&gt; &amp; b bravely."))
    snippet = search.simple_snippet(article, search.SearchTerms(query))
    fragment = lxml.html.fragment_fromstring(snippet, create_parent="p")
    assert {element.tag for element in fragment.iterdescendants()} <= {"mark"}
    assert "A council marked <a> & b bravely." in fragment.text_content()
    for mark in fragment.iterfind("mark"):
        assert mark.text.lower() in query.split()


def test_search_page_with_the_simple_fallback_finds_and_highlights(client, monkeypatch):
    # What SQLite gets; on PostgreSQL the fallback is chosen by pretending to be SQLite.
    monkeypatch.setattr(search, "connection", SimpleNamespace(vendor="sqlite"))
    ArticleFactory(headline="Zebra escapes", body=body("A zebra ran into town &lt;again&gt;."))
    ArticleFactory(headline="Draft zebra", body=body("A zebra."), draft=True)
    page = search_page(client, "zebra")
    assert headlines(page) == ["Zebra escapes"]
    (snippet,) = snippets(page)
    assert [mark.text for mark in snippet.iterfind("mark")] == ["zebra"]
    assert "<again>" in snippet.text_content()


# Queries that must never break the page ----------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        "\t\n",
        "!!!",
        "-",
        '"',
        '"council tax',
        'council" tax"',
        "'; DROP TABLE articles_article; --",
        "council\x00tax",
        "\x00",
        "council & | ! ( ) : * <-> tax",
        "<script>alert(1)</script>",
        "or",
        "the",
        "-council",
        "council " * 1000,
        "x" * 5000,
    ],
    ids=lambda q: repr(q[:30]),
)
def test_any_query_gets_a_friendly_page_never_an_error(client, query):
    ArticleFactory(headline="Council tax rises", body=body("The council tax rises again."))
    response = client.get(reverse("articles:search"), {"q": query})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<script>alert(1)" not in html
    page = lxml.html.document_fromstring(html)
    assert page.findtext(".//h1") == "Search"
    assert "\x00" not in html
    field = page.get_element_by_id("search-q")
    assert len(field.get("value") or "") <= search.MAX_QUERY_LENGTH


def test_a_query_without_words_asks_for_words(client):
    page = search_page(client, "!!!")
    assert "Type a word or two" in page.text_content()
    assert headlines(page) == []


def test_an_empty_query_shows_just_the_form(client):
    page = search_page(client, "")
    assert page.get_element_by_id("search-q").get("value") == ""
    assert "found for" not in page.text_content()


def test_a_very_long_query_is_shortened_with_a_notice(client):
    ArticleFactory(headline="Council tax rises", body=body("The council tax rises again."))
    page = search_page(client, "council " + "x" * 5000)
    assert "first 200 characters" in page.text_content()
    assert page.get_element_by_id("search-q").get("value") == ("council " + "x" * 5000)[:200]


def test_a_query_with_a_nul_byte_searches_the_words_around_it(client):
    ArticleFactory(headline="Council tax rises", body=body("The council tax rises again."))
    assert headlines(search_page(client, "council\x00tax")) == ["Council tax rises"]


def test_pagination_links_keep_the_query(client):
    for n in range(PER_PAGE + 1):
        ArticleFactory(headline=f"Council tax story {n}", body=body("Council tax & rates."))
    query = "council tax"
    first = search_page(client, query)
    assert len(headlines(first)) == PER_PAGE
    (next_link,) = first.xpath('//nav[@class="pagination"]//a[@rel="next"]')
    params = parse_qs(urlsplit(next_link.get("href")).query)
    assert params == {"q": [query], "page": ["2"]}
    second = search_page(client, query, page="2")
    assert len(headlines(second)) == 1
    assert set(headlines(first)).isdisjoint(headlines(second))
    (previous_link,) = second.xpath('//nav[@class="pagination"]//a[@rel="prev"]')
    assert parse_qs(urlsplit(previous_link.get("href")).query) == {"q": [query], "page": ["1"]}
    assert Article.objects.published().count() == PER_PAGE + 1


def test_a_common_word_ranks_only_the_newest_matches_and_says_there_were_more(client, monkeypatch):
    monkeypatch.setattr(search, "MAX_RESULTS", 2)
    now = timezone.now()
    # The oldest would rank first (its headline matches), but only the newest two are ranked.
    ArticleFactory(headline="Otters everywhere", published_at=now - timedelta(hours=3))
    for hours, headline in [(2, "Harbour news"), (1, "River news")]:
        ArticleFactory(
            headline=headline,
            body=body("An otter was seen."),
            published_at=now - timedelta(hours=hours),
        )
    page = search_page(client, "otter")
    assert set(headlines(page)) == {"Harbour news", "River news"}
    status = " ".join(page.xpath('//p[@role="status"]')[0].text_content().split())
    assert status.startswith("More than 2 stories found for “otter”")
    ArticleFactory(headline="Only one", body=body("A lone heron."))
    status = search_page(client, "heron").xpath('//p[@role="status"]')[0].text_content()
    assert " ".join(status.split()) == "1 story found for “heron”."


@pytest.mark.django_db
def test_the_simple_fallback_treats_or_as_either():
    from articles.search import SearchTerms, _simple

    zebra = ArticleFactory(headline="Zebra escapes", body="<p>Stripes everywhere.</p>")
    giraffe = ArticleFactory(headline="Giraffe sulks", body="<p>Long neck, long face.</p>")
    ArticleFactory(headline="Lion naps", body="<p>Nothing happened.</p>")
    found = set(_simple(SearchTerms("zebra or giraffe")))
    assert found == {zebra, giraffe}
    assert set(_simple(SearchTerms("zebra or giraffe stripes"))) == {zebra}


STEM = __import__("Stemmer").Stemmer("english").stemWord


def marks_of(snippet: str) -> list[str]:
    fragment = lxml.html.fragment_fromstring(snippet, create_parent="p")
    assert {element.tag for element in fragment.iterdescendants()} <= {"mark"}
    return [mark.text for mark in fragment.iterfind("mark")]


def test_a_snippet_marks_every_form_of_a_matched_word_and_no_other():
    text = "Councils met. The council's police and a Councillor spoke of policy and policing."
    snippet = search.stemmed_snippet(text, frozenset({"council", "polic"}), STEM)
    # "policy" stems to "polici", "councillor" to itself: neither is what was searched for.
    assert marks_of(snippet) == ["Councils", "council", "police", "policing"]


def test_a_snippet_is_escaped_text_around_the_first_matches_in_two_fragments_at_most():
    filler = " ".join(f"word{n}" for n in range(60))
    text = f"Start {filler} <b>zebra</b> & one. {filler} zebra two. {filler} zebra three."
    snippet = search.stemmed_snippet(text, frozenset({"zebra"}), STEM)
    assert marks_of(snippet) == ["zebra", "zebra"]  # the third is past the two fragments
    assert snippet.startswith("… ") and snippet.endswith(" …") and snippet.count(" … ") == 1
    assert "&lt;b&gt;<mark>zebra</mark>&lt;/b&gt; &amp; one." in snippet
    assert "word52 word53" in snippet and "word51 " not in snippet and "Start" not in snippet


def test_a_snippet_of_a_story_matched_by_its_headline_is_its_first_words():
    text = "<i>Nothing</i> here " + "matches " * 40
    snippet = search.stemmed_snippet(text, frozenset({"zebra"}), STEM)
    assert snippet.startswith("&lt;i&gt;Nothing&lt;/i&gt; here matches") and snippet.endswith("…")
    assert len(snippet.split()) == 31 and marks_of(snippet) == []
    assert search.stemmed_snippet("Short.", frozenset(), STEM) == "Short."
