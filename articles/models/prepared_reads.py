"""A story page's reads as prepared queries (`newsroom.prepared`): the rows `ArticleQuerySet`'s
`detail`, `earlier_in_section` and `linked_by_headline` give, without Django making their SQL
again on every page (on this machine, that was most of the CPU of each of them)."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.aggregates import JSONBAgg
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Count, F, OuterRef, Subquery
from django.db.models.functions import JSONObject

from newsroom.prepared import PreparedQuery

LINKED_AT_MOST = 8  # titles a teaser query is prepared for; more take the queryset's way


def _article():
    return apps.get_model("articles", "Article")


def _detail(field: str, kind: type) -> PreparedQuery:
    def build(value, now):
        rows = _article().objects.published(now=now).detail_rows().filter(**{field: value})
        if connection.vendor == "postgresql":
            rows = rows.annotate(**_lists_in_the_row())
        return rows[:1]

    return PreparedQuery(build, value=kind, now=datetime.datetime)


def _lists_in_the_row() -> dict:
    """On PostgreSQL the story's bylines, tags, corrections and chosen related stories' ids come
    in its own row, each list a JSON array (`LIST_COLUMNS`; None when empty), not in four more
    queries: a story page is then one query less each (read by `queries._with_its_lists`)."""
    from taggit.models import TaggedItem

    article = _article()
    correction = apps.get_model("articles", "Correction")
    through = {"authors": article.authors.through, "related": article.related.through}
    correction_fields = {f.attname: f.attname for f in correction._meta.concrete_fields}
    kind = ContentType.objects.get_for_model(article).pk
    lists = {
        "authors": (
            through["authors"].objects.filter(article_id=OuterRef("pk")).values("article_id"),
            JSONObject(id="author_id", name="author__name", slug="author__slug"),
            ["author__name", "author_id"],  # as `Author.Meta.ordering`, ties by id
        ),
        "tags": (
            TaggedItem.objects.filter(content_type_id=kind, object_id=OuterRef("pk"))
            .values("object_id"),
            JSONObject(id="tag_id", name="tag__name", slug="tag__slug"),
            ["id"],  # in the order they were given
        ),
        "corrections": (
            correction.objects.filter(article_id=OuterRef("pk")).order_by().values("article_id"),
            JSONObject(**correction_fields),
            ["published_at", "id"],  # `Correction.Meta.ordering`
        ),
        "related_ids": (
            through["related"].objects.filter(from_article_id=OuterRef("pk"))
            .values("from_article_id"),
            F("to_article_id"),
            ["id"],
        ),
    }  # fmt: skip
    return {
        LIST_COLUMNS[name]: Subquery(
            rows.annotate(list=JSONBAgg(value, order_by=order)).values("list")
        )
        for name, (rows, value, order) in lists.items()
    }


# The row's column for each list (names no field of a story takes).
LIST_COLUMNS = {name: f"{name}_list" for name in ("authors", "tags", "corrections", "related_ids")}


DETAIL = {"slug": _detail("slug", str), "pk": _detail("pk", int)}


def _related_ids(pk):
    through = _article().related.through
    return through.objects.filter(from_article_id=pk).values_list("to_article_id", flat=True)


def _bylines(pk):
    return apps.get_model("accounts", "Author").objects.only("name", "slug").filter(articles=pk)


def _tags(pk):
    from taggit.models import Tag

    items = "taggit_taggeditem_items"
    kind = ContentType.objects.get_for_model(_article()).pk
    rows = Tag.objects.filter(**{f"{items}__object_id": pk, f"{items}__content_type_id": kind})
    return rows.order_by(f"{items}__id")  # in the order they were given


def _corrections(pk):
    return apps.get_model("articles", "Correction").objects.filter(article_id=pk)


LISTS = {
    "related_ids": PreparedQuery(_related_ids, pk=int),
    "authors": PreparedQuery(_bylines, pk=int),
    "tags": PreparedQuery(_tags, pk=int),
    "corrections": PreparedQuery(_corrections, pk=int),
}


def _earlier(count: int) -> PreparedQuery:
    def build(at, pk, section, now):
        story = SimpleNamespace(published_at=at, pk=pk, section_id=section)
        return _article().objects.published(now=now).earlier_in_section(story).for_links()[:count]

    return PreparedQuery(build, at=datetime.datetime, pk=int, section=int, now=datetime.datetime)


_EARLIER: dict[int, PreparedQuery] = {}


def earlier_links(story, count: int, now: datetime.datetime) -> list:
    """`Article.objects.published().earlier_in_section(story).for_links()[:count]`'s rows."""
    query = _EARLIER.get(count) or _EARLIER.setdefault(count, _earlier(count))
    return query(at=story.published_at, pk=story.pk, section=story.section_id, now=now)


