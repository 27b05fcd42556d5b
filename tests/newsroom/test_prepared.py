"""Prepared querysets (newsroom.prepared): the same instances as the queryset would give, with
their related rows, deferred fields and prefetched lists, and the time as it is on each call;
the SQL made once; builders whose SQL depends on anything but their values refused."""

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import connection, models, transaction
from django.db.models.expressions import RawSQL
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from articles.models import Article
from newsroom.prepared import PreparedQuery
from tests.accounts.factories import AuthorFactory
from tests.articles.factories import ArticleFactory
from tests.pictures.factories import ImageFactory
from tests.prepared_sql import plain

pytestmark = pytest.mark.django_db


def by_slug(slug, now):
    return (
        Article.objects.published(now=now)
        .select_related("section", "hero_image")
        .defer("search_vector", "body")
        .prefetch_related(models.Prefetch("authors"))
        .filter(slug=slug)
    )


def test_it_gives_what_the_queryset_gives_with_related_rows_and_prefetched_lists():
    story = ArticleFactory(
        headline="Pier collapses", hero_image=ImageFactory(), authors=[AuthorFactory(name="Al")]
    )
    now = timezone.now()
    query = PreparedQuery(by_slug, slug=str, now=datetime)

    [got] = query(slug=story.slug, now=now)
    [want] = list(by_slug(story.slug, now))

    fields = [
        f.attname for f in Article._meta.concrete_fields if f.name not in ("body", "search_vector")
    ]
    assert [getattr(got, f) for f in fields] == [getattr(want, f) for f in fields]
    assert got.get_deferred_fields() == {"body", "search_vector"}
    assert got.section == want.section and got.hero_image.caption == want.hero_image.caption
    assert "authors" in got._prefetched_objects_cache
    with _no_queries():
        assert [a.name for a in got.authors.all()] == ["Al"]
        assert got.section.name == want.section.name
    assert got.body == story.body  # a deferred field loads as it would


def test_each_call_takes_its_own_values_and_the_sql_is_made_once():
    earlier = ArticleFactory(slug="earlier", published_at=timezone.now() - timedelta(hours=2))

    def build(slug, now):  # no prefetch: a prefetch makes its own queryset's SQL each time
        return Article.objects.published(now=now).select_related("section").filter(slug=slug)

    query = PreparedQuery(build, slug=str, now=datetime)
    assert query(slug="earlier", now=timezone.now())[0].pk == earlier.pk
    with mock.patch.object(SQLCompiler, "as_sql", side_effect=AssertionError("made again")):
        assert query(slug="earlier", now=timezone.now() - timedelta(hours=3)) == []
        assert query(slug="nothing-here", now=timezone.now()) == []
        assert query(slug="earlier", now=timezone.now())[0].pk == earlier.pk


def test_a_builder_that_reads_the_clock_itself_or_varies_its_sql_is_refused():
    ArticleFactory()
    clock = PreparedQuery(lambda pk: Article.objects.published().filter(pk=pk), pk=int)
    with pytest.raises(ValueError, match="changes by itself: read inside the builder"):
        clock(pk=1)
    varying = PreparedQuery(lambda pk: Article.objects.filter(pk__in=range(pk % 3 + 1)), pk=int)
    with pytest.raises(ValueError, match="SQL depends on something other than its values"):
        varying(pk=1)
    unused = PreparedQuery(lambda pk, slug: Article.objects.filter(pk=pk), pk=int, slug=str)
    with pytest.raises(ValueError, match="values the query does not use: slug"):
        unused(pk=1, slug="x")
    with pytest.raises(TypeError, match="int, str, datetime or list values, not float"):
        PreparedQuery(lambda ratio: Article.objects.all(), ratio=float)
    query = PreparedQuery(lambda pk: Article.objects.filter(pk=pk), pk=int)
    with pytest.raises(TypeError, match="give exactly pk"):
        query(pk=1, slug="x")


def test_times_keep_their_zone_and_match_to_the_microsecond():
    at = datetime(2026, 12, 7, 16, 0, 0, 123456, tzinfo=UTC)
    story = ArticleFactory(published_at=at)
    query = PreparedQuery(
        lambda now: Article.objects.filter(published_at__lte=now).order_by("-published_at"),
        now=datetime,
    )
    assert [s.pk for s in query(now=at)] == [story.pk]
    assert query(now=at - timedelta(microseconds=1)) == []
    assert query(now=at)[0].published_at == at


class _no_queries:
    """No query may run inside (the related rows and lists were loaded with the story)."""

    def __enter__(self):
        from django.db import connection

        self.capture = CaptureQueriesContext(connection)
        self.capture.__enter__()

    def __exit__(self, *exc):
        self.capture.__exit__(*exc)
        assert len(self.capture) == 0, [q["sql"] for q in self.capture]


