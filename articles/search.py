"""Reader search: PostgreSQL full-text search with ranking, stemming and highlighted snippets;
simple matching on SQLite.

Queries use `websearch_to_tsquery`, which accepts what people type: "quoted phrases", -word
to exclude and `or` between alternatives, and never raises a syntax error.

Only the newest `MAX_RESULTS` matches are ranked and paged, and matches are counted no further
than that: a common word matches most stories, and ranking or counting them all cost 100 ms of
PostgreSQL a search at 10,000 stories.

Snippets are cut in Python around the words PostgreSQL matched: it names the lexemes of the
query (`querytree`), and a word of the story is marked when Snowball's English stemmer, which
PostgreSQL's "english" configuration is built on (PyStemmer), makes it one of them. PostgreSQL's own
`ts_headline` parsed each story's whole text again: three quarters of a search's database time.
"""

from __future__ import annotations

import datetime
import html
import re
import shlex
from dataclasses import dataclass

import Stemmer
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import F, Func, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from newsroom.prepared import PreparedQuery

from .body import plain_text
from .models import Article

MAX_QUERY_LENGTH = 200
MAX_RESULTS = 200  # the newest matches ranked and paged (10 pages); counted up to one more
CONFIG = "english"
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
LEXEME = re.compile(r"'((?:[^']|'')*)'")  # in `querytree`'s text: 'polic' & 'bill'
# A snippet: at most two fragments of a dozen words or so around the first matches.
FRAGMENTS, WORDS_BEFORE = 2, 8
AFTER = re.compile(r"\S*(?:\s+\S+){0,16}")  # the words after a match in its fragment
OPENING = re.compile(r"\s*(?:\S+\s+){0,29}\S*")  # a story's first 30 words


@dataclass(frozen=True)
class SearchTerms:
    """A query as typed, cleaned for use: `text` is what is searched, `notice` tells the reader
    when it had to be shortened."""

    text: str
    notice: str = ""

    @classmethod
    def from_request(cls, raw: str | None) -> SearchTerms:
        # Control characters (a NUL from "%00" among them) are never words, and PostgreSQL
        # refuses a string containing NUL: they separate words like spaces.
        text = " ".join(CONTROL.sub(" ", raw or "").split())
        if len(text) > MAX_QUERY_LENGTH:
            return cls(
                text[:MAX_QUERY_LENGTH],
                f"Your search was long, so we used its first {MAX_QUERY_LENGTH} characters.",
            )
        return cls(text)

    @property
    def has_words(self) -> bool:
        return any(ch.isalnum() for ch in self.text)


class Results(Paginator):
    """Pages of the ids of the best matches (`best_first`): at most `MAX_RESULTS`; `more` when
    there were more matches than that."""

    def __init__(self, ids: list[int], per_page: int):
        super().__init__(ids[:MAX_RESULTS], per_page)
        self.more = len(ids) > MAX_RESULTS


def results_page(terms: SearchTerms, number, *, per_page: int, bylines=True) -> Page | None:
    """Page `number` of the published stories matching `terms`, best first, each row with its
    `snippet` (safe HTML, the matched words marked), whatever the database; None when the terms
    hold no word to look for. One query finds and ranks the matches, one loads the page's (and
    one their bylines, unless not `bylines`: `with_bylines` for those wanted)."""
    if not terms.has_words:
        return None
    paginator = Results(best_first(terms), per_page)
    page = paginator.get_page(number)
    found = {article.pk: article for article in _rows(terms, page.object_list, bylines)}
    postgresql = connection.vendor == "postgresql"
    stem = Stemmer.Stemmer("english").stemWord  # one per page: it keeps state
    for article in found.values():
        if postgresql:
            article.snippet = stemmed_snippet(plain_text(article.body), _lexemes(article), stem)
        else:
            article.snippet = simple_snippet(article, terms)
    # A story unpublished between the two queries is left out, not shown.
    shown = [found[pk] for pk in page.object_list if pk in found]
    return Page(shown, page.number, paginator)


