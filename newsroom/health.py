"""Health endpoints for the load balancer and the orchestrator. Both are cheap, never cached,
and answer JSON that names what failed, never where it lives (no host, port or database name:
the answer is public).

- `/healthz`, liveness: the process answers. It touches nothing external, so an outage of the
  database or Redis never gets every app container restarted at once.
- `/readyz`, readiness: 503 only for what makes this container useless, the database. The
  cache is optional (pages are made afresh without it), so a cache outage is reported as
  "degraded" with a 200: a shared Redis going down must not take every container out of the
  load balancer together.
- Read replicas, when there are any, are reported the same way: one that is down or late only
  sends its reads to the primary, so it makes the answer "degraded", never a 503 (a replica
  failing must not empty the load balancer either). Their state is this process's latest
  verdict (`newsroom.replicas`), checked again when it is due, so a probe never waits on a
  replica that has gone away more than once per retry interval.
"""

import logging
import time

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from . import replicas

logger = logging.getLogger(__name__)


@never_cache
def healthz(request):
    """Liveness: the process answers."""
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request):
    started = time.monotonic()
    checks = {"database": _database(), "cache": _cache()}
    replica_checks = {
        alias: replicas.replica_state(alias).describe() for alias in replicas.replica_aliases()
    }
    if replica_checks:
        checks["replicas"] = replica_checks
    status = "ok"
    if checks["cache"] != "ok" or any(state != "ok" for state in replica_checks.values()):
        status = "degraded"
    if checks["database"] != "ok":
        status = "unavailable"
    body = {"status": status, "checks": checks, "ms": round((time.monotonic() - started) * 1000, 1)}
    return JsonResponse(body, status=503 if status == "unavailable" else 200)


def _database() -> str:
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.error("readiness: the database is unavailable: %s", exc)  # details in the log
        connection.close_if_unusable_or_obsolete()
        return "unavailable"
    return "ok"


def _cache() -> str:
    if not getattr(cache, "available", True):
        return "unavailable (skipped for now; pages are made without it)"
    try:
        cache.set("readyz", "ok", timeout=10)
        if cache.get("readyz") == "ok":
            return "ok"
    except Exception as exc:  # any cache backend's failure is a degraded cache, not a 500
        logger.warning("readiness: the cache is unavailable: %s", exc)
    return "unavailable (pages are made without it)"
