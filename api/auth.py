"""The content API's keys and rate limits.

A consumer sends its key as `Authorization: Bearer nrk_…`. The key is looked up by its hash
(one indexed query); an unknown or deactivated key is a 401. Each consumer may make
`requests_per_minute` requests in a calendar minute, counted with one atomic increment in the
shared cache (Redis in production), so every gunicorn worker and container counts together;
over the limit the answer is 429 with `Retry-After`. (django-ninja's own throttles keep a list
of timestamps with a read and a write, which loses counts between workers at exactly the
moment a consumer is busiest.)"""

from __future__ import annotations

import time
from datetime import timedelta

from django.core.cache import cache
from django.utils import timezone
from ninja.security import HttpBearer
from ninja.throttling import BaseThrottle

from .models import Consumer, key_hash

# `last_used_at` is written at most this often a consumer: a write per request would be a
# database write per API call.
LAST_USED_EVERY = timedelta(minutes=5)


class ConsumerKey(HttpBearer):
    openapi_scheme = "bearer"

    def authenticate(self, request, token: str) -> Consumer | None:
        if not token or len(token) > 200:
            return None
        consumer = Consumer.objects.filter(key_hash=key_hash(token), is_active=True).first()
        if consumer is None:
            return None
        now = timezone.now()
        if consumer.last_used_at is None or now - consumer.last_used_at > LAST_USED_EVERY:
            Consumer.objects.filter(pk=consumer.pk).update(last_used_at=now)
        return consumer


class PerConsumerRate(BaseThrottle):
    """`requests_per_minute` of the authenticated consumer, in fixed one-minute windows."""

    def allow_request(self, request) -> bool:
        consumer = request.auth
        now = time.time()
        window = int(now // 60)
        self.retry = 60 - (now % 60)
        key = f"api-rate:{consumer.pk}:{window}"
        cache.add(key, 0, timeout=90)
        try:
            count = cache.incr(key)
        except ValueError:  # the key ran out between add and incr: a new window
            cache.set(key, 1, timeout=90)
            count = 1
        return count <= consumer.requests_per_minute

    def wait(self) -> float:
        return self.retry
