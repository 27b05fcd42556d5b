"""Which stories, in what shape: every read the public site, feeds, sitemaps, newsletters and
the desk make of stories and corrections is a method here, so each rule has one home.

Visibility is `visible()` (published status, publication time passed, "unpublish at" time not
yet come): `published()` filters by it, and `Article.is_visible` is the same rule for a row in
hand (a test holds the two together). An embargo needs no term here: the database refuses a
published story timed before its embargo (`article_published_after_embargo`).
"""

from __future__ import annotations

import datetime

from django.db import connection, models
from django.db.models import F, Q, Window
from django.db.models.expressions import RawSQL
from django.db.models.functions import RowNumber
from django.utils import timezone

from ..parsing import headline_key
from .choices import Status

PUBLISHED = Status.PUBLISHED
# A story as a listing whose cards are kept needs it: to find its card, date the page, group it.
STUB_FIELDS = ("id", "published_at", "updated_at", "section")


def visible(now: datetime.datetime | None = None) -> Q:
    """What readers may see: published status, a publication time already passed and an
    "unpublish at" time not yet come. The one definition of visibility, so a scheduled story
    appears by itself when its time comes, and a time-limited one leaves by itself."""
    now = now or timezone.now()
    return Q(status=PUBLISHED, published_at__lte=now) & (
        Q(unpublish_at__isnull=True) | Q(unpublish_at__gt=now)
    )


# `visible()` in the raw SQL of the lateral joins (story alias `a`): status, now, now.
VISIBLE_SQL = (
    "a.status = %s AND a.published_at <= %s AND (a.unpublish_at IS NULL OR a.unpublish_at > %s)"
)


