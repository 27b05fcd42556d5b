"""Fixed-window rate limits on sign-ups: per client address and per email address.

The counts live in Django's cache (Redis in production, so every web process shares them).
While the cache is unavailable (`ResilientRedisCache.available` is False: its circuit breaker
is skipping Redis) they are counted in the database instead (`SignupCount`), one upsert per
attempt, so the limits still hold across every process; a limit that failed open would let
anyone flood one inbox whenever Redis is down. Counts do not move between the two stores, so
across an outage a client can get at most twice a limit in one window.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from django.core.cache import cache
from django.db import connection
from django.utils.crypto import salted_hmac

from newsroom.clientip import client_ip  # noqa: F401  (the one client-address rule)

WINDOW_SECONDS = 3600
DIGEST_SALT = "newsletters.ratelimit"


def allow(scope: str, value: str, *, limit: int, window: int = WINDOW_SECONDS) -> bool:
    """Count one attempt for `value` in `scope`; True while the count is within `limit` for the
    current window. The value is known only by a digest keyed with the secret key, so neither
    the cache nor the database holds an address that could be read back."""
    digest = salted_hmac(DIGEST_SALT, value.strip().lower()).hexdigest()[:32]
    # The window is part of the key, so a new window starts from zero by the clock alone.
    bucket = int(time.time() // window)
    key = f"newsletters:rate:{scope}:{bucket}:{digest}"
    count = _count_in_cache(key, window)
    if count is None:
        count = _count_in_database(key, expires=(bucket + 1) * window)
    return count <= limit


def _cache_available() -> bool:
    # A cache without a breaker (local memory, in development and tests) is always there.
    return getattr(cache, "available", True)


def _count_in_cache(key: str, window: int) -> int | None:
    """The attempt's number in the cache, or None when the cache is unavailable (before or
    during these calls: a failing call opens the breaker)."""
    if not _cache_available():
        return None
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # no such key: expired between add and incr, or the cache failed
        if not _cache_available():
            return None
        cache.set(key, 1, timeout=window)
        count = 1
    return count if _cache_available() else None


def _count_in_database(key: str, *, expires: int) -> int:
    """The attempt's number, counted in one statement that inserts or increments the row
    (PostgreSQL and SQLite both have ON CONFLICT ... RETURNING), after deleting past windows'
    rows."""
    from .models import SignupCount

    expires_at = datetime.fromtimestamp(expires, tz=UTC)
    now = datetime.fromtimestamp(time.time(), tz=UTC)
    SignupCount.objects.filter(expires_at__lte=now).delete()
    table = connection.ops.quote_name(SignupCount._meta.db_table)
    key_column, count_column, expires_column = (
        connection.ops.quote_name(SignupCount._meta.get_field(name).column)
        for name in ("key", "count", "expires_at")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({key_column}, {count_column}, {expires_column})"
            f" VALUES (%s, 1, %s) ON CONFLICT ({key_column})"
            f" DO UPDATE SET {count_column} = {table}.{count_column} + 1"
            f" RETURNING {count_column}",
            [key, connection.ops.adapt_datetimefield_value(expires_at)],
        )
        return cursor.fetchone()[0]
