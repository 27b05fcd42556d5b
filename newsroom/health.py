"""Health endpoints for the load balancer and the orchestrator. Both are cheap, never cached,
and answer JSON."""

import time

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache


@never_cache
def healthz(request):
    """Liveness: the process answers. Touches neither the database nor the cache, so a database
    outage does not get every app container restarted."""
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request):
    """Readiness: the database and the cache answer; 503 with the reason when one does not, so
    the load balancer sends traffic elsewhere until it recovers."""
    problems = {}
    started = time.monotonic()
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        problems["database"] = _first_line(exc)
        connection.close_if_unusable_or_obsolete()
    try:
        cache.set("readyz", "ok", timeout=10)
        if cache.get("readyz") != "ok":
            problems["cache"] = "cache did not return what was stored"
    except Exception as exc:  # any cache backend's failure means "not ready", not a 500
        problems["cache"] = _first_line(exc)
    body = {
        "status": "unavailable" if problems else "ok",
        "checks": {name: problems.get(name, "ok") for name in ("database", "cache")},
        "ms": round((time.monotonic() - started) * 1000, 1),
    }
    return JsonResponse(body, status=503 if problems else 200)


def _first_line(exc) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else exc.__class__.__name__
