"""Fixed-window rate limits in Django's cache (Redis in production, so every web process shares
the counts): sign-ups per client address and confirmation emails per email address."""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache

from newsroom.clientip import client_ip  # noqa: F401  (the one client-address rule)

WINDOW_SECONDS = 3600


def allow(scope: str, value: str, *, limit: int, window: int = WINDOW_SECONDS) -> bool:
    """Count one attempt for `value` in `scope`; True while the count is within `limit` for the
    current window. The value is hashed, so no address is kept in the cache in clear."""
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    # The window is part of the key, so a new window starts from zero by the clock alone.
    bucket = int(time.time() // window)
    key = f"newsletters:rate:{scope}:{bucket}:{digest}"
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: this is the first attempt of a window
        cache.set(key, 1, timeout=window)
        count = 1
    return count <= limit
