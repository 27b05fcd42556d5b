"""Surrogate keys: the names of what a public response shows, so a change purges exactly the
pages showing it (`newsroom.cache`, and the edge through `newsroom.purge`).

Two kinds of key. What a page *shows* of an object: `a12` (story 12: its page, and its card
wherever it appears), `p3` (author 3's byline and profile), `t7` (tag 7's name), `i5` (library
picture 5), `e2` (an embed's snapshot), `h…` (a headline teasers and previous/next lines link to
by its words, linked only while a visible story has it), `lv12` (live blog 12's entries: its
page, its updates fragment, its entries' permalinks). And the *listings*, whose membership
or order changes when a story enters, leaves or moves: `home`, `s4` (section 4's pages and feed),
`tl7` (tag 7's page), `pl3` (author 3's page), `d20261201` and `m202612` (the archive's day and
month), `feeds`, `sitemaps`, `search`, `corrections`, `r12` (story 12's own page's related
rail: the stories of its section just before it), and `breaking` (the breaking-news banner,
on every page of the site: its stories, their headlines and addresses).

A story's edit that changes none of what decides where it is listed purges its own key only:
every page showing it carries that key. One that does (publication, withdrawal, a new time,
section, tag or author, the featured or breaking flags) purges the listings it was on and the
ones it is now on, and nothing else.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Min, Q, Subquery
from django.utils import timezone

from pictures.keys import embed as embed  # pictures' keys, named here with the others
from pictures.keys import image

from .parsing import headline_key

RELATED_RAIL = 3  # a story page's related stories when none are chosen: those just before it
HOME, FEEDS, SITEMAPS, SEARCH, CORRECTIONS = "home", "feeds", "sitemaps", "search", "corrections"
BREAKING = "breaking"  # the banner on every page


def story(pk: int) -> str:
    return f"a{pk}"


def live(pk: int) -> str:
    """Live blog `pk`'s entries: its page, its updates fragment and its entries' permalinks
    (not its cards: a new entry changes none of them)."""
    return f"lv{pk}"


def section(pk: int) -> str:
    return f"s{pk}"


def rail(pk: int) -> str:
    """Story `pk`'s own page's "related stories" rail (not its cards elsewhere)."""
    return f"r{pk}"


def author(pk: int) -> str:
    return f"p{pk}"


def author_listing(pk: int) -> str:
    return f"pl{pk}"


def tag(pk: int) -> str:
    return f"t{pk}"


def tag_listing(pk: int) -> str:
    return f"tl{pk}"


def headline(title: str) -> str:
    """The key of the pages linking to whichever visible story has this headline."""
    return "h" + hashlib.sha1(headline_key(title).encode()).hexdigest()[:12]


def day(moment: datetime.datetime) -> str:
    return f"d{timezone.localtime(moment):%Y%m%d}"


def month(first: datetime.date) -> str:
    return f"m{first:%Y%m}"


def archive(moment: datetime.datetime) -> set[str]:
    local = timezone.localtime(moment)
    return {f"d{local:%Y%m%d}", f"m{local:%Y%m}"}


# --- what pages show ------------------------------------------------------------------------


def of_cards(stories: Iterable) -> set[str]:
    """The keys of story cards: each story, its bylines and its picture. Reads only what
    `for_listing()` and `for_links()` load (prefetched bylines, the picture's id)."""
    keys = set()
    for item in stories:
        if item is None:
            continue
        keys.add(story(item.pk))
        if item.hero_image_id:
            keys.add(image(item.hero_image_id))
        prefetched = getattr(item, "_prefetched_objects_cache", {})
        keys.update(author(a.pk) for a in prefetched.get("authors", ()))
    return keys


# --- what a change purges -------------------------------------------------------------------


@dataclass(frozen=True)
class Placement:
    """What decides where a story is listed, as it was or is now."""

    pk: int
    visible: bool
    published_at: datetime.datetime | None
    section_id: int | None
    headline: str
    featured: bool = False
    breaking: bool = False
    tag_ids: frozenset[int] = frozenset()
    author_ids: frozenset[int] = frozenset()

    def listings(self) -> set[str]:
        """Every listing showing the story in this state (none when not visible)."""
        if not self.visible:
            return set()
        keys = {HOME, FEEDS, SITEMAPS, SEARCH, headline(self.headline)}
        keys |= {section(self.section_id)} if self.section_id else set()
        keys |= archive(self.published_at) if self.published_at else set()
        keys |= {tag_listing(pk) for pk in self.tag_ids}
        keys |= {author_listing(pk) for pk in self.author_ids}
        return keys | ({BREAKING} if self.breaking else set())


def for_change(before: Placement | None, after: Placement | None, *, text: bool = False) -> set:
    """The keys to purge when a story goes from `before` to `after` (None: it did not exist,
    or no longer does). `text`: its words changed (search results may differ)."""
    pk = (after or before).pk
    keys = {story(pk)}
    if before is None or after is None or before.visible != after.visible:
        return (
            keys | (before.listings() if before else set()) | (after.listings() if after else set())
        )
    if not after.visible:
        return keys
    if before.published_at != after.published_at:
        return keys | before.listings() | after.listings()
    keys |= {SITEMAPS}  # its last-modified time is listed there
    if text:
        keys |= {SEARCH}
    if before.headline != after.headline:
        keys |= {headline(before.headline), headline(after.headline), SEARCH, FEEDS}
    if before.section_id != after.section_id:
        keys |= {HOME, FEEDS, section(before.section_id), section(after.section_id)}
    if before.featured != after.featured:
        keys |= {HOME}
    shown = (before.headline, before.section_id) != (after.headline, after.section_id)
    if before.breaking != after.breaking or (after.breaking and shown):
        keys |= {BREAKING}  # the banner gains, loses or shows it anew (its words, its address)
    keys |= {tag_listing(pk) for pk in before.tag_ids ^ after.tag_ids}
    keys |= {author_listing(pk) for pk in before.author_ids ^ after.author_ids}
    return keys


# --- what changes by itself -----------------------------------------------------------------

UPCOMING_LIMIT = 50  # of each kind; past the last one known, every page ends (`ALL`)


def upcoming_changes(now: datetime.datetime) -> list[tuple[datetime.datetime, set[str]]]:
    """The coming moments at which pages change with nobody saving anything, and the keys of
    the pages each touches (`NEWSROOM_UPCOMING_CHANGES`): a scheduled story enters its
    listings, a time-limited one leaves them ("unpublish at"), a breaking banner runs out, a
    picture's licence ends. At most UPCOMING_LIMIT of each kind; when there are more,
    everything ends at the last one known (`all`), to be looked at again then. One query, and
    one or two for each kind there is."""
    from django.contrib.contenttypes.models import ContentType
    from taggit.models import TaggedItem

    from pictures.models import Image

    from .models import Article
    from .models.choices import Status

    events, horizons = [], []

    def limited(rows: list, moment) -> list:
        if len(rows) == UPCOMING_LIMIT:
            horizons.append(moment(rows[-1]))
        return rows

    # One query says which kinds there are (most often none); rows only for those.
    first_expiry = (
        Image.objects.filter(rights_expire_at__gt=now).order_by("rights_expire_at")
        .values("rights_expire_at")[:1]
    )  # fmt: skip
    firsts = Article.objects.filter(status=Status.PUBLISHED).aggregate(
        scheduled=Min("published_at", filter=Q(published_at__gt=now)),
        ending=Min("unpublish_at", filter=Q(unpublish_at__gt=now)),
        banners=Min("breaking_until", filter=Q(is_breaking=True, breaking_until__gt=now)),
        pictures=Min(Subquery(first_expiry)),
    )
    placed_by = ("pk", "published_at", "section_id", "headline", "is_breaking", "breaking_until")
    scheduled = [] if firsts["scheduled"] is None else limited(
        list(Article.objects.scheduled(now=now).order_by("published_at")
             .values(*placed_by, "unpublish_at")[:UPCOMING_LIMIT]),
        lambda row: row["published_at"],
    )  # fmt: skip
    ending = [] if firsts["ending"] is None else limited(
        list(Article.objects.filter(status=Status.PUBLISHED, unpublish_at__gt=now)
             .order_by("unpublish_at").values(*placed_by, "unpublish_at")[:UPCOMING_LIMIT]),
        lambda row: row["unpublish_at"],
    )  # fmt: skip
    pks = {row["pk"] for row in [*scheduled, *ending]}
    kind = ContentType.objects.get_for_model(Article)
    tags = TaggedItem.objects.filter(content_type=kind, object_id__in=pks)
    authors = Article.authors.through.objects.filter(article_id__in=pks)
    by_story = {pk: (set(), set()) for pk in pks}
    for story_pk, tag_pk in tags.values_list("object_id", "tag_id") if pks else ():
        by_story[story_pk][0].add(tag_pk)
    for story_pk, author_pk in authors.values_list("article_id", "author_id") if pks else ():
        by_story[story_pk][1].add(author_pk)

    def listed(row, at) -> set[str]:
        """Every page a story in `row` lists on at moment `at`, and its own."""
        placed = Placement(
            pk=row["pk"], visible=True, published_at=row["published_at"],
            section_id=row["section_id"], headline=row["headline"],
            tag_ids=frozenset(by_story[row["pk"]][0]), author_ids=frozenset(by_story[row["pk"]][1]),
            breaking=row["is_breaking"] and (  # a banner still running at that moment
                row["breaking_until"] is None or row["breaking_until"] > at
            ),
        )  # fmt: skip
        return placed.listings() | {story(row["pk"])}

    # A scheduled story enters its listings; a time-limited one leaves them.
    events = [(row["published_at"], listed(row, row["published_at"])) for row in scheduled]
    events += [(row["unpublish_at"], listed(row, row["unpublish_at"])) for row in ending]
    banners = [] if firsts["banners"] is None else limited(
        list(Article.objects.published(now=now).filter(is_breaking=True, breaking_until__gt=now)
             .order_by("breaking_until").values_list("pk", "breaking_until")[:UPCOMING_LIMIT]),
        lambda row: row[1],
    )  # fmt: skip
    events += [(until, {BREAKING, story(pk)}) for pk, until in banners]
    expiring = [] if firsts["pictures"] is None else limited(
        list(Image.objects.filter(rights_expire_at__gt=now).order_by("rights_expire_at")
             .values_list("pk", "rights_expire_at")[:UPCOMING_LIMIT]),
        lambda row: row[1],
    )  # fmt: skip
    events += [(until, {image(pk)}) for pk, until in expiring]
    if horizons:
        events.append((min(horizons), {"all"}))
    return sorted(events, key=lambda event: event[0])
