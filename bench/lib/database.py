"""The benchmark databases on the loopback PostgreSQL server: which one (never one elsewhere or
not named *bench*, since every run drops it), recreating it, filling it, and SQL on it."""

import json
import os
import time
from urllib.parse import urlsplit, urlunsplit

import psycopg2

from . import LOOPBACK_HOSTS, PYTHON, BenchError
from .commands import command_env, manage, run_child

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/newsroom_bench"


def database_url(name=None, *, variable="BENCH_DATABASE_URL", default=DEFAULT_URL) -> str:
    """`$variable` (else `default`), with the database `name` when given. Refused unless it is a
    PostgreSQL database on this machine whose name contains "bench"."""
    parts = urlsplit(os.environ.get(variable) or default)
    parts = parts._replace(path=f"/{name}") if name else parts
    if parts.scheme not in {"postgres", "postgresql"}:
        raise BenchError(f"{variable} must be a PostgreSQL URL, not {parts.scheme}://")
    if parts.hostname not in LOOPBACK_HOSTS:
        raise BenchError(f"the benchmark only uses a loopback database, not {parts.hostname}")
    if "bench" not in parts.path:
        raise BenchError(f"refusing to drop database {parts.path[1:]!r}: its name lacks 'bench'")
    return urlunsplit(parts)


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def fresh_database(url: str) -> None:
    """Drop the database (closing leftover sessions), create it empty and migrate it."""
    drop_database(url)
    _on_server(url, f'CREATE DATABASE "{database_name(url)}"')
    manage(command_env(url), "migrate", "--noinput", "-v", "0")


def drop_database(url: str) -> None:
    _on_server(url, f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')


def add_stories(env: dict[str, str], count: int, seed: int) -> dict:
    """Fill the migrated, empty database of `env` with `count` stories spread as on a live site
    (`bench/lib/stories.py`, in a child process); returns what it made."""
    started = time.monotonic()
    out = run_child([PYTHON, "-m", "bench.lib.stories", str(count), str(seed)], env)
    made = json.loads(out.strip().splitlines()[-1])
    if made["articles"] != count or made["visible"] < 0.9 * count:
        raise BenchError(f"the set-up made {made}, not {count} stories")
    seconds = time.monotonic() - started
    print(f"  {count:,} stories stored ({made['visible']:,} visible) in {seconds:.1f} s")
    return made


def query(url: str, sql: str, params: tuple = (), *, database: str | None = None) -> list[tuple]:
    """Rows of one statement, in autocommit (DROP/CREATE DATABASE refuse to run in a
    transaction, and psycopg2's `with connection` would open one)."""
    parts = urlsplit(url)
    connection = psycopg2.connect(
        urlunsplit(parts._replace(path=f"/{database}")) if database else url
    )
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []
    finally:
        connection.close()


def _on_server(url: str, statement: str) -> None:
    query(url, statement, database="postgres")