def test_a_values_list_gives_the_tuples_the_queryset_gives_in_its_order():
    ArticleFactory(headline="Pier collapses", published_at=timezone.now() - timedelta(hours=1))
    ArticleFactory(headline="Gulls return", published_at=timezone.now() - timedelta(hours=2))

    def build(now):
        rows = Article.objects.published(now=now).order_by("-published_at")
        return rows.annotate(words=models.functions.Length("headline")).values_list("pk", "words")

    now = timezone.now()
    assert PreparedQuery(build, now=datetime)(now=now) == list(build(now))
    assert [words for _, words in build(now)] == [14, 12]

    def annotation_first(now):
        return build(now).values_list("words", "pk")

    assert PreparedQuery(annotation_first, now=datetime)(now=now) == list(annotation_first(now))


# Prepared on the server (PostgreSQL) ------------------------------------------------------

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="server-side prepared statements: PostgreSQL only"
)


def server_statements() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        return {name for (name,) in cursor.fetchall()}


def by_pk(pk, now):
    return Article.objects.published(now=now).select_related("section").filter(pk=pk)


@on_postgresql
def test_on_postgresql_a_query_is_prepared_once_a_connection_and_run_by_name(settings):
    settings.NEWSROOM_PREPARED_STATEMENTS = True
    story = ArticleFactory(headline="Pier collapses")
    query = PreparedQuery(by_pk, pk=int, now=datetime)
    with CaptureQueriesContext(connection) as captured:
        [got] = query(pk=story.pk, now=timezone.now())
        assert query(pk=story.pk, now=timezone.now() - timedelta(days=1)) == []
    statement = query._plans["default"].statement
    assert statement in server_statements()
    # Preparing it is not a query of the page's; each run is the statement's, with its values.
    assert [q["sql"].split("(")[0] for q in captured] == [f"EXECUTE {statement}"] * 2
    assert plain(captured[0]["sql"]).startswith('SELECT "articles_article"."id"')
    assert (got.pk, got.headline, got.section) == (story.pk, story.headline, story.section)
    # A new server connection has no statements, and its connection object knows none.
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    del connection.newsroom_prepared
    assert query(pk=story.pk, now=timezone.now())[0].pk == story.pk
    assert statement in server_statements()  # prepared again
    del connection.newsroom_prepared  # known to no connection object, but still there
    assert query(pk=story.pk, now=timezone.now())[0].pk == story.pk


@on_postgresql
def test_turned_off_or_planned_each_time_a_query_runs_its_sql(settings):
    story = ArticleFactory()
    query = PreparedQuery(by_pk, pk=int, now=datetime)
    each_time = PreparedQuery(by_pk, planned_each_time=True, pk=int, now=datetime)
    for prepared, run in ((False, query), (True, each_time)):
        settings.NEWSROOM_PREPARED_STATEMENTS = prepared
        with CaptureQueriesContext(connection) as captured:
            assert run(pk=story.pk, now=timezone.now())[0].pk == story.pk
        assert captured[0]["sql"].startswith("SELECT")
    assert not each_time._plans["default"].statement


@on_postgresql
def test_a_query_the_server_cannot_prepare_runs_unprepared_and_breaks_no_transaction(settings):
    settings.NEWSROOM_PREPARED_STATEMENTS = True
    story = ArticleFactory()

    def untyped(pk, now):  # a value whose type PostgreSQL cannot tell from the query alone
        return by_pk(pk, now).annotate(absent=RawSQL("%s IS NULL", ["a title"]))

    query = PreparedQuery(untyped, pk=int, now=datetime)
    with transaction.atomic():
        [got] = query(pk=story.pk, now=timezone.now())
        assert got.absent is False
        assert Article.objects.filter(pk=story.pk).exists()  # the transaction goes on
    assert query._plans["default"].statement not in server_statements()


@on_postgresql
@pytest.mark.parametrize("page", ["story", "home", "section", "tag", "author", "search"])
def test_every_public_page_is_the_same_with_prepared_statements_or_without(client, settings, page):
    from articles.models import Correction

    author = AuthorFactory(name="Maggie Thornbury")
    story = ArticleFactory(headline="Seagulls steal chips", authors=[author, AuthorFactory()],
                           tags=["gulls", "chips"], with_hero=True)  # fmt: skip
    story.related.add(ArticleFactory(headline="Gulls return", tags=["gulls"]))
    Correction.objects.create(article=story, text="The gull was a tern.")
    Correction.objects.create(article=story, kind="update", text="Chips were cold.")
    url = {
        "story": story.get_absolute_url(),
        "home": "/",
        "section": story.section.get_absolute_url(),
        "tag": reverse("articles:tag", args=["gulls"]),
        "author": author.get_absolute_url(),
        "search": reverse("articles:search") + "?q=seagulls",
    }[page]
    shown = {}
    for prepared in (True, False):
        settings.NEWSROOM_PREPARED_STATEMENTS = prepared
        cache.clear()  # no page, card or navigation kept from the other way
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200
        executed = any(q["sql"].startswith("EXECUTE") for q in captured)
        # Turned off, none; on, every page made of prepared reads runs them as statements.
        if not prepared:
            assert not executed
        elif page in ("story", "home", "section", "search"):
            assert executed
        shown[prepared] = response.content.decode()
    assert shown[True] == shown[False]
