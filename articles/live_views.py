"""A live blog's reading side: its entries on the story page, the small updates fragment its
page polls, and each entry's permalink.

The page works without JavaScript (a refresh shows new entries; older ones are on further
pages). With it, `static/js/live.js` polls the fragment, the newest entries as the page marks
them up, which is a public page like any other: cached here and at the edge, purged by the
blog's entries key (`surrogates.live`) when an entry is posted, approved, edited or removed,
so thousands of readers polling it cost the origin one render per change. Its ETag is made of
the entries it shows (their numbers and versions) and the blog's status: a poll that finds
nothing new is a 304 from the edge."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render

from newsroom.cache import public_page, tag_response

from . import body, surrogates
from .models import Article, LiveEntry
from .services import media

ENTRIES_PER_PAGE = 20
UPDATES_SHOWN = 20  # the fragment's entries: more than a reader's poll can miss in 10 s
KEY_EVENTS = 10
UPDATES_MAX_AGE = 5  # what a browser keeps the fragment for
UPDATES_EDGE_MAX_AGE = 30  # and the edge, though purged at once: a lost purge costs 30 s


@dataclass
class LiveEntries:
    """Entries of a blog as a page shows them, with their bodies split into segments and,
    once `resolve`d, each segment's picture, gallery or embed."""

    article: Article
    rows: list[LiveEntry]
    page: Page | None = None
    key_events: list[tuple[LiveEntry, str]] = field(default_factory=list)
    parts: dict[int, list] = field(default_factory=dict)
    shown: list[tuple[LiveEntry, list]] = field(default_factory=list)

    def __post_init__(self):
        self.parts = {entry.pk: body.segments(entry.body) for entry in self.rows}

    @property
    def permalink_base(self) -> str:
        return f"{self.article.get_absolute_url()}live/"

    @property
    def updates_url(self) -> str:
        return f"{self.permalink_base}updates/"

    @property
    def poll_seconds(self) -> int:
        first = self.page is None or self.page.number == 1
        return settings.NEWSROOM_LIVE_POLL_SECONDS if self.article.is_live and first else 0

    def segments(self) -> list:
        return [segment for parts in self.parts.values() for segment in parts]

    def resolve(self, pictures: dict, embeds: dict) -> LiveEntries:
        self.shown = [
            (entry, [(s, media.component(s, pictures, embeds)) for s in self.parts[entry.pk]])
            for entry in self.rows
        ]
        return self

    def keys(self) -> set[str]:
        """What these entries show: the blog's entries, their pictures and bylines."""
        keys = {surrogates.live(self.article.pk)}
        keys |= {surrogates.image(pk) for segment in self.segments() for pk in segment.ids}
        keys |= {surrogates.author(e.author_id) for e in self.rows if e.author_id}
        return keys

    @property
    def etag(self) -> str:
        seen = ",".join(f"{entry.pk}.{entry.version}" for entry in self.rows)
        digest = hashlib.sha1(f"{self.article.live_status}:{seen}".encode()).hexdigest()[:20]
        return f'"lv{self.article.pk}-{digest}"'


def entries_page(request, article: Article) -> LiveEntries:
    """The page of entries `?page=` asks for (newest first), and the pinned key events: three
    queries whatever the number of entries (their count, the page's, the key events')."""
    shown = LiveEntry.objects.shown(article.pk)
    page = Paginator(shown.for_page(), ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    found = LiveEntries(article, list(page), page=page)
    on_page = {entry.pk for entry in found.rows}
    events = shown.filter(status=LiveEntry.Status.PUBLISHED, key_event=True)
    events = events.only("title", "body", "posted_at")[:KEY_EVENTS]
    found.key_events = [
        (e, f"#{e.anchor}" if e.pk in on_page else f"{found.permalink_base}{e.pk}/") for e in events
    ]
    return found


def newest_entries(article: Article, count: int = UPDATES_SHOWN) -> LiveEntries:
    """The blog's newest entries (its structured data's updates, the fragment's)."""
    return LiveEntries(article, list(LiveEntry.objects.shown(article.pk).for_page()[:count]))


def _blog(slug: str) -> Article:
    """A visible live blog by its slug, with just what the fragment and permalinks need."""
    article = (
        Article.objects.published()
        .exclude(live_status="")
        .select_related("section")
        .only("slug", "headline", "live_status", "section__slug")
        .filter(slug=slug)
        .first()
    )
    if article is None:
        raise Http404("No such live blog")
    return article


@public_page(max_age=UPDATES_MAX_AGE)
def live_updates(request, section, slug):
    """The newest entries as the page marks them up, for `live.js` to add to an open page."""
    article = _blog(slug)
    live = newest_entries(article)
    live.resolve(*media.body_media(live.segments()))
    context = {"article": article, "live": live}
    response = render(request, "articles/live_updates.html", context)
    response["ETag"] = live.etag
    response["X-Robots-Tag"] = "noindex"
    response.public_page_edge_max_age = UPDATES_EDGE_MAX_AGE
    return tag_response(response, live.keys() | {surrogates.story(article.pk)})


def entry_permalink(request, section, slug, entry):
    """An entry's lasting address: the page of the blog it is on now (newer entries push it
    further), opened at it. An entry that is gone leads to the blog."""
    article = _blog(slug)
    shown = LiveEntry.objects.shown(article.pk)
    found = shown.filter(pk=entry).values("pk", "posted_at").first()
    url = article.get_absolute_url()
    if found is None:
        return HttpResponseRedirect(url)
    newer = Q(posted_at__gt=found["posted_at"]) | Q(posted_at=found["posted_at"], pk__gt=entry)
    page = shown.filter(newer).count() // ENTRIES_PER_PAGE + 1
    query = f"?page={page}" if page > 1 else ""
    return HttpResponseRedirect(f"{url}{query}#entry-{entry}")
