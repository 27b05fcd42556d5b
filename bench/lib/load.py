"""Requests to the servers on 127.0.0.1; load from wrk with `wrk.lua`; load runs ("slices"),
alternating with baseline runs, their medians and ratios to the baseline; CPU time from /proc."""

import http.client
import json
import operator
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from functools import reduce
from pathlib import Path

from . import BenchError
from .commands import children, database_name, query, read_proc

LUA_SCRIPT, CLOCK_TICKS = Path(__file__).with_name("wrk.lua"), os.sysconf("SC_CLK_TCK")


def _exchange(port: int, path: str, method="GET", headers=None, timeout=30) -> tuple:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response, response.read()
    finally:
        connection.close()


def fetch(port: int, path: str, *, method="GET", headers=None, timeout=30) -> tuple:
    """(status, headers lower-cased, repeated ones joined by ", ", body) on a new connection."""
    response, content, found = *_exchange(port, path, method, headers, timeout), {}
    for name, value in response.getheaders():
        found[name.lower()] = f"{found[name.lower()]}, {value}" if name.lower() in found else value
    return response.status, found, content


def fetch_ok(port: int, path: str, what: str = "") -> tuple[dict, bytes]:
    """`fetch`'s headers and body of a 200, else BenchError (naming `what`)."""
    status, headers, body = fetch(port, path)
    if status != 200:
        raise BenchError(f"{what}{': ' if what else ''}GET {path} answered {status}, not 200")
    return headers, body


def edge_hit(port: int, path: str) -> tuple[dict, bytes]:
    """GET `path` until Varnish answers it from its cache; that answer's headers and body."""
    for _ in range(5):
        status, headers, body = fetch(port, path)
        if status == 200 and headers.get("x-cache") == "HIT":
            return headers, body
    raise BenchError(f"GET {path} through Varnish: {status} {headers.get('x-cache')}, not a HIT")


def wire_size(port: int, path: str) -> int:
    """The bytes of one response as wrk reads them: status line, headers, blank line, body."""
    response, content = _exchange(port, path)
    size = len(f"HTTP/1.1 {response.status} {response.reason}\r\n") + 2 + len(content)
    return size + sum(len(f"{name}: {value}\r\n") for name, value in response.getheaders())


def wrk_version() -> str:
    """wrk's version (BenchError when it is missing)."""
    if shutil.which("wrk") is None:
        raise BenchError("wrk is not installed: the web benchmarks need it (apt-get install wrk)")
    done = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return (done.stdout + done.stderr).split("\n")[0].split(" Copyright")[0].strip()


def wrk(port: int, paths, *, seconds: int, connections: int, bust=None, post=()) -> dict:
    """wrk's figures for `seconds` of `paths` (2 threads): one is a fixed request with no Lua
    work, several are requested in turn; `bust` appends a query parameter never sent before;
    with `post` (their headers), the requests are empty POSTs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WRK_")}
    env |= {"WRK_THREADS": "2", "WRK_METHOD": "POST" if post else "GET"}
    command = [
        "wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency",
        "-s", str(LUA_SCRIPT), f"http://127.0.0.1:{port}{paths[0]}",
        *(arg for header in post for arg in ("-H", header)),
    ]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="newsroom-bench-wrk-") as scratch:
        if len(paths) > 1 or bust:
            (listing := Path(scratch) / "paths.txt").write_text("\n".join(paths) + "\n")
            env.update(WRK_PATHS=str(listing), WRK_BUST=bust or "")
        timeout = seconds + 60
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    found = re.search(r"^WRKJSON (.*)$", done.stdout, re.MULTILINE)
    if done.returncode or not found:
        raise BenchError(f"wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return json.loads(found.group(1))


def check_load(label: str, result: dict, log: str = "") -> None:
    """Refuse a wrk run with no request done, a non-200 (wrk's or Lua's count), a socket error."""
    errors, bad = result["errors"], result["errors"]["status"] or result.get("non200")
    if not result["requests"] or bad:
        raise BenchError(f"{label}: of {result['requests']}, {bad} not 200 (wrk: {result})\n{log}")
    if sum(errors[k] for k in ("connect", "read", "write", "timeout")):
        raise BenchError(f"{label}: socket errors {errors}\n{log}")


def alternate(measure, baseline, others, rounds: int, last: int | None = None) -> list[dict]:
    """The slices of `measure(target, round)`: each round, `baseline` before each of `others`;
    `baseline` once more at the end (round `last`, by default the last round)."""
    slices = []
    for number in range(1, rounds + 1):
        for target in others:
            slices += [measure(baseline, number), measure(target, number)]
    return slices + [measure(baseline, last or rounds)]


def slice_entry(label, round_number, result: dict, load_before, **more) -> dict:
    """A slice from wrk's result (latency in ms) and `more` about it."""
    seconds, requests = result["duration_us"] / 1e6, result["requests"]
    entry = {"run": label, "round": round_number, "requests": requests}
    entry |= {"seconds": round(seconds, 2), "requests_per_second": round(requests / seconds, 1)}
    entry["latency_ms"] = {k: round(us / 1000, 2) for k, us in result["latency_us"].items()}
    entry["bytes_per_response"] = round(result["bytes"] / max(1, requests))
    return entry | more | {"load_average_before": round(load_before, 2)}


