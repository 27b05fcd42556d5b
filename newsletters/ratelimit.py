"""Fixed-window rate limits in Django's cache (Redis in production, so every web process shares
the counts): sign-ups per client address and confirmation emails per email address."""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache

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


def client_ip(request) -> str:
    """The reader's address: the peer, or with NEWSROOM_PROXY_COUNT trusted proxies in front,
    the entry of X-Forwarded-For those proxies vouch for (never one the client wrote itself)."""
    proxies = settings.NEWSROOM_PROXY_COUNT
    if proxies:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")
