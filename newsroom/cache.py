"""Whole-page caching for the public site, invalidated by surrogate keys.

Public pages are the same for every anonymous reader, so a view marked with `@public_page`
has its response stored in the cache (Redis in production) and served by
`PublicPageCacheMiddleware` before sessions, CSRF or the view run.

Every public response carries the keys of what it shows (each story on it, the listing it is;
`tag_response`), in a `Surrogate-Key` header for the edge and in its cache entry here. Each key
has a version in the cache; an entry is fresh while the versions it was stored under are still
the current ones. `purge(keys)` raises those versions after the transaction commits, so exactly
the pages showing what changed are made afresh, here and, through `newsroom.purge`, at the
edge. The key `all` is on every page: purging it is the old "everything is stale"
(`NEWSROOM_PAGE_CACHE_INVALIDATION=version` purges only it, for comparison).

A page is never kept past the next moment what it shows changes by itself (a scheduled story
entering its listings, a banner's expiry): the content's app lists those moments with their
keys (`NEWSROOM_UPCOMING_CHANGES`), and a page's lifetime stops at the first one touching its
keys, here and at the edge.

A page made while a purge went out (a second save during the render of the first one's
pages) is stored, but as stale: every purge also moves a counter, and a page is stored as fresh
only when the counter did not move while it was made. On Redis a hit is one round trip whatever
the number of keys: the versions are checked there (`newsroom.cache_backends`).

When a page goes stale under load, one request renders it while the others wait briefly for
that copy (a lock in the cache), so a purge of a hot page does not send a herd to the views.

Invalidation is never dropped: a process that cannot reach the cache when a change commits
leaves it to `retry_invalidation_task`, kept in the task database and retried until it lands.
A page's Last-Modified is never earlier than the last change (`content_changed_at`).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import random
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.http import http_date, parse_http_date_safe
from django.utils.module_loading import import_string
from django_tasks import task

from .purge import backends, purge_task

logger = logging.getLogger(__name__)

ALL = "all"  # on every public page
KEY_VERSION = "kv:{key}"
# A key's version is kept a day: one that has gone (expired, evicted) only makes the pages
# stored under it stale, never fresh, so the versions of a million stories need not stay.
KEY_VERSION_SECONDS = 86_400
PURGE_COUNTER = "purge-counter"  # moved by every purge
UPCOMING_KEY = "upcoming-changes"
CHANGED_AT_KEY = "content-changed-at"
DEFAULT_MAX_AGE = 60  # what browsers (and a cache that is never purged) may keep a page
LOCK_SECONDS = 10  # a render holding the lock longer than this is presumed dead
WAIT_SECONDS = 2.0  # how long a request waits for another's render before rendering itself
WAIT_STEP = 0.02
# Headers worth replaying on a cache hit; per-request ones (cookies, dates) are not stored.
STORED_HEADERS = {
    "content-type",
    "content-language",
    "cache-control",
    "etag",
    "last-modified",
    "x-frame-options",
    "x-content-type-options",
    "referrer-policy",
    "link",
    "cross-origin-opener-policy",
    "content-security-policy",
    "vary",
}
RETRY_DELAYS = (5, 15, 60, 300)  # seconds before each further attempt; then every 5 minutes


# --- keys ----------------------------------------------------------------------------------------


def tag_response(response, keys: Iterable[str]):
    """Add `keys` to what `response` (or the response to the request `response`) is known to
    show (see the module docstring). Returns it."""
    existing = getattr(response, "surrogate_keys", set())
    response.surrogate_keys = existing | {str(key) for key in keys}
    return response


def _new_version() -> int:
    return random.getrandbits(62)  # an int: Redis keeps it as digits, which its scripts compare


def _versions(keys: Iterable[str]) -> tuple[object, dict[str, int]]:
    """The purge counter, and the current version of each key (by its cache key), read together;
    versions are made up (and stored) for keys that have none."""
    names = [KEY_VERSION.format(key=key) for key in keys]
    found = cache.get_many([PURGE_COUNTER, *names])
    missing = {name: _new_version() for name in names if name not in found}
    if missing:
        _add_many(missing, timeout=KEY_VERSION_SECONDS)
        found.update(cache.get_many(list(missing)))
    return found.pop(PURGE_COUNTER, None), found


def _add_many(data: dict, *, timeout: int) -> None:
    """`cache.add` for each item: in one round trip on Redis (a story page has a dozen keys
    seen for the first time), one by one on other caches."""
    if hasattr(cache, "add_many"):
        cache.add_many(data, timeout=timeout)
        return
    for key, value in data.items():
        cache.add(key, value, timeout=timeout)


def read_with_pages(*names: str) -> None:
    """Have a page that is not served from the cache read `names` (what every render reads
    first, such as the navigation) in the same round trip as the page itself, for the render
    to find in `request.cache_reads`."""
    _PAGE_READS.extend(name for name in names if name not in _PAGE_READS)


_PAGE_READS = [UPCOMING_KEY, CHANGED_AT_KEY]


def _load(key: str) -> tuple[dict | None, bool, object, dict]:
    """The page kept under `key` (or None), whether it is fresh, the purge counter now and,
    unless it is fresh, what renders read first (`read_with_pages`) by name (None if absent)."""
    if hasattr(cache, "get_page"):
        entry, fresh, counter, reads = cache.get_page(key, PURGE_COUNTER, _PAGE_READS)
    else:
        found = cache.get_many([key, PURGE_COUNTER, *_PAGE_READS])
        entry, counter = found.get(key), found.get(PURGE_COUNTER)
        stored = entry["versions"] if entry else None
        fresh = bool(stored) and cache.get_many(list(stored)) == stored
        reads = {name: found.get(name) for name in _PAGE_READS}
    return entry, fresh and entry["expires"] > time.time(), counter, reads


def _save(key: str, entry: dict, keys: set[str], counter: object, ttl: int) -> None:
    """Keep `entry` under `key` for `ttl` seconds, under the current versions of `keys` if the
    purge counter still reads `counter`, else as stale."""
    if hasattr(cache, "store_page"):
        versions = {KEY_VERSION.format(key=key): _new_version() for key in keys}
        cache.store_page(
            key, entry, counter_key=PURGE_COUNTER, counter=counter, versions=versions,
            timeout=ttl, versions_timeout=KEY_VERSION_SECONDS,
        )  # fmt: skip
        return
    counter_now, versions = _versions(keys)
    cache.set(key, {**entry, "versions": versions if counter_now == counter else {}}, timeout=ttl)


def _mode_keys(keys: Iterable[str]) -> set[str]:
    if settings.NEWSROOM_PAGE_CACHE_INVALIDATION == "version":
        return {ALL}  # the old design: any change makes every page stale
    return set(keys)


def purge_now(keys: Iterable[str]) -> bool:
    """Make the pages carrying `keys` stale in this site's cache now. Returns False when the
    cache could not be reached (nothing was made stale)."""
    keys = _mode_keys(keys)
    _record_change(time.time())
    cache.delete(UPCOMING_KEY)
    # The counter first: a page made meanwhile that sees a new version sees the new counter.
    versions = {PURGE_COUNTER: _new_version()}
    versions.update((KEY_VERSION.format(key=key), _new_version()) for key in keys)
    cache.set_many(versions, timeout=KEY_VERSION_SECONDS)
    return getattr(cache, "available", True)


def purge(keys: Iterable[str], *, soft: bool = False) -> None:
    """Make the pages carrying `keys` stale, here and at the edge, once the transaction commits
    (at once outside one). The purges of one transaction go out together, as one batch. `soft`:
    the edge may serve its old copy while it fetches the new one (not for a takedown).

    The purges wait in a list on the connection; the first of a commit's callbacks to run sends
    its own and every later one (the rest of that transaction's: a commit runs its callbacks in
    order, one after another), and the others find theirs sent. Earlier ones still waiting were
    rolled back (their callbacks will never run) and are dropped."""
    item = (frozenset(keys), soft)
    waiting = connection.__dict__.setdefault("purges_waiting", [])
    waiting.append(item)

    def run():
        position = next((n for n, entry in enumerate(waiting) if entry is item), None)
        if position is None:
            return  # sent with an earlier callback's batch
        batch = waiting[position:]
        waiting.clear()
        keys = set().union(*(entry[0] for entry in batch))
        _send_purge(_mode_keys(keys), soft=all(entry[1] for entry in batch))

    transaction.on_commit(run)


def _send_purge(keys: set[str], *, soft: bool) -> None:
    if not purge_now(keys):
        logger.warning("cache unreachable: %s key(s) left to a retrying task", len(keys))
        retry_invalidation_task.enqueue(sorted(keys), attempt=1)
    if backends():
        purge_task().enqueue(sorted(keys), soft=soft)


def content_changed() -> None:
    """Something readers may see changed and nobody said which pages show it: all of them."""
    purge([ALL])


@task()
def retry_invalidation_task(keys: list[str] | None = None, attempt: int = 1) -> bool:
    """Make the pages carrying `keys` (default: every page) stale, as a change that could not
    reach the cache asked; when the cache still cannot be reached, try again later, for as long
    as it takes. Idempotent."""
    keys = keys or [ALL]
    if purge_now(keys):
        logger.info("cached pages made stale (attempt %s)", attempt)
        return True
    delay = RETRY_DELAYS[min(attempt - 1, len(RETRY_DELAYS) - 1)]
    if not retry_invalidation_task.get_backend().supports_defer:
        logger.error("cache unreachable and this task backend cannot retry later: not retried")
        return False
    later = retry_invalidation_task.using(run_after=timezone.now() + timedelta(seconds=delay))
    transaction.on_commit(partial(later.enqueue, keys, attempt=attempt + 1))
    return False


# --- lifetimes -----------------------------------------------------------------------------------


def _read(name: str, reads: dict | None):
    """`name`'s value in the cache, as read already (`request.cache_reads`) or now."""
    return reads[name] if reads and name in reads else cache.get(name)