def median(entries: list[dict], *keys: str):
    """The median of `entry[key]…[key]` over the entries, Nones left out (None if none is left)."""
    values = [reduce(operator.getitem, keys, entry) for entry in entries]
    values = [value for value in values if value is not None]
    return statistics.median(values) if values else None


def summarise(slices: list[dict], baseline: str, *, key: str, cpu=lambda entry: None) -> dict:
    """Each run's row by label, medians over its rounds, once each slice has `ratio_to_KEY`, its
    requests/s over the mean of the `baseline` runs just before and after it (load that comes and
    goes weighs on both alike), and `cpu_ratio_to_KEY`, the same for `cpu(entry)` upside down."""
    ratio, rows = f"ratio_to_{key}", {}
    for index, entry in enumerate(slices):
        around = [entry]
        if entry["run"] != baseline:
            around = slices[index - 1 : index + 2 : 2] if index else []
            if len(around) != 2 or {e["run"] for e in around} != {baseline}:
                raise BenchError(f"{entry['run']}: a run without {baseline} runs around it")
        rps = statistics.fmean(e["requests_per_second"] for e in around)
        entry[ratio] = round(entry["requests_per_second"] / rps, 4)
        theirs, mine = [cpu(e) for e in around], cpu(entry)
        ok = mine and None not in theirs
        entry[f"cpu_{ratio}"] = round(statistics.fmean(theirs) / mine, 4) if ok else None
    for label in dict.fromkeys(entry["run"] for entry in slices):
        mine = [entry for entry in slices if entry["run"] == label]
        middle = {name: median(mine, name) for name in ("requests_per_second", ratio)}
        row = {"run": label, "rounds": len(mine), "requests": sum(e["requests"] for e in mine)}
        row |= middle | {f"{name}_each_round": [e[name] for e in mine] for name in middle}
        row["latency_ms"] = {p: median(mine, "latency_ms", p) for p in ("p50", "p99")}
        row[f"cpu_{ratio}"] = median(mine, f"cpu_{ratio}")
        row["bytes_per_response"] = round(median(mine, "bytes_per_response"))
        rows[label] = row | {"load_average_before": median(mine, "load_average_before")}
    return rows


def percentiles(values: list[float], digits: int) -> dict:
    """p50 and p99 (inclusive quantiles) and the max, to `digits` decimals."""
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    figures = {"p50": cuts[49], "p99": cuts[98], "max": max(values)}
    return {k: round(v, digits) for k, v in figures.items()}


def proc_cpu(pid: int, *, with_children: bool = False) -> float | None:
    """CPU seconds (user + system) of `pid`, with its reaped children's; None without /proc."""
    fields = (read_proc(f"/proc/{pid}/stat") or ")").rsplit(")", 1)[1].split()
    if len(fields) < 15:  # after "(comm)": state ppid … utime (12th) stime cutime cstime
        return None
    return sum(map(int, fields[11:15] if with_children else fields[11:13])) / CLOCK_TICKS


def server_cpu(pid: int) -> float | None:
    """CPU seconds a server used so far: its master, the workers it reaped, the live ones."""
    total = proc_cpu(pid, with_children=True)
    return None if total is None else total + sum(proc_cpu(c) or 0.0 for c in children(pid))


def backends_cpu(url: str) -> dict[int, float] | None:
    """CPU seconds of the database's PostgreSQL backends by pid; None when /proc shows none."""
    sql = "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
    backends = {pid: proc_cpu(pid) for (pid,) in query(url, sql, (database_name(url),))}
    readable = {pid: cpu for pid, cpu in backends.items() if cpu is not None}
    return readable if readable or not backends else None


def cpu_used(before, after) -> float | None:
    """CPU seconds between two readings of `server_cpu` or of `backends_cpu`."""
    if before is None or after is None:
        return None
    if isinstance(after, dict):
        return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())
    return after - before


def wait_until_idle(pid: int) -> None:
    """Until a server uses no CPU for 0.25 s (the requests wrk left are done), or for 60 s."""
    deadline, last = time.monotonic() + 60, server_cpu(pid)
    while last is not None and time.monotonic() < deadline:
        time.sleep(0.25)
        previous, last = last, server_cpu(pid)
        if last - previous < 1.5 / CLOCK_TICKS:
            return
