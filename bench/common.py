"""Shared plumbing for the benchmarks: where the project is, the benchmark database, running a
`manage.py` command as a child process while measuring its wall time and peak memory, and the
facts about the machine that every result carries.

Nothing here measures anything by itself; `bench/run.py` and the benchmark modules do.
"""

from __future__ import annotations

import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
MANAGE = ROOT / "manage.py"
# The interpreter running the benchmark is the project's (make bench uses .venv/bin/python), so
# the commands it starts use the same one.
PYTHON = sys.executable

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/newsroom_bench"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
GNU_TIME = "/usr/bin/time"


class BenchError(RuntimeError):
    """The benchmark could not measure what it claims to (a check failed, a command failed)."""


# --- the benchmark database -------------------------------------------------------------------


def database_url() -> str:
    """`BENCH_DATABASE_URL`, or the dedicated `newsroom_bench` database on the loopback server.
    Refuses anything that is not on this machine or not obviously a benchmark database, because
    every run drops and recreates it."""
    url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_DATABASE_URL
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise BenchError(f"BENCH_DATABASE_URL must be a PostgreSQL URL, not {parts.scheme}://")
    if parts.hostname not in LOOPBACK_HOSTS:
        raise BenchError(f"the benchmark only uses a loopback database, not {parts.hostname}")
    name = parts.path.lstrip("/")
    if "bench" not in name:
        raise BenchError(f"refusing to drop database {name!r}: its name must contain 'bench'")
    return url


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def _connect(url: str, dbname: str | None = None):
    parts = urlsplit(url)
    if dbname is not None:
        parts = parts._replace(path=f"/{dbname}")
    connection = psycopg2.connect(urlunsplit(parts))
    connection.autocommit = True
    return connection