def content_changed_at(reads: dict | None = None) -> float:
    """When what readers may see last changed, as a timestamp (now, when not known)."""
    moment = _read(CHANGED_AT_KEY, reads)
    if moment is None:
        moment = time.time()
        cache.add(CHANGED_AT_KEY, moment, timeout=None)
    return moment


def _record_change(moment: float) -> None:
    if moment > cache.get(CHANGED_AT_KEY, 0.0):
        cache.set(CHANGED_AT_KEY, moment, timeout=None)


def upcoming_changes(reads: dict | None = None) -> list[tuple[float, frozenset[str]]]:
    """(moment, keys) of the coming changes nobody saves (`NEWSROOM_UPCOMING_CHANGES`), soonest
    first, kept in the cache until the first of them or a purge."""
    now = time.time()
    cached = _read(UPCOMING_KEY, reads)
    if cached is None or (cached and cached[0][0] <= now):
        if cached:
            _record_change(cached[0][0])  # a scheduled change has happened by itself
        events = _upcoming_hook()(timezone.now())
        cached = sorted((moment.timestamp(), frozenset(keys)) for moment, keys in events)
        # Kept past the first change (looked at again then, and that change recorded), for a
        # day at most: a purge or a new scheduled story forgets it sooner.
        cache.set(UPCOMING_KEY, cached, timeout=86_400)
    return [event for event in cached if event[0] > now]


