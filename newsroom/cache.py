"""Whole-page caching for the public site.

Public pages are the same for every anonymous reader, so a view marked with `@public_page`
has its response stored in the cache (Redis in production) and served by
`PublicPageCacheMiddleware` before sessions, CSRF or the view run.

Invalidation is by version: every cached page records the content version it was made under,
and any change to a story, section, author or correction bumps the version (after commit), so
the next request for any page is rendered afresh. A page is also never kept past the next
moment the published set changes by itself (a scheduled story's time, a breaking banner's
expiry), so a scheduled story appears on cached pages when its time comes, with no job running.

Invalidation is never dropped: a process that cannot reach the cache when a change commits
leaves the bump to `retry_invalidation_task`, kept in the task database and retried until the
cache takes it, so a withdrawn story is not served again once Redis is back.

A page's Last-Modified is never earlier than the last such change (`content_changed_at`): a
cache that revalidates with If-Modified-Since alone must not be told "not modified" about a
page that has since gained a correction or lost a withdrawn story.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from datetime import timedelta
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

logger = logging.getLogger(__name__)

VERSION_KEY = "content-version"
NEXT_CHANGE_KEY = "next-change:{version}"
CHANGED_AT_KEY = "content-changed-at"
DEFAULT_MAX_AGE = 60
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


def content_version() -> int:
    version = cache.get(VERSION_KEY)
    if version is None:
        version = time.time_ns()
        cache.add(VERSION_KEY, version, timeout=None)
        version = cache.get(VERSION_KEY, version)
    return version


def content_changed_at() -> float:
    """When what readers may see last changed, as a timestamp (now, when not known)."""
    moment = cache.get(CHANGED_AT_KEY)
    if moment is None:
        moment = time.time()
        cache.add(CHANGED_AT_KEY, moment, timeout=None)
    return moment


def _record_change(moment: float) -> None:
    if moment > cache.get(CHANGED_AT_KEY, 0.0):
        cache.set(CHANGED_AT_KEY, moment, timeout=None)


def bump_content_version() -> bool:
    """Make every cached page stale. Runs after the change commits, never before. Returns
    False when the cache could not be reached (nothing was made stale)."""
    _record_change(time.time())
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # no version yet (or evicted): start a fresh, never-used one
        cache.set(VERSION_KEY, time.time_ns(), timeout=None)
    return getattr(cache, "available", True)


def invalidate_or_retry() -> None:
    """Make cached pages stale now, or, when the cache cannot be reached from this process,
    leave the job to a background task that retries until it can (a withdrawal must not be
    lost because one process could not see Redis at that moment: its pages would be served
    again once Redis is back)."""
    if not bump_content_version():
        logger.warning("cache unreachable: pages will be made stale by a retrying task")
        retry_invalidation_task.enqueue(attempt=1)


RETRY_DELAYS = (5, 15, 60, 300)  # seconds before each further attempt; then every 5 minutes


@task()
def retry_invalidation_task(attempt: int = 1) -> bool:
    """Make cached pages stale, as a change that could not reach the cache asked; when the cache
    still cannot be reached, try again later, for as long as it takes. Idempotent."""
    if bump_content_version():
        logger.info("cached pages made stale (attempt %s)", attempt)
        return True
    delay = RETRY_DELAYS[min(attempt - 1, len(RETRY_DELAYS) - 1)]
    if not retry_invalidation_task.get_backend().supports_defer:
        logger.error("cache unreachable and this task backend cannot retry later: not retried")
        return False
    later = retry_invalidation_task.using(run_after=timezone.now() + timedelta(seconds=delay))
    transaction.on_commit(partial(later.enqueue, attempt=attempt + 1))
    return False


def content_changed() -> None:
    """Call when published content may have changed: the version is bumped once after the
    transaction commits (at once outside a transaction), however many changes it made.

    Every call queues its own callback and the first to run bumps for the others: whether
    one already ran is not judged from the queue, which tests run without committing."""
    bumps = getattr(connection, "content_bumps", 0)

    def bump():
        if getattr(connection, "content_bumps", 0) == bumps:
            connection.content_bumps = bumps + 1
            invalidate_or_retry()

    transaction.on_commit(bump)


def seconds_until_next_change(version: int) -> int | None:
    """Seconds until the next scheduled publication or banner expiry, cached per version. The
    content's app says when that is (`NEWSROOM_NEXT_CHANGE`: a function of the current time)."""
    key = NEXT_CHANGE_KEY.format(version=version)
    cached = cache.get(key)
    now = time.time()
    if cached is None or 0 < cached <= now:
        # Not known for this version, or the moment has passed (a scheduled story is out): look
        # again, and count the published set as changed now, as it may have by itself.
        _record_change(now)
        moment = _next_change()(timezone.now())
        cached = moment.timestamp() if moment else 0.0
        cache.set(key, cached, timeout=3600)
    if not cached:
        return None
    return max(0, int(cached - now))


