"""Purging the edge: telling the caches in front of the site (Varnish here, a CDN in production)
to forget the pages that carry some surrogate keys.

Backends are configured in `NEWSROOM_PURGE_BACKENDS` (a list of dicts, each with a `BACKEND`
dotted path and its options); each takes a batch of keys and sends as few requests as its API
allows. `purge_edge_task` runs them after the change has committed, on the `edge` queue's
worker, and a failure is retried with growing delays until the edge has taken the purge: a
takedown must reach it.

- `VarnishPurge`: `PURGE` to each Varnish, with the keys in an `xkey-purge` header (hard, for
  a takedown) or `xkey-softpurge` (the copy stays usable as stale while one fetch refreshes it,
  so a purge of a hot page makes no stampede). Varnish must allow-list the sender (the VCL in
  `deploy/varnish/` does).
- `FastlyPurge`: Fastly's surrogate-key purge API, 256 keys a request, `Fastly-Soft-Purge`.
- `CloudflarePurge`: Cloudflare's purge-by-cache-tag API, 30 tags a request.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from functools import cache, partial

from django.conf import settings
from django.core.signals import setting_changed
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks import task

logger = logging.getLogger(__name__)
TIMEOUT = 5  # seconds per request to an edge
RETRY_DELAYS = (1, 5, 15, 60, 300)  # before each further attempt; then every 5 minutes
# Purges have a queue of their own, with its own worker (`run_worker -- --queue-name edge
# --interval 0.1`): a takedown must not wait behind a newsletter being sent.
QUEUE = "edge"


class PurgeFailed(Exception):
    """An edge did not take the purge (down, refused, or an unexpected answer)."""


def _send(request: urllib.request.Request) -> bytes:
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.read()
    except urllib.error.HTTPError as exc:
        raise PurgeFailed(f"{request.full_url}: {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise PurgeFailed(f"{request.full_url}: {exc}") from None


def _batches(keys: list[str], size: int):
    for start in range(0, len(keys), size):
        yield keys[start : start + size]


@dataclass
class VarnishPurge:
    """PURGE to each Varnish in `urls`, keys in one header (xkey takes several)."""

    urls: list[str]
    batch: int = 100  # keys per request: headers stay well under Varnish's 8 KB default

    def purge(self, keys: list[str], *, soft: bool) -> int:
        header = "xkey-softpurge" if soft else "xkey-purge"
        requests = 0
        for url in self.urls:
            for chunk in _batches(keys, self.batch):
                request = urllib.request.Request(
                    url, method="PURGE", headers={header: " ".join(chunk)}
                )
                _send(request)
                requests += 1
        return requests


@dataclass
class FastlyPurge:
    service_id: str
    token: str
    api_url: str = "https://api.fastly.com"
    batch: int = 256  # Fastly's limit of keys per purge request

    def purge(self, keys: list[str], *, soft: bool) -> int:
        requests = 0
        for chunk in _batches(keys, self.batch):
            headers = {"Fastly-Key": self.token, "Surrogate-Key": " ".join(chunk)}
            if soft:
                headers["Fastly-Soft-Purge"] = "1"
            url = f"{self.api_url.rstrip('/')}/service/{self.service_id}/purge"
            _send(urllib.request.Request(url, method="POST", headers=headers))
            requests += 1
        return requests


@dataclass
class CloudflarePurge:
    zone_id: str
    token: str
    api_url: str = "https://api.cloudflare.com/client/v4"
    batch: int = 30  # Cloudflare's limit of tags per purge request

    def purge(self, keys: list[str], *, soft: bool) -> int:
        requests = 0
        for chunk in _batches(keys, self.batch):
            url = f"{self.api_url.rstrip('/')}/zones/{self.zone_id}/purge_cache"
            headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
            body = json.dumps({"tags": chunk}).encode()
            answer = _send(urllib.request.Request(url, method="POST", headers=headers, data=body))
            try:
                ok = json.loads(answer).get("success") is True
            except ValueError:
                ok = False
            if not ok:
                raise PurgeFailed(f"{url}: Cloudflare did not report success: {answer[:200]!r}")
            requests += 1
        return requests


@cache
def backends() -> tuple:
    """The configured purge backends (none: the site has no edge to purge)."""
    configured = []
    for entry in settings.NEWSROOM_PURGE_BACKENDS:
        options = {k.lower(): v for k, v in entry.items() if k != "BACKEND"}
        configured.append(import_string(entry["BACKEND"])(**options))
    return tuple(configured)


def edge_names() -> list[str]:
    return [type(backend).__name__ for backend in backends()]


@task(queue_name=QUEUE)
def purge_edge_task(keys: list[str], soft: bool = False, attempt: int = 1) -> int:
    """Purge `keys` at every edge; when one does not take it, try again later (the whole batch:
    purging twice is harmless). Returns the number of requests sent."""
    keys = sorted(set(keys))
    sent = 0
    try:
        for backend in backends():
            sent += backend.purge(keys, soft=soft)
    except PurgeFailed as exc:
        delay = RETRY_DELAYS[min(attempt - 1, len(RETRY_DELAYS) - 1)]
        logger.warning("edge purge of %s key(s) failed (%s); again in %s s", len(keys), exc, delay)
        if purge_edge_task.get_backend().supports_defer:
            later = purge_task().using(run_after=timezone.now() + timedelta(seconds=delay))
            transaction.on_commit(partial(later.enqueue, keys, soft=soft, attempt=attempt + 1))
        else:
            logger.error("this task backend cannot retry later: edge purge not retried")
        return sent
    logger.info(
        "edge purge: %s key(s), %s request(s), %s", len(keys), sent, "soft" if soft else "hard"
    )
    return sent


def purge_task():
    """`purge_edge_task` on the `edge` queue, or on the default one where the task backend has
    no `edge` queue (a purge must not fail for want of its own worker)."""
    if QUEUE in purge_edge_task.get_backend().queues:
        return purge_edge_task
    return purge_edge_task.using(queue_name="default")


@receiver(setting_changed)
def _forget_backends(setting, **kwargs):
    if setting == "NEWSROOM_PURGE_BACKENDS":
        backends.cache_clear()
