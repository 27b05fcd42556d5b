"""The project's commands, untimed (`manage`) or timed with their peak memory (`run_measured`);
the benchmark databases, only on this machine and named *bench*, and their visible stories."""

import os
import re
import subprocess
import tempfile
import threading
import time
from collections import namedtuple
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg2

from . import MANAGE, PYTHON, ROOT, BenchError

GNU_TIME, DEFAULT_URL = "/usr/bin/time", "postgres://postgres@127.0.0.1:5432/newsroom_bench"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
RSS_METHOD = "GNU time %M (ru_maxrss of the command, forked from a small process)"
# peak_rss_mib: the command's largest process (GNU time's %M); peak_tree_rss_mib and
# max_processes: the command and its workers together (sampled); cpu_seconds: theirs, user +
# system; load_before: the 1-minute load average at the start (others' work skews the figures).
Measured = namedtuple(
    "Measured", "stdout stderr wall_seconds peak_rss_mib peak_tree_rss_mib max_processes "
    "cpu_seconds load_before",
)  # fmt: skip


def command_env(url: str, **extra: str) -> dict[str, str]:
    """Every command's environment. DEBUG off: Django would keep every SQL query in memory."""
    env = dict(os.environ, DATABASE_URL=url, DJANGO_SECRET_KEY="bench-only", DJANGO_DEBUG="0")
    env.pop("REDIS_URL", None)
    return env | extra


def manage(env: dict[str, str], *args: str) -> str:
    """`manage.py ARGS`, untimed: its output, or BenchError with the end of it when it fails."""
    command = [PYTHON, MANAGE, *args]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        output = done.stdout[-3000:] + done.stderr[-3000:]
        raise BenchError(f"manage.py {' '.join(args[:2])} failed ({done.returncode}):\n{output}")
    return done.stdout


def run_measured(args: list[str], *, env: dict[str, str], what: str) -> Measured:
    """Run `args`, timed whole (start-up included); BenchError naming `what` if it fails. Peak
    memory: GNU time's of the largest process (a fork of this one would count its copy of it),
    with its workers' summed from /proc every 20 ms. Thread-safe."""
    if not os.access(GNU_TIME, os.X_OK):
        raise BenchError(f"no GNU time at {GNU_TIME} (make system-packages)")
    with tempfile.TemporaryDirectory(prefix="newsroom-bench-run-") as scratch:
        out, err, times = (Path(scratch) / name for name in ("out", "err", "time"))
        command = [GNU_TIME, "-f", "%M", "-o", str(times), *args]
        with open(out, "w") as stdout, open(err, "w") as stderr:
            load_before, started = os.getloadavg()[0], time.monotonic()
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=stdout, stderr=stderr)
            done, peaks = threading.Event(), [0, 0]
            sampler = threading.Thread(target=_sample, args=(process.pid, done, peaks))
            sampler.start()
            _, status, usage = os.wait4(process.pid, 0)  # with every descendant waited for
            wall = time.monotonic() - started
            done.set()
            sampler.join()
        # The last line: after "Command exited with non-zero status N", if it did.
        numbers = re.findall(r"^(\d+)$", times.read_text(), re.MULTILINE)
        if not numbers:
            raise BenchError(f"no figure in GNU time's report: {times.read_text()!r}")
        code, texts = os.waitstatus_to_exitcode(status), (out.read_text(), err.read_text())
    if code:
        raise BenchError(f"{what} exited with {code}:\n{texts[0][-2000:]}{texts[1][-3000:]}")
    peak, tree_peak = (round(int(kib) / 1024, 1) for kib in (numbers[-1], peaks[0]))
    cpu = usage.ru_utime + usage.ru_stime
    return Measured(*texts, wall, peak, tree_peak, peaks[1], cpu, load_before)


def _sample(pid: int, done: threading.Event, peaks: list) -> None:
    """Until `done`, every 20 ms: peak RSS (KiB) of `pid`'s descendants together, most processes."""
    while not done.is_set():
        pids, todo = [], children(pid)
        while todo:
            pids.append(child := todo.pop())
            todo += children(child)
        status = (read_proc(f"/proc/{pid}/status") or "" for pid in pids)
        kib = sum(int(m[1]) for m in (re.search(r"VmRSS:\s+(\d+)", text) for text in status) if m)
        peaks[:] = max(peaks[0], kib), max(peaks[1], len(pids))
        done.wait(0.02)


def read_proc(path: str, how=lambda path: Path(path).read_text()):
    """A /proc entry, or None when it is gone (a process or thread that ended meanwhile)."""
    try:
        return how(path)
    except OSError:
        return None


def children(pid: int) -> list[int]:
    """The child processes of `pid` (of every one of its threads)."""
    tasks = read_proc(f"/proc/{pid}/task", os.listdir) or []
    found = (read_proc(f"/proc/{pid}/task/{t}/children") or "" for t in tasks)
    return [int(child) for text in found for child in text.split()]


def database_url(name: str | None = None) -> str:
    """BENCH_DATABASE_URL (else newsroom_bench on 127.0.0.1), with the database `name` if given;
    refused unless a PostgreSQL database on this machine whose name contains "bench"."""
    parts = urlsplit(os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL)
    parts = parts._replace(path=f"/{name}") if name else parts
    if parts.scheme not in {"postgres", "postgresql"} or parts.hostname not in LOOPBACK_HOSTS:
        raise BenchError(f"BENCH_DATABASE_URL must be PostgreSQL on this machine: {parts.hostname}")
    if "bench" not in parts.path:
        raise BenchError(f"refusing to drop database {parts.path[1:]!r}: its name lacks 'bench'")
    return urlunsplit(parts)


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def fresh_database(url: str) -> None:
    """Drop the database (closing leftover sessions), create it empty and migrate it."""
    drop_database(url)
    query(url, f'CREATE DATABASE "{database_name(url)}"', database="postgres")
    manage(command_env(url), "migrate", "--noinput", "-v", "0")


def drop_database(url: str) -> None:
    query(url, f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)', database="postgres")


def query(url: str, sql: str, params: tuple = (), *, database: str | None = None) -> list[tuple]:
    """Rows of one statement, in autocommit (DROP/CREATE DATABASE refuse a transaction)."""
    url = urlunsplit(urlsplit(url)._replace(path=f"/{database}")) if database else url
    connection = psycopg2.connect(url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []
    finally:
        connection.close()


def visible_stories(url: str, limit: int | None = None) -> list[tuple[int, str]]:
    """(id, quoted path) of the first `limit` visible stories in a fixed pseudo-random order."""
    sql = """SELECT a.id, '/' || s.slug || '/' || a.slug || '/' FROM articles_article a JOIN
        articles_section s ON s.id = a.section_id WHERE a.status = 'published' AND
        a.published_at <= now() ORDER BY md5(a.slug) LIMIT %s"""
    return [(pk, quote(path)) for pk, path in query(url, sql, (limit,))]