def search_articles(terms: SearchTerms):
    """Published articles matching `terms`, in no order (a lazy queryset)."""
    if connection.vendor == "postgresql":
        return Article.objects.published().filter(search_vector=_query(terms))
    return _simple(terms)


def best_first(terms: SearchTerms) -> list[int]:
    """The ids of the newest `MAX_RESULTS` matches, best first, and one more (older) when there
    are more matches than that. On PostgreSQL the best rank highest (`ts_rank_cd`, the headline
    weighing most), the newest first among equals; elsewhere the newest come first. One query:
    the matches are read in the order of the visibility index (or found by the GIN index when
    few stories match) and no further, so a common word costs no more than a rare one."""
    if connection.vendor != "postgresql":
        matches = search_articles(terms).order_by("-published_at", "-pk")
        return list(matches.values_list("pk", flat=True)[: MAX_RESULTS + 1])
    rows = _RANKED(words=terms.text, now=timezone.now())
    newest, extra = rows[:MAX_RESULTS], rows[MAX_RESULTS:]
    # Stable: among equal ranks the newest stay first.
    newest.sort(key=lambda row: row[1], reverse=True)
    return [pk for pk, _ in newest + extra]


def _query(terms: SearchTerms) -> SearchQuery:
    return SearchQuery(terms.text, search_type="websearch", config=CONFIG)


def _ranked(words, now):
    """`best_first`'s rows on PostgreSQL: (id, rank) of the newest matches."""
    query = SearchQuery(words, search_type="websearch", config=CONFIG)
    matches = Article.objects.published(now=now).filter(search_vector=query)
    rank = SearchRank(F("search_vector"), query, cover_density=True)
    rows = matches.order_by("-published_at", "-pk").annotate(rank=rank)
    return rows.values_list("pk", "rank")[: MAX_RESULTS + 1]


_RANKED = PreparedQuery(_ranked, planned_each_time=True, words=str, now=datetime.datetime)


def _rows(terms: SearchTerms, ids: list[int], bylines: bool):
    """The stories `ids`, as cards with their text, and on PostgreSQL the query's `lexemes`."""
    if connection.vendor != "postgresql":
        rows = Article.objects.published().filter(pk__in=ids)
        return rows.for_listing(text=True, bylines=bylines)
    return _ROWS[bylines](ids=ids, words=terms.text, now=timezone.now())


def _rows_query(bylines: bool) -> PreparedQuery:
    def build(ids, words, now):
        found = RawSQL("SELECT unnest(%s::bigint[])", [ids])  # one array: one SQL for any page
        query = SearchQuery(words, search_type="websearch", config=CONFIG)
        rows = Article.objects.published(now=now).filter(pk__in=found)
        rows = rows.for_listing(text=True, bylines=bylines)
        return rows.annotate(lexemes=Func(query, function="querytree"))

    return PreparedQuery(build, ids=list, words=str, now=datetime.datetime)


_ROWS = {bylines: _rows_query(bylines) for bylines in (True, False)}


def _lexemes(article) -> frozenset[str]:
    """The words (as lexemes) the story was found by; none of those the query excludes."""
    return frozenset(m.replace("''", "'") for m in LEXEME.findall(article.lexemes or ""))


