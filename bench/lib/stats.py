"""Figures from load runs ("slices"): the fields every slice has, medians over rounds, each
run's ratio to the baseline runs just before and after it (the bare view, the static file), and
CPU time from /proc, which other processes' work on a busy machine does not inflate."""

import os
import statistics
import time
from pathlib import Path

from . import BenchError
from .commands import children
from .database import database_name, query

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def slice_entry(label, round_number, result: dict, load_before, *, digits=2, **more) -> dict:
    """A slice from wrk's result (latency in ms, to `digits` decimals) and `more` about it."""
    seconds, requests = result["duration_us"] / 1e6, result["requests"]
    return {
        "run": label,
        "round": round_number,
        "requests": requests,
        "seconds": round(seconds, 2),
        "requests_per_second": round(requests / seconds, 1),
        "latency_ms": {k: round(us / 1000, digits) for k, us in result["latency_us"].items()},
        "bytes_per_response": round(result["bytes"] / max(1, requests)),
        **more,
        "load_average_before": round(load_before, 2),
    }


def median(entries: list[dict], get):
    """The median of `get(entry)` over the entries, leaving out None (None if none is left)."""
    values = [value for value in map(get, entries) if value is not None]
    return statistics.median(values) if values else None


def add_ratios(slices: list[dict], baseline: str, *, key: str, cpu) -> None:
    """Set each run's `ratio_to_KEY`, its requests/s over the mean of the `baseline` runs just
    before and after it (a baseline run's: over itself), and `cpu_ratio_to_KEY`, the same for
    CPU time per request (`cpu(entry)`) the other way up. The runs are seconds apart, so load
    that comes and goes on the machine weighs on both sides of a ratio alike."""
    for index, entry in enumerate(slices):
        around = [entry]
        if entry["run"] != baseline:
            around = slices[index - 1 : index + 2 : 2] if index else []
            if len(around) != 2 or {e["run"] for e in around} != {baseline}:
                raise BenchError(f"{entry['run']}: a run without {baseline} runs around it")
        rps = statistics.fmean(e["requests_per_second"] for e in around)
        entry[f"ratio_to_{key}"] = round(entry["requests_per_second"] / rps, 4)
        theirs, mine = [cpu(e) for e in around], cpu(entry)
        ok = mine and None not in theirs
        entry[f"cpu_ratio_to_{key}"] = round(statistics.fmean(theirs) / mine, 4) if ok else None


def summarise(slices: list[dict], label: str, *, key: str) -> dict:
    """One row for the runs called `label`: medians over their rounds (see `add_ratios`)."""
    mine = [entry for entry in slices if entry["run"] == label]
    ratio = f"ratio_to_{key}"
    return {
        "run": label,
        "rounds": len(mine),
        "requests": sum(e["requests"] for e in mine),
        "requests_per_second": median(mine, lambda e: e["requests_per_second"]),
        "requests_per_second_each_round": [e["requests_per_second"] for e in mine],
        "latency_ms": {
            p: median(mine, lambda e, p=p: e["latency_ms"][p]) for p in ("p50", "p90", "p99")
        },
        ratio: median(mine, lambda e: e[ratio]),
        f"{ratio}_each_round": [e[ratio] for e in mine],
        f"cpu_{ratio}": median(mine, lambda e: e[f"cpu_{ratio}"]),
        "bytes_per_response": round(median(mine, lambda e: e["bytes_per_response"])),
        "load_average_before": median(mine, lambda e: e["load_average_before"]),
    }


def proc_cpu(pid: int, *, with_children: bool = False) -> float | None:
    """CPU seconds (user + system) of `pid`, with its reaped children's; None without /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # After "(comm)": state ppid … utime (12th) stime cutime cstime.
    ticks = sum(map(int, fields[11:15] if with_children else fields[11:13]))
    return ticks / CLOCK_TICKS


def server_cpu(master_pid: int) -> float | None:
    """CPU seconds a server used so far: its master, the workers it reaped, the live ones."""
    total = proc_cpu(master_pid, with_children=True)
    return None if total is None else total + sum(proc_cpu(c) or 0.0 for c in children(master_pid))


def backends_cpu(url: str) -> dict[int, float] | None:
    """CPU seconds of each PostgreSQL backend of the database by process id (one may end and
    another start between two readings); None when /proc shows none of them."""
    sql = "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
    try:
        backends = {pid: proc_cpu(pid) for (pid,) in query(url, sql, (database_name(url),))}
    except Exception:
        return None
    readable = {pid: cpu for pid, cpu in backends.items() if cpu is not None}
    return readable if readable or not backends else None


def cpu_used(before, after) -> float | None:
    """CPU seconds between two readings of `server_cpu` or of `backends_cpu`."""
    if before is None or after is None:
        return None
    if isinstance(after, dict):
        return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())
    return after - before


def wait_until_idle(master_pid: int, timeout: float = 60.0) -> None:
    """Until a server uses no CPU for a quarter of a second (the requests a wrk run left queued
    are done), or `timeout`."""
    deadline, last = time.monotonic() + timeout, server_cpu(master_pid)
    while last is not None and time.monotonic() < deadline:
        time.sleep(0.25)
        now = server_cpu(master_pid)
        if now - last < 1.5 / CLOCK_TICKS:
            return
        last = now