def archive_range(year: int, month: int, day: int | None = None):
    """The first day of an archive page and the [start, end) of its stories in newsroom time.
    Raises ValueError for a date that does not exist (or cannot: year 99999)."""
    try:
        first = datetime.date(year, month, day or 1)
        if day:
            last = first + datetime.timedelta(days=1)
        else:
            last = (first.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    except OverflowError:
        raise ValueError("date out of range") from None
    zone = timezone.get_current_timezone()
    start = datetime.datetime.combine(first, datetime.time.min, tzinfo=zone)
    end = datetime.datetime.combine(last, datetime.time.min, tzinfo=zone)
    return first, start, end


def _bylines():
    from accounts.models import Author

    return Author.objects.only("name", "slug")


def with_bylines(stories) -> None:
    """Load the bylines of `stories` (loaded `for_listing(bylines=False)`; None is skipped) in
    one query, as `for_listing` would for each list: a page of several lists pays one query.
    One story's (a page whose other cards are kept) by a prepared query."""
    from . import prepared_reads

    fetched = "_prefetched_objects_cache"
    stories = [s for s in stories if s is not None and "authors" not in s.__dict__.get(fetched, {})]
    if len(stories) == 1:
        (story,) = stories
        _keep_list(story, "authors", prepared_reads.LISTS["authors"](pk=story.pk))
    else:
        models.prefetch_related_objects(stories, models.Prefetch("authors", queryset=_bylines()))


def _with_its_lists(article) -> None:
    """Load `article.authors`, `.tags`, `.corrections` and `.related` as a prefetch would: from
    the story's row when they came in it (`prepared_reads.LIST_COLUMNS`), else by a query each."""
    from . import prepared_reads

    if prepared_reads.LIST_COLUMNS["authors"] in article.__dict__:
        lists = _lists_from_the_row(article)
    else:
        lists = {name: query(pk=article.pk) for name, query in prepared_reads.LISTS.items()}
    chosen = lists.pop("related_ids")
    model = type(article)
    lists["related"] = model.objects.published().for_links().filter(pk__in=chosen) if chosen else []
    for name, rows in lists.items():
        _keep_list(article, name, rows)


def _lists_from_the_row(article) -> dict[str, list]:
    """The lists a story's row carried as JSON, as model instances (bylines with just the
    fields `_bylines` loads), and the chosen related stories' ids."""
    from django.apps import apps

    from .prepared_reads import LIST_COLUMNS

    found = {name: article.__dict__.pop(column) or [] for name, column in LIST_COLUMNS.items()}
    models_of = {
        "authors": apps.get_model("accounts", "Author"),
        "tags": apps.get_model("taggit", "Tag"),
        "corrections": apps.get_model("articles", "Correction"),
    }
    made = {
        name: _instances(model, found[name], article._state.db) for name, model in models_of.items()
    }
    for correction in made["corrections"]:  # JSON has no dates: ISO 8601 text
        correction.published_at = datetime.datetime.fromisoformat(correction.published_at)
    return made | {"related_ids": found["related_ids"]}


def _instances(model, rows: list[dict], alias: str) -> list:
    """`model`'s instances of `rows` (JSON objects of some of its fields), as loaded."""
    if not rows:
        return []
    # In the model's order of fields, as `from_db` takes them (a JSON object keeps none).
    fields = [field.attname for field in model._meta.concrete_fields if field.attname in rows[0]]
    return [model.from_db(alias, fields, [row[name] for name in fields]) for row in rows]


def _keep_list(story, name: str, rows) -> None:
    """Keep `rows` as `story.<name>.all()`, as a prefetch would (its cache name is its name)."""
    kept = getattr(story, name).get_queryset()
    kept._result_cache, kept._prefetch_done = list(rows), True
    story.__dict__.setdefault("_prefetched_objects_cache", {})[name] = kept


class ArticleQuerySet(models.QuerySet):
    # --- which stories -------------------------------------------------------------------------

    def published(self, *, now: datetime.datetime | None = None):
        """What readers may see (see `visible`)."""
        return self.filter(visible(now))

    def scheduled(self, *, now: datetime.datetime | None = None):
        """Published stories whose time has not come yet: they appear by themselves (embargoed
        ones among them, at their embargo's time)."""
        return self.filter(status=PUBLISHED, published_at__gt=now or timezone.now())

    def breaking(self, *, now: datetime.datetime | None = None):
        """Published stories flagged breaking whose banner time has not run out."""
        now = now or timezone.now()
        return (
            self.published(now=now)
            .filter(is_breaking=True)
            .filter(Q(breaking_until__isnull=True) | Q(breaking_until__gt=now))
        )

    def earlier_in_section(self, story):
        """Stories of `story`'s section published before it, the latest first (its "related
        stories" when none are chosen: a rail that publishing a new story does not change)."""
        earlier = Q(published_at__lt=story.published_at)
        earlier |= Q(published_at=story.published_at, pk__lt=story.pk)
        # The bound alone too: the index can start at it, where the condition above is checked
        # row by row (on an old story's page, every later story of its section read first).
        return self.filter(
            earlier, published_at__lte=story.published_at, section_id=story.section_id
        ).order_by("-published_at", "-pk")

    def rails_showing(self, stories: list[tuple[int, int, datetime.datetime]], count: int):
        """The visible stories whose `earlier_in_section` rail of `count` shows one of
        `stories` ((pk, section_id, published_at) each): the `count` published just after each
        in its section. One query on PostgreSQL (a lateral join), one per story elsewhere."""
        if not stories:
            return set()
        now = timezone.now()
        if connection.vendor == "postgresql":
            table = self.model._meta.db_table
            sql = f"""SELECT DISTINCT later.id FROM unnest(%s::bigint[], %s::bigint[],
                %s::timestamptz[]) AS story(pk, section_id, published_at)
                CROSS JOIN LATERAL (SELECT a.id FROM {table} a WHERE a.section_id =
                story.section_id AND {VISIBLE_SQL} AND
                (a.published_at, a.id) > (story.published_at, story.pk)
                ORDER BY a.published_at, a.id LIMIT %s) later"""
            columns = [list(column) for column in zip(*stories, strict=True)]
            with connection.cursor() as cursor:
                cursor.execute(sql, [*columns, PUBLISHED, now, now, count])
                return {pk for (pk,) in cursor.fetchall()}
        found = set()
        for pk, section_id, published_at in stories:
            later = Q(published_at__gt=published_at) | Q(published_at=published_at, pk__gt=pk)
            rows = self.published(now=now).filter(later, section_id=section_id)
            found |= set(rows.order_by("published_at", "pk").values_list("pk", flat=True)[:count])
        return found

    def in_section(self, section):
        """Stories of `section` (a `Section` or its slug)."""
        if isinstance(section, str):
            return self.filter(section__slug=section)
        return self.filter(section=section)

    def tagged(self, slug: str):
        return self.filter(tags__slug=slug)

    def by_author(self, author):
        return self.filter(authors=author)

    def for_partners(self):
        """Published stories partners may take: not sponsored, on legal hold or marked not for
        syndication, and not first published elsewhere (a source's story is not ours to pass
        on)."""
        return self.published().filter(
            sponsored=False, legal_hold=False, no_syndication=False, source_name=""
        )

    def published_between(self, start: datetime.datetime, end: datetime.datetime):
        """Visible stories published in [start, end)."""
        return self.published().filter(published_at__gte=start, published_at__lt=end)

    # --- in what shape --------------------------------------------------------------------------

    def for_listing(self, *, text: bool = False, bylines: bool = True):
        """Everything a story card needs, newest first, in a fixed number of queries (one for
        the rows with their section and picture, one for all their bylines; without `bylines`,
        left to `with_bylines` for several lists at once). Not the search vector (a few KB a
        row that only the database reads), nor the body and standfirst unless `text` (feeds
        and search summarise them), nor a picture's rights text."""
        deferred = ["search_vector"] if text else ["body", "standfirst", "search_vector"]
        # Of the picture, a card needs its size, alt text and renditions' key (feeds: credit).
        unused = ["file", "caption", "source", "rights", "processing_note", "licence"]
        unused += [
            "uploaded_by",
            "uploaded_at",
            "focal_x",
            "focal_y",
            *([] if text else ["credit"]),
        ]
        deferred += [f"hero_image__{name}" for name in unused]
        rows = self.select_related("section", "hero_image")
        if bylines:
            rows = rows.prefetch_related(models.Prefetch("authors", queryset=_bylines()))
        return rows.defer(*deferred).order_by("-published_at", "-pk")

    def detail(self, **lookup):
        """The story matching `lookup`, with everything its page shows (or None): the row with
        its section and picture, then its bylines, tags, corrections and chosen related stories
        in four small queries. As `prefetch_related` they cost Django twice the CPU (a third of
        a story page's, measured), for the same rows."""
        article = self.detail_rows().filter(**lookup).first()
        if article is not None:
            _with_its_lists(article)
        return article

    def home_front(self, *, latest: int, now: datetime.datetime | None = None) -> tuple:
        """The home page's lead (a card) and its `latest` newest stories after it (`stubs`),
        from `prepared_reads`."""
        from .prepared_reads import home_front

        return home_front(latest, now or timezone.now())

    def detail_rows(self):
        """Stories as their page shows them: with section and picture, less the search vector."""
        return self.select_related("section", "hero_image").defer("search_vector")

    def published_detail(self, *, slug: str | None = None, pk: int | None = None):
        """`published().detail(slug=…)` (or `pk=…`), its SQL made once (prepared_reads)."""
        from .prepared_reads import DETAIL

        field, value = ("slug", slug) if slug is not None else ("pk", pk)
        rows = DETAIL[field](value=value, now=timezone.now())
        article = rows[0] if rows else None
        if article is not None:
            _with_its_lists(article)
        return article

    def for_links(self):
        """Just what a link to each story needs (headline, address, section, a small picture,
        a compact card's labels), newest first: one query, without the bylines, body and search
        vector a story card or page loads. (The picture's row whole: naming its columns one by
        one costs Django more time building the query than the columns cost to fetch.)"""
        return (
            self.select_related("section", "hero_image")
            .only(
                "headline",
                "slug",
                "published_at",
                "is_breaking",
                "live_status",
                "sponsored",
                "section__slug",
                "section__name",
                "hero_image",
            )
            .order_by("-published_at", "-pk")
        )

    def section_rails(self, *, per_section: int, exclude=(), now=None) -> list[tuple]:
        """(section, its newest `per_section` visible stories not in `exclude`) for each
        section with any, in navigation order, the stories with only their id, times and
        section (`STUB_FIELDS`: their cards are kept, or loaded by `cards_of`). One query.
        On PostgreSQL each section's stories are found by a lateral join, `per_section` rows
        read from the (section, status, published_at) index each: ranking every published
        story by a window made the home page's costliest query (30 ms at 10,000 stories)."""
        from .prepared_reads import rail_rows

        now = now or timezone.now()
        if connection.vendor == "postgresql":  # the same SQL whatever is left out
            stories = rail_rows(per_section, list(exclude), now)
        else:
            stories = self.rail_stories(per_section=per_section, exclude=exclude, now=now)
        rails: dict = {}
        for story in stories:
            rails.setdefault(story.section, []).append(story)
        return list(rails.items())

    def rail_stories(self, *, per_section: int, exclude, now):
        """`section_rails`' stories, in navigation order."""
        rows = self.model.objects.filter(pk__in=self._rail_ids(per_section, exclude, now))
        rows = rows.select_related("section").only(*STUB_FIELDS, "section__name", "section__slug")
        return rows.order_by("section__order", "section__name", "-published_at", "-pk")

    def stubs(self):
        """Stories with only what finds their kept cards and dates their page (`STUB_FIELDS`),
        newest first."""
        return self.only(*STUB_FIELDS).order_by("-published_at", "-pk")

    def cards_of(self, stubs) -> dict:
        """The stories of `stubs` loaded as cards without bylines (`for_listing`), by id: one
        query, none for no stubs."""
        if not (ids := [stub.pk for stub in stubs]):
            return {}  # building the queryset would cost more than the page's kept cards
        return {story.pk: story for story in self.filter(pk__in=ids).for_listing(bylines=False)}

    def _rail_ids(self, per_section: int, exclude, now):
        """The ids of `section_rails`' stories, as a subquery."""
        now = now or timezone.now()
        if connection.vendor == "postgresql":
            table, sections = self.model._meta.db_table, self.model.section.field.related_model
            sql = f"""SELECT rail.id FROM {sections._meta.db_table} s CROSS JOIN LATERAL
                (SELECT a.id FROM {table} a WHERE a.section_id = s.id AND {VISIBLE_SQL} AND
                NOT (a.id = ANY(%s::bigint[]))
                ORDER BY a.published_at DESC, a.id DESC LIMIT %s) rail"""
            return RawSQL(sql, [PUBLISHED, now, now, list(exclude), per_section])
        ranked = self.published(now=now).exclude(pk__in=exclude)
        ranked = ranked.annotate(
            position=Window(
                RowNumber(),
                partition_by=[F("section_id")],
                order_by=[F("published_at").desc(), F("pk").desc()],
            )
        )
        return ranked.filter(position__lte=per_section).values("pk")

    def linked_by_headline(self, titles) -> dict:
        """Published articles whose headline matches one of `titles` (teasers, navigation),
        as a dict from headline key to article: one query however many titles."""
        from .prepared_reads import linked_rows

        keys = {headline_key(title) for title in titles if title}
        if not keys:
            return {}
        rows = linked_rows(keys, timezone.now())
        if rows is None:
            rows = self.by_headline_keys(keys)
        found = {}
        for article in rows:
            found.setdefault(article.headline_key, article)
        return found

    def by_headline_keys(self, keys, *, now: datetime.datetime | None = None):
        """Visible stories whose headline key is one of `keys`, newest first, as links."""
        rows = self.published(now=now).filter(headline_key__in=keys).select_related("section")
        return rows.only("headline", "slug", "headline_key", "section__slug").order_by(
            "-published_at"
        )


class CorrectionQuerySet(models.QuerySet):
    def published(self):
        """Corrections on stories readers may see, newest first, with their story's address."""
        return (
            self.filter(article__in=self.model.article.field.related_model.objects.published())
            .select_related("article__section")
            .order_by("-published_at", "-pk")
        )