def stemmed_snippet(text: str, lexemes: frozenset[str], stem) -> str:
    """Safe HTML: up to `FRAGMENTS` stretches of `text` around its words whose stem (`stem`) is
    one of `lexemes`, those words marked; its first words when none is (a match in the
    headline or standfirst)."""
    text = " ".join(text.split())
    hits, fragments = [], []
    # Only words starting as a lexeme does are stemmed: Snowball changes only endings. The
    # text is read no further than the last fragment's end.
    starts = "|".join(re.escape(lexeme[:3]) for lexeme in sorted(lexemes))
    for match in re.finditer(rf"\b(?:{starts})\w*", text, re.IGNORECASE) if lexemes else ():
        start, stop = match.span()
        if len(fragments) == FRAGMENTS and start >= fragments[-1][1]:
            break
        if stem(match.group().lower()) not in lexemes:
            continue
        hits.append((start, stop))
        if fragments and start < fragments[-1][1]:
            continue  # within the last fragment
        # The text is one-spaced: the last words before the match, and the rest of its own.
        before = " ".join(text[max(0, start - 400) : start].split(" ")[-WORDS_BEFORE - 1 :])
        after = AFTER.match(text, stop, stop + 600)
        start, stop = start - len(before), stop + len(after.group())
        if fragments and start <= fragments[-1][1]:  # it would repeat the last one's end
            fragments[-1] = (fragments[-1][0], stop)
        else:
            fragments.append((start, stop))
    if not hits:
        words = OPENING.match(text).group()
        return html.escape(words) + (" …" if len(words) < len(text) else "")
    pieces = ["… " if fragments[0][0] > 0 else ""]
    for number, (start, stop) in enumerate(fragments):
        done = start
        for hit_start, hit_stop in hits:
            if start <= hit_start and hit_stop <= stop:
                pieces.append(html.escape(text[done:hit_start], quote=False))
                pieces.append(f"<mark>{html.escape(text[hit_start:hit_stop], quote=False)}</mark>")
                done = hit_stop
        pieces.append(html.escape(text[done:stop], quote=False))
        pieces.append(" … " if number + 1 < len(fragments) else "")
    return "".join(pieces) + (" …" if fragments[-1][1] < len(text) else "")


def _simple(terms: SearchTerms):
    """SQLite: every wanted word (or quoted phrase) must appear, where `a or b` is satisfied by
    either; -words must not appear."""
    groups, unwanted = _groups(terms.text)
    articles = Article.objects.published()
    for alternatives in groups:
        condition = Q()
        for word in alternatives:
            condition |= _contains(word)
        articles = articles.filter(condition)
    for word in unwanted:
        articles = articles.exclude(_contains(word))
    if not groups:
        return Article.objects.none()
    return articles.order_by("-published_at", "-pk")


def _contains(word: str) -> Q:
    return Q(headline__icontains=word) | Q(standfirst__icontains=word) | Q(body__icontains=word)


def simple_snippet(article: Article, terms: SearchTerms, width: int = 200) -> str:
    """A window of the body around the first wanted word, with the words marked."""
    wanted, _ = _split(terms.text)
    text = " ".join(plain_text(article.body).split())
    lowered = text.lower()
    positions = [lowered.find(w.lower()) for w in wanted if lowered.find(w.lower()) >= 0]
    start = max(0, min(positions, default=0) - width // 3)
    window = (
        ("… " if start else "") + text[start : start + width] + ("…" if len(text) > width else "")
    )
    if not wanted:
        return html.escape(window)
    # One pass over the plain text, escaping between matches: a word can never be marked
    # inside an entity ("amp") or inside a <mark> tag added for another word ("mark").
    words = re.compile(
        "|".join(re.escape(w) for w in sorted(wanted, key=len, reverse=True)), re.IGNORECASE
    )
    pieces, done = [], 0
    for match in words.finditer(window):
        pieces.append(html.escape(window[done : match.start()]))
        pieces.append(f"<mark>{html.escape(match.group())}</mark>")
        done = match.end()
    pieces.append(html.escape(window[done:]))
    return "".join(pieces)


def _words(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:  # an unbalanced quote: treat the text as plain words
        return text.replace('"', " ").split()


def _groups(text: str) -> tuple[list[list[str]], list[str]]:
    """Wanted words grouped by `or` ("cats or dogs vet" → [[cats, dogs], [vet]]), and the
    -words to exclude."""
    groups: list[list[str]] = []
    unwanted: list[str] = []
    joining = False
    for word in _words(text):
        if word.lower() == "or":
            joining = bool(groups)
        elif word.startswith("-"):
            if len(word) > 1:
                unwanted.append(word[1:])
            joining = False
        elif word.strip():
            if joining:
                groups[-1].append(word)
            else:
                groups.append([word])
            joining = False
    return groups, unwanted


def _split(text: str) -> tuple[list[str], list[str]]:
    """All wanted words (for highlighting) and the unwanted ones."""
    groups, unwanted = _groups(text)
    return [word for group in groups for word in group], unwanted
