"""Benchmark: the reads beacon (`POST /reads/`) answered by nginx and counted by the collector,
against the app's own beacon view and a bare view under the same gunicorn.

The site (`servers.site`, 2,000 stories, gunicorn with 2 sync workers), nginx in front
(deploy/nginx/newsroom.conf) sending each beacon to the collector (`manage.py collect_reads`) on
a loopback UDP port. wrk (`-t2 -c64`, a browser's User-Agent) sends beacons for every visible
story from each of five kinds of referrer in turn, 5 s a run, through nginx, then straight to
gunicorn's view, each between bare-view runs (`/bench/bare/`), three rounds. After each beacon
run the counts in Redis must grow by the beacons answered, plus at most the requests in flight
when wrk stopped: none lost, none counted twice. CPU per beacon: nginx's and the collector's (or
gunicorn's), from /proc. Redis memory per story: `MEMORY USAGE` of the hour's and the day's
hashes over the stories in them. Goal (from the issue): ≥ 5,000 beacons/s through nginx.
"""

import os
import time
from functools import partial
from urllib.parse import quote

from bench.lib import BenchError, load, report
from bench.lib.commands import visible_stories
from bench.lib.servers import Nginx, Server, free_port, site

NAME = "beacon"
TITLE = "Reads beacon: POST /reads/ answered by nginx and counted into Redis by the collector"
DATABASE_NAME, STORIES, CONNECTIONS, GOAL = "newsroom_bench_beacon", 2_000, 64, 5_000
AGENT = "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
ARGUMENTS = {"--beacon-rounds": (3, "Rounds (3)."), "--beacon-duration": (5, "Seconds a run (5).")}
REFERRERS = ["https://www.google.com/", "https://t.co/x", "", "https://example.org/", "nl"]
BARE = "bare view"


def run(args) -> dict:
    with site(DATABASE_NAME, stories=STORIES) as web:
        came = {r: "&nl=1" if r == "nl" else quote(r, safe="") for r in REFERRERS}
        ids = [pk for pk, _ in visible_stories(web.url)]
        paths = [f"/reads/?id={pk}&from={came[r]}" for r in REFERRERS for pk in ids]
        collector_port = free_port()
        collector = Server(web.env, "collect_reads", "--listen", f"127.0.0.1:{collector_port}")
        nginx = Nginx(web.scratch, upstream=web.server.port, reads=collector_port)
        with collector, nginx:
            first = dict([AGENT.split(": ", 1)])  # up once a beacon through nginx is counted
            beacon = partial(load.fetch, nginx.port, paths[0], method="POST", headers=first)
            _await_counts(web, _counted(web), 1, beacon)
            targets = {"through nginx": (paths, nginx, collector),
                       "app's view": (paths, web.server, None),
                       BARE: (["/bench/bare/"], web.server, None)}  # fmt: skip
            measure = partial(_measure, web, args.beacon_duration, targets)
            slices = load.alternate(measure, BARE, list(targets)[:2], args.beacon_rounds)
            memory = _memory(web)
    rows, runs = load.summarise(slices, BARE, key="bare"), []
    for label in targets:
        mine = [entry for entry in slices if entry["run"] == label]
        cpu, counted = load.median(mine, "cpu_ms"), sum(e.get("counted", 0) for e in mine)
        runs.append(rows[label] | {"cpu_ms_per_request": cpu, "counted": counted})
    runs[0]["redis_bytes_per_story"] = memory["bytes_per_story"]
    rate = runs[0]["requests_per_second"]
    goal = report.goal(f"≥ {GOAL:,} beacons/s through nginx", GOAL, rate, "requests/s")
    command = f"wrk -t2 -c{CONNECTIONS} -d{args.beacon_duration}s --latency -H '{AGENT}' "
    command += "-s bench/lib/wrk.lua (WRK_METHOD=POST) http://127.0.0.1:PORT/reads/?id=…&from=…"
    settings = {"rounds": args.beacon_rounds, "duration_seconds": args.beacon_duration}
    return web.described | {
        "command": command, "settings": settings, "redis_memory": memory, "runs": runs,
        "slices": slices, "goals": [goal], "table": report.table(COLUMNS, runs),
    }  # fmt: skip


