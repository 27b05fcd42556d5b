"""Running the project's commands from its root: untimed (`manage`), or timed with their peak
memory (`run_measured`); and the environment they run in."""

import os
import re
import resource
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from . import MANAGE, PYTHON, ROOT, BenchError

GNU_TIME = "/usr/bin/time"


def command_env(url: str, **extra: str) -> dict[str, str]:
    """The environment of every command the benchmarks start. DEBUG is off: with it on, Django
    keeps every SQL query in memory and the memory figures would be meaningless."""
    env = dict(os.environ, DATABASE_URL=url, DJANGO_SECRET_KEY="bench-only", DJANGO_DEBUG="0")
    env.pop("REDIS_URL", None)
    return {**env, **extra}


def site_env(url: str, redis_url: str, cache_prefix: str) -> dict[str, str]:
    """For the site under load: the Redis page cache under the run's own key prefix, and the
    benchmark settings (the project's plus the bare view at /bench/bare/)."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    cache = {"REDIS_URL": redis_url, "NEWSROOM_CACHE_PREFIX": cache_prefix}
    return command_env(url, **cache, DJANGO_SETTINGS_MODULE="bench.bench_settings", PYTHONPATH=path)


def run_child(args: list[str], env: dict[str, str]) -> str:
    """Run `args` untimed; its output, or BenchError with the end of it when it fails."""
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        output = done.stdout[-3000:] + done.stderr[-3000:]
        command = " ".join([Path(args[1]).name, *args[2:4]])
        raise BenchError(f"{command} failed ({done.returncode}):\n{output}")
    return done.stdout


def manage(env: dict[str, str], *args: str) -> str:
    return run_child([PYTHON, MANAGE, *args], env)


@dataclass(frozen=True)
class Measured:
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
    """Run `args`, timing the whole child (start-up included: what one waits for). The largest
    process's peak memory is GNU time's %M when present (a child forked from this process starts
    as a copy of it, and Linux counts that in its ru_maxrss; GNU time is small), else wait4()'s
    ru_maxrss, flagged when this process is bigger; the command and its worker processes
    together are summed from /proc every 20 ms. Safe in several threads, a command each."""
    use_time = gnu_time_available()
    with tempfile.NamedTemporaryFile("r", suffix=".time", delete=False) as report:
        report_path = Path(report.name)
    args = [GNU_TIME, "-f", "%M", "-o", str(report_path), *args] if use_time else args
    own_peak, load_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, os.getloadavg()[0]
    try:
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            started = time.monotonic()
            process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=err, text=True)
            sampler = _TreeSampler(process.pid, skip_root=use_time)
            _, status, usage = os.wait4(process.pid, 0)
            wall = time.monotonic() - started
            sampler.stop()
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read()
        peak, method = usage.ru_maxrss, "wait4() ru_maxrss of the command"  # KiB on Linux
        if use_time:  # after "Command exited with non-zero status N", if it did
            numbers = re.findall(r"^(\d+)$", report_path.read_text(), re.MULTILINE)
            if not numbers:
                raise BenchError(f"no figure in GNU time's report: {report_path.read_text()!r}")
            peak = int(numbers[-1])
            method = "GNU time %M (ru_maxrss of the command, forked from a small process)"
        elif peak <= own_peak:
            method += " (upper bound: no larger than the benchmark process itself)"
    finally:
        report_path.unlink()
    # wait4() counts every descendant the child waited for (GNU time waits for the command, the
    # command for its workers); the database server's work is not in it.
    cpu, code = usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status)
    tree = sampler.peak_kib, sampler.max_processes
    return Measured(code, stdout, stderr, wall, peak, method, *tree, cpu, load_before)


class _TreeSampler(threading.Thread):
    """Samples the summed resident memory of a process and its descendants (Linux /proc)."""

    def __init__(self, pid: int, *, skip_root: bool):
        super().__init__(daemon=True)
        self.pid, self.skip_root, self.peak_kib, self.max_processes = pid, skip_root, 0, 0
        self._done = threading.Event()
        self.start()

    def run(self):
        while not self._done.is_set():
            pids = descendants(self.pid) + ([] if self.skip_root else [self.pid])
            self.peak_kib = max(self.peak_kib, sum(map(_rss_kib, pids)))
            self.max_processes = max(self.max_processes, len(pids))
            self._done.wait(0.02)

    def stop(self):
        self._done.set()
        self.join()


def children(pid: int) -> list[int]:
    """The child processes of `pid` (of every one of its threads), from /proc."""
    found = []
    for task in _read(f"/proc/{pid}/task", os.listdir) or []:
        found += map(int, (_read(f"/proc/{pid}/task/{task}/children") or "").split())
    return found


def descendants(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        below = children(queue.pop())
        found, queue = found + below, queue + below
    return found


def _read(path: str, how=lambda path: Path(path).read_text()):
    """A /proc entry, or None when it is gone (a process or thread that ended meanwhile)."""
    try:
        return how(path)
    except OSError:
        return None


def _rss_kib(pid: int) -> int:
    found = re.search(r"^VmRSS:\s+(\d+)", _read(f"/proc/{pid}/status") or "", re.MULTILINE)
    return int(found.group(1)) if found else 0