def _linked(size: int) -> PreparedQuery:
    def build(now, **keys):
        return _article().objects.by_headline_keys(list(keys.values()), now=now)

    kinds = {f"key{n}": str for n in range(size)}
    return PreparedQuery(build, now=datetime.datetime, **kinds)


_LINKED: dict[int, PreparedQuery] = {}


def linked_rows(keys: set[str], now: datetime.datetime) -> list | None:
    """The visible stories whose headline key is one of `keys`, newest first; None for more
    keys than are prepared for."""
    if len(keys) > LINKED_AT_MOST:
        return None
    query = _LINKED.get(len(keys)) or _LINKED.setdefault(len(keys), _linked(len(keys)))
    return query(now=now, **{f"key{n}": key for n, key in enumerate(sorted(keys))})


def _listing(now):
    return _article().objects.published(now=now).for_listing(bylines=False)


HOME_LEAD = PreparedQuery(
    lambda now: _listing(now).filter(is_featured=True)[:1], now=datetime.datetime
)
HOME_NEWEST = PreparedQuery(lambda now: _listing(now)[:1], now=datetime.datetime)
_HOME_LATEST: dict[int, PreparedQuery] = {}


def home_front(count: int, now: datetime.datetime) -> tuple:
    """The home page's lead (the newest featured story, else the newest) as a card without
    bylines, and the `count` newest stories after it as stubs."""
    lead = next(iter(HOME_LEAD(now=now) or HOME_NEWEST(now=now)), None)
    if count not in _HOME_LATEST:
        _HOME_LATEST[count] = PreparedQuery(
            lambda now, lead: (
                _article().objects.published(now=now).exclude(pk=lead).stubs()[:count]
            ),
            now=datetime.datetime,
            lead=int,
        )
    return lead, _HOME_LATEST[count](now=now, lead=lead.pk if lead else 0)


_RAILS: dict[int, PreparedQuery] = {}


def rail_rows(per_section: int, exclude: list, now: datetime.datetime) -> list:
    """`section_rails`' stories (PostgreSQL's lateral join, the excluded ids one array)."""
    if per_section not in _RAILS:
        _RAILS[per_section] = PreparedQuery(
            lambda now, exclude: _article().objects.rail_stories(
                per_section=per_section, exclude=exclude, now=now
            ),
            now=datetime.datetime,
            exclude=list,
        )
    return _RAILS[per_section](now=now, exclude=exclude)


def _section_stories(section, now):
    return _article().objects.published(now=now).in_section(section).stubs()


SECTION = PreparedQuery(
    lambda slug: apps.get_model("articles", "Section").objects.filter(slug=slug)[:1], slug=str
)


def _section_count(section, now):
    """One row, grouped by the one section (none when it has no story): its stories' count."""
    rows = _section_stories(section, now).order_by().values("section_id")
    return rows.annotate(stories=Count("*")).values_list("stories", flat=True)


SECTION_COUNT = PreparedQuery(_section_count, section=int, now=datetime.datetime)
_SECTION_FIRST: dict[int, PreparedQuery] = {}


def section_first_page(section, size: int, now: datetime.datetime) -> Page:
    """Page 1 of a section's stories as stubs (`Paginator(...).page(1)`'s), in two prepared
    queries."""
    if size not in _SECTION_FIRST:
        _SECTION_FIRST[size] = PreparedQuery(
            lambda section, now: _section_stories(section, now)[:size],
            section=int,
            now=datetime.datetime,
        )
    paginator = Paginator(_section_stories(section.pk, now), size, allow_empty_first_page=True)
    paginator.count = sum(SECTION_COUNT(section=section.pk, now=now))  # what it would count
    return Page(_SECTION_FIRST[size](section=section.pk, now=now), 1, paginator)