def _counted(web) -> int:
    keys = list(web.redis.scan_iter(match=f"{web.prefix}:*reads:h:*"))
    return sum(int(n) for key in keys for n in web.redis.hvals(key))


def _await_counts(web, before: int, expected: int, send=None) -> int:
    """The counts' growth since `before` once it reaches `expected` and holds for a second
    (`send`, repeated while nothing has arrived: the collector may not listen yet); 30 s at most."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if send and _counted(web) == before:
            send()
        time.sleep(1.0)
        if _counted(web) - before >= expected:
            time.sleep(1.0)
            return _counted(web) - before
    raise BenchError(f"Redis counted {_counted(web) - before:,} of {expected:,} beacons")


def _measure(web, seconds: int, targets: dict, label: str, number: int) -> dict:
    """One wrk run of `targets[label]` (paths, server, collector), checked."""
    paths, server, collector = targets[label]
    pids = [p.process.pid for p in (server, collector) if p]
    load_before, cpu_before = os.getloadavg()[0], [load.server_cpu(pid) for pid in pids]
    before, post = _counted(web), [AGENT] if label != BARE else []
    result = load.wrk(server.port, paths, seconds=seconds, connections=CONNECTIONS, post=post)
    load.check_load(label, result)
    for pid in pids:
        load.wait_until_idle(pid)
    extra = {}
    if post:  # every beacon answered is counted, once (and those in flight when wrk stopped)
        answered = result["responses"]
        extra["counted"] = counted = _await_counts(web, before, answered)
        if not answered <= counted <= answered + CONNECTIONS:
            raise BenchError(f"{label}: {answered:,} beacons answered, {counted:,} counted")
    used = [load.cpu_used(a, load.server_cpu(pid)) for a, pid in zip(cpu_before, pids, strict=True)]
    ms = sum(used) * 1000 / result["requests"] if None not in used else None
    return load.slice_entry(label, number, result, load_before, cpu_ms=ms, **extra)


def _memory(web) -> dict:
    """Bytes Redis holds per tracked story: the hour's hash, the day's (by kind), together."""
    keys = {kind: list(web.redis.scan_iter(match=f"{web.prefix}:*reads:{kind}:*"))
            for kind in ("h", "from")}  # fmt: skip
    usage = {kind: sum(web.redis.memory_usage(k) or 0 for k in keys[kind]) for kind in keys}
    tracked = max(1, max(web.redis.hlen(k) for k in keys["h"]) if keys["h"] else 1)
    per = {kind: round(total / tracked, 1) for kind, total in usage.items()}
    return {"stories": tracked, "bytes_per_story": per | {"both": round(sum(per.values()), 1)}}


def _bytes(per: dict | None) -> str:
    return f"{per['h']:.0f} + {per['from']:.0f} = {per['both']:.0f}" if per else "–"


COLUMNS = [
    ("run", lambda e: e["run"]),
    ("req/s", lambda e: f"{e['requests_per_second']:,.0f}"),
    ("ratio to bare", lambda e: f"{e['ratio_to_bare']:.1f}×"),
    ("p50 ms", lambda e: f"{e['latency_ms']['p50']:.2f}"),
    ("p99 ms", lambda e: f"{e['latency_ms']['p99']:.2f}"),
    ("CPU ms/req", lambda e: report.number(e["cpu_ms_per_request"], ".3f")),
    ("counted", lambda e: f"{e['counted']:,}" if e["counted"] else "–"),
    ("Redis bytes a story: hour + day by kind", lambda e: _bytes(e.get("redis_bytes_per_story"))),
]
