"""Real worker processes for tests: `manage.py run_worker -- --batch` against the test database
(PostgreSQL only: a subprocess cannot open the in-memory SQLite test database)."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
COMMAND = [
    sys.executable,
    str(ROOT / "manage.py"),
    "run_worker",
    "--",
    "--batch",
    "--no-startup-delay",
    "--no-reload",
]


def worker_env(*, smtp_port: int, **variables: str) -> dict[str, str]:
    """The environment of a worker that uses this test's database and sends to `smtp_port`."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "DJANGO_DEBUG": "0",
        "DJANGO_EMAIL_HOST": "127.0.0.1",
        "DJANGO_EMAIL_PORT": str(smtp_port),
        "NEWSROOM_SITE_URL": settings.SITE_URL,
        "NEWSROOM_LOG_FORMAT": "text",
        **variables,
    }
    env.pop("REDIS_URL", None)
    env.pop("DJANGO_EMAIL_BACKEND", None)
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
