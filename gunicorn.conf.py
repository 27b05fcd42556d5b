"""gunicorn settings for Newsroom (used by the Docker image and `make run`). Every value can be
overridden with the environment variable named beside it."""

import multiprocessing
import os


def _int(name: str, default) -> int:
    """The variable's value, or `default` when it is unset or empty (as `.env.example` has it)."""
    return int(os.environ.get(name) or default)


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Sync workers: the app is CPU-bound Django with short database queries.
workers = _int("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1)
threads = _int("GUNICORN_THREADS", "1")
timeout = _int("GUNICORN_TIMEOUT", "30")
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", "30")
keepalive = _int("GUNICORN_KEEPALIVE", "5")
# Recycle workers now and then so a slow leak never becomes an outage.
max_requests = _int("GUNICORN_MAX_REQUESTS", "2000")
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", "200")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None  # empty: no access log
errorlog = "-"
access_log_format = (
    '{"time": "%(t)s", "remote": "%(h)s", "request": "%(r)s", "status": %(s)s, '
    '"bytes": "%(B)s", "ms": %(M)s, "request_id": "%({x-request-id}o)s", "agent": "%(a)s"}'
)
# Trust X-Forwarded-* only from the load balancer in front.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR") or None