def seconds_until_next_change(keys: Iterable[str], upcoming: list | None = None) -> int | None:
    """Seconds until the next change, among those that nobody saves (`upcoming`, when read
    already), touching any of `keys`."""
    keys = set(keys) | {ALL}
    now = time.time()
    for moment, touched in upcoming_changes() if upcoming is None else upcoming:
        if ALL in touched or keys & touched:
            return max(0, int(moment - now))
    return None


@functools.cache
def _upcoming_hook():
    return import_string(settings.NEWSROOM_UPCOMING_CHANGES)


def edge_max_age() -> int:
    """What the edge may keep a page for: long when purges reach it, else a browser's minute."""
    return settings.NEWSROOM_EDGE_MAX_AGE if settings.NEWSROOM_PURGE_BACKENDS else DEFAULT_MAX_AGE


# --- views and the middleware -------------------------------------------------------------------


def public_page(view=None, *, max_age: int = DEFAULT_MAX_AGE, keys: Iterable[str] = ()):
    """Mark a view's 200 responses as the same for every reader: cacheable here and at the edge
    (purged by their keys: `keys`, and what the view tagged the response or the request with),
    by browsers for `max_age` seconds at most, and never past the next change touching their
    keys that nobody saves."""
    fixed = frozenset(keys)

    def decorator(func):
        @functools.wraps(func)
        def wrapper(request, *args, **kwargs):
            # Read before the view reads what it shows: a change due meanwhile is then still
            # on the list (it bounds the page, and the fragments kept for it, to now).
            reads = getattr(request, "cache_reads", None)
            request.upcoming_changes = upcoming = upcoming_changes(reads)
            response = func(request, *args, **kwargs)
            if request.method in ("GET", "HEAD") and response.status_code == 200:
                keys = getattr(response, "surrogate_keys", set()) | {ALL} | fixed
                keys |= getattr(request, "surrogate_keys", set())
                response.surrogate_keys = keys
                until = seconds_until_next_change(keys, upcoming)
                edge = edge_max_age() if until is None else min(edge_max_age(), until)
                # A view may bound it further (a live blog's updates: should a purge be lost).
                edge = min(edge, getattr(response, "public_page_edge_max_age", None) or edge)
                # A view may ask browsers for less (a live blog's page, while it is live).
                browser = min(getattr(response, "public_page_max_age", None) or max_age, edge)
                response.public_page_max_age = browser
                patch_cache_control(response, public=True, max_age=browser, s_maxage=edge)
                response[settings.NEWSROOM_SURROGATE_KEY_HEADER] = _header(keys)
                response.public_page_ttl = edge  # as long here as at the edge
                if response.has_header("Last-Modified"):
                    _not_modified_before(response, content_changed_at(reads))
            return response

        return wrapper

    return decorator(view) if view is not None else decorator