@functools.cache
def _next_change():
    return import_string(settings.NEWSROOM_NEXT_CHANGE)


def public_page(view=None, *, max_age: int = DEFAULT_MAX_AGE):
    """Mark a view's 200 responses as the same for every reader: cacheable here and by a CDN
    for `max_age` seconds at most, and never past the next scheduled change."""

    def decorator(func):
        @functools.wraps(func)
        def wrapper(request, *args, **kwargs):
            response = func(request, *args, **kwargs)
            if request.method in ("GET", "HEAD") and response.status_code == 200:
                version = getattr(request, "_page_cache_version", None) or content_version()
                until = seconds_until_next_change(version)
                ttl = max_age if until is None else max(0, min(max_age, until))
                patch_cache_control(response, public=True, max_age=ttl)
                response.public_page_ttl = ttl
                if response.has_header("Last-Modified"):
                    _not_modified_before(response, content_changed_at())
            return response

        return wrapper

    return decorator(view) if view is not None else decorator


def _not_modified_before(response: HttpResponse, moment: float) -> None:
    stated = parse_http_date_safe(response["Last-Modified"])
    if stated is None or stated < int(moment):
        response["Last-Modified"] = http_date(moment)


def set_last_modified(response: HttpResponse, moment) -> HttpResponse:
    if moment:
        response["Last-Modified"] = http_date(moment.timestamp())
    return response


class PublicPageCacheMiddleware:
    """Serves cached public pages early and stores the responses of `@public_page` views."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = self._key(request)
        if key is None:
            return self.get_response(request)
        found = cache.get_many([VERSION_KEY, key])
        version = found.get(VERSION_KEY)
        entry = found.get(key)
        if entry and version is not None and entry["version"] == version:
            if entry["expires"] > time.time():
                return self._replay(entry)
        request._page_cache_version = version or content_version()

        response = self.get_response(request)
        ttl = getattr(response, "public_page_ttl", 0)
        if ttl and response.status_code == 200 and not response.streaming and not response.cookies:
            if not response.has_header("ETag"):
                response["ETag"] = f'"{hashlib.md5(response.content).hexdigest()}"'
            entry = {
                "version": request._page_cache_version,
                "expires": time.time() + ttl,
                "status": response.status_code,
                "headers": [(k, v) for k, v in response.items() if k.lower() in STORED_HEADERS],
                "content": response.content,
            }
            cache.set(key, entry, timeout=ttl)
        return response

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
        return f"page:{digest}"

    @staticmethod
    def _replay(entry) -> HttpResponse:
        response = HttpResponse(entry["content"], status=entry["status"])
        for header, value in entry["headers"]:
            response[header] = value
        # The time left, not the time the page was first given, is what a CDN may keep it for.
        remaining = max(0, int(entry["expires"] - time.time()))
        patch_cache_control(response, public=True, max_age=remaining)
        response["X-Page-Cache"] = "hit"
        return response