def recreate_database(url: str) -> None:
    """Drop the benchmark database (closing any leftover sessions) and create it empty."""
    name = database_name(url)
    _maintenance(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    _maintenance(url, f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')


def _maintenance(url: str, *statements: str) -> None:
    """Run statements on the server's `postgres` database, outside any transaction (psycopg2's
    `with connection` would open one, and DROP/CREATE DATABASE refuse to run inside it)."""
    connection = _connect(url, "postgres")
    try:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        connection.close()


def query(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    connection = _connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    finally:
        connection.close()


def server_version(url: str) -> str:
    return query(url, "SHOW server_version")[0][0]


# --- running commands -------------------------------------------------------------------------


def command_env(url: str) -> dict[str, str]:
    """The environment of every `manage.py` the benchmark starts. DEBUG is forced off: with it on,
    Django keeps every SQL query in memory and the memory figures would be meaningless."""
    env = dict(os.environ)
    env.update(DATABASE_URL=url, DJANGO_SECRET_KEY="bench-only", DJANGO_DEBUG="0")
    env.pop("REDIS_URL", None)
    return env


def manage(url: str, *args: str) -> subprocess.CompletedProcess:
    """Run `manage.py ARGS` (untimed, e.g. migrate); raise with its output when it fails."""
    completed = subprocess.run(
        [PYTHON, str(MANAGE), *args],
        cwd=ROOT,
        env=command_env(url),
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode:
        raise BenchError(
            f"manage.py {' '.join(args)} failed ({completed.returncode}):\n"
            f"{completed.stdout}{completed.stderr}"
        )
    return completed


@dataclass(frozen=True)
class Measured:
    """One timed run of a command."""

    returncode: int
    stdout: str
    stderr: str
    wall_seconds: float
    peak_rss_kib: int  # the largest single process of the command (ru_maxrss)
    rss_method: str
    peak_tree_rss_kib: int  # the command and its child processes together (sampled)
    max_processes: int  # the most processes the command ran at once (sampled)
    cpu_seconds: float  # user + system time of the command and its worker processes
    load_before: float  # 1-minute load average when it started (others' work skews figures)


def gnu_time_available() -> bool:
    if not os.access(GNU_TIME, os.X_OK):
        return False
    probe = subprocess.run([GNU_TIME, "--version"], capture_output=True, text=True, check=False)
    return "GNU" in probe.stdout + probe.stderr


def run_measured(args: list[str], *, env: dict[str, str]) -> Measured:
    """Run `args` (from the project root) and measure its wall time and peak resident memory.

    Wall time is the parent's monotonic clock around the whole child, Python start-up and
    Django set-up included, because that is what someone running the command waits for.

    Peak memory, two figures:

    - `peak_rss_kib`: `ru_maxrss` from `wait4()` on the one child, so no delta of
      `getrusage(RUSAGE_CHILDREN)` is needed (that is a maximum over every child ever waited
      for, so a delta of it is wrong whenever an earlier child was bigger). It is the peak of
      the largest single process of the command (its worker processes included, not added).
      One catch: Linux carries the memory a child had before `exec` into its `ru_maxrss`, and a
      child forked from this benchmark starts as a copy of it. GNU time is a small C program, so
      a child it forks starts tiny and its `%M` is the command's own peak; it is used when
      present. Without it, `wait4()` on our own child is used and the figure is flagged as an
      upper bound when this process is itself bigger than what the child reported.
    - `peak_tree_rss_kib`: the importer may parse in worker processes, and `ru_maxrss` does not
      add those up; so the resident memory of the command and all its descendants is summed
      from /proc every 20 ms and the largest sum kept (a sample, so a spike shorter than that
      can be missed; on a system without /proc it is 0).
    """
    use_time = gnu_time_available()
    report_path = None
    if use_time:
        with tempfile.NamedTemporaryFile("r", suffix=".time", delete=False) as report:
            report_path = report.name
        args = [GNU_TIME, "-f", "%M", "-o", report_path, *args]
    own_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    load_before = os.getloadavg()[0]
    try:
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            started = time.monotonic()
            process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=err, text=True)
            sampler = _TreeSampler(process.pid, skip_root=use_time)
            sampler.start()
            _, status, usage = os.wait4(process.pid, 0)
            wall = time.monotonic() - started
            sampler.stop()
            process.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read()
        if use_time:
            report_text = Path(report_path).read_text()
            # GNU time writes "Command exited with non-zero status N" before the figures.
            numbers = re.findall(r"^(\d+)$", report_text, re.MULTILINE)
            if not numbers:
                raise BenchError(f"could not read GNU time's report: {report_text!r}")
            peak = int(numbers[-1])
            method = "GNU time %M (ru_maxrss of the command, forked from a small process)"
        else:
            peak = usage.ru_maxrss  # KiB on Linux
            method = "wait4() ru_maxrss of the command"
            if peak <= own_peak:
                method += " (upper bound: no larger than the benchmark process itself)"
    finally:
        if report_path:
            os.unlink(report_path)
    return Measured(
        process.returncode,
        stdout,
        stderr,
        wall,
        peak,
        method,
        sampler.peak_kib,
        sampler.max_processes,
        # wait4() counts every descendant the child waited for (GNU time waits for the
        # command, the command for its workers); the database server's work is not in it.
        usage.ru_utime + usage.ru_stime,
        load_before,
    )


class _TreeSampler(threading.Thread):
    """Samples the summed resident memory of a process and its descendants (Linux /proc)."""

    INTERVAL = 0.02

    def __init__(self, pid: int, *, skip_root: bool):
        super().__init__(daemon=True)
        self.pid, self.skip_root = pid, skip_root
        self.peak_kib = self.max_processes = 0
        self._done = threading.Event()

    def run(self):
        while not self._done.is_set():
            self.sample()
            self._done.wait(self.INTERVAL)

    def stop(self):
        self._done.set()
        self.join()

    def sample(self):
        pids = self._descendants(self.pid)
        if not self.skip_root:
            pids.append(self.pid)
        total = sum(_rss_kib(pid) for pid in pids)
        self.peak_kib = max(self.peak_kib, total)
        self.max_processes = max(self.max_processes, len(pids))

    @staticmethod
    def _descendants(pid: int) -> list[int]:
        found, queue = [], [pid]
        while queue:
            parent = queue.pop()
            try:
                tasks = os.listdir(f"/proc/{parent}/task")
            except OSError:
                continue
            for task in tasks:
                try:
                    children = Path(f"/proc/{parent}/task/{task}/children").read_text().split()
                except OSError:
                    continue
                for child in map(int, children):
                    found.append(child)
                    queue.append(child)
        return found


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


# --- facts and results ------------------------------------------------------------------------


def machine_facts(url: str) -> dict:
    """What the figures depend on: hardware, interpreter, database server, code version."""
    facts = {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": _cpu_model(),
        "memory_total_mib": _memory_total_mib(),
        "platform": platform.platform(),
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "postgresql_server_version": server_version(url),
        "django_version": _django_version(),
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "gnu_time": gnu_time_available(),
    }
    return facts


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _memory_total_mib() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def _django_version() -> str:
    try:
        import django
    except ImportError:
        return ""
    return django.get_version()


def _git(*args: str) -> str:
    if shutil.which("git") is None:
        return ""
    completed = subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return completed.stdout.strip() if completed.returncode == 0 else ""


MEMORY_GROWTH_TOLERANCE = 0.10


def memory_growth_goal(smallest: dict, largest: dict, *, size: str, noun: str) -> dict:
    """The goal "peak memory does not grow with the input": the largest run's peak RSS within
    `MEMORY_GROWTH_TOLERANCE` of the smallest's. `size` names the runs' size field."""
    growth = largest["peak_rss_mib"] / smallest["peak_rss_mib"] - 1
    return {
        "goal": f"peak memory does not grow with {noun} ({largest[size]:,} vs "
        f"{smallest[size]:,} {noun} within +{MEMORY_GROWTH_TOLERANCE:.0%})",
        "target": MEMORY_GROWTH_TOLERANCE,
        "actual": round(growth, 4),
        "unit": "relative growth of peak RSS",
        "passed": growth <= MEMORY_GROWTH_TOLERANCE,
    }