def _header(keys: set[str]) -> str:
    separator = "," if settings.NEWSROOM_SURROGATE_KEY_HEADER.lower() == "cache-tag" else " "
    return separator.join(sorted(keys))


def _not_modified_before(response: HttpResponse, moment: float) -> None:
    stated = parse_http_date_safe(response["Last-Modified"])
    if stated is None or stated < int(moment):
        response["Last-Modified"] = http_date(moment)


def set_last_modified(response: HttpResponse, moment: datetime | None) -> HttpResponse:
    if moment:
        response["Last-Modified"] = http_date(moment.timestamp())
    return response


def _stored_headers() -> set[str]:
    return STORED_HEADERS | {settings.NEWSROOM_SURROGATE_KEY_HEADER.lower()}


class PublicPageCacheMiddleware:
    """Serves cached public pages early and stores the responses of `@public_page` views."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = self._key(request)
        if key is None:
            return self.get_response(request)
        entry, fresh, counter, request.cache_reads = _load(key)
        if fresh:
            return self._replay(entry)
        request.purge_counter = counter  # what fragments made for this page are kept against
        if entry is None:  # never cached, or run out: nobody is waiting on it
            response = self.get_response(request)
            self._store(key, response, counter)
            return response
        # Purged while cached: a page readers are asking for. One request renders it; the
        # others wait a moment for that copy instead of all rendering it at once.
        lock = f"render:{key}"
        deadline = time.monotonic() + WAIT_SECONDS
        while not (locked := cache.add(lock, 1, timeout=LOCK_SECONDS)):
            if time.monotonic() >= deadline:
                break  # the render holding the lock is slow: make this one too
            time.sleep(WAIT_STEP)
            entry, fresh, counter, request.cache_reads = _load(key)
            if fresh:
                return self._replay(entry)
        request.purge_counter = counter
        try:
            response = self.get_response(request)
            self._store(key, response, counter)
        finally:
            if locked:
                cache.delete(lock)
        return response

    @staticmethod
    def _store(key: str, response, counter: object) -> None:
        """Keep `response` under `key`: fresh if no purge went out since the purge counter read
        `counter` (before the page was made), else as stale (the next reader makes it again)."""
        ttl = getattr(response, "public_page_ttl", 0)
        if not ttl or response.status_code != 200 or response.streaming or response.cookies:
            return
        if not response.has_header("ETag"):
            response["ETag"] = f'"{hashlib.md5(response.content).hexdigest()}"'
        entry = {
            "expires": time.time() + ttl,
            "max_age": getattr(response, "public_page_max_age", DEFAULT_MAX_AGE),
            "status": response.status_code,
            "headers": [(k, v) for k, v in response.items() if k.lower() in _stored_headers()],
            "content": response.content,
        }
        _save(key, entry, response.surrogate_keys, counter, ttl)

    @staticmethod
    def _key(request) -> str | None:
        if request.method not in ("GET", "HEAD"):
            return None
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            return None  # staff (or anyone with a session) always get a fresh page
        path = request.get_full_path()
        if path.startswith(("/admin/", "/static/", "/media/")):
            return None
        # The scheme too: a page made for https carries https links, which a reader on plain
        # http must not be given (and the reverse).
        digest = hashlib.sha1(f"{request.scheme}://{request.get_host()}{path}".encode()).hexdigest()
        return f"cached-page:{digest}"  # a Redis hash (a string before)

    @staticmethod
    def _replay(entry) -> HttpResponse:
        response = HttpResponse(entry["content"], status=entry["status"])
        for header, value in entry["headers"]:
            response[header] = value
        # The time left, not the time the page was first given, is what a cache may keep it for.
        remaining = max(0, int(entry["expires"] - time.time()))
        edge = min(edge_max_age(), remaining)
        browser = min(entry.get("max_age", DEFAULT_MAX_AGE), edge)
        patch_cache_control(response, public=True, max_age=browser, s_maxage=edge)
        response["X-Page-Cache"] = "hit"
        return response
