"""Benchmark: Varnish (`deploy/varnish/newsroom.vcl`) in front of the site, purged by key.

The site (`servers.edge_stack`: 10,000 stories, gunicorn with the Redis page cache, the `edge`
queue's worker purging Varnish, polling every 0.1 s), pages at `s-maxage` 3600; a driver changes
stories as an editor, with `Article.save()`, whose signals purge after commit. Throughput: wrk
`-t2 -c32` runs alternating, an article from Varnish's cache against nginx serving a static file
of its bytes (each response a 200 of the page's size; HITs around). Freshness: 60 changes,
update / publish / withdraw in turn, each on a page just cached; Varnish polled every 20 ms from
the save until it shows the change (the words, the headline, the 410). Stampede: the cached home
page purged under 64 readers: requests Varnish sends the app, and pages the app makes when read
directly after its own copy was purged. Mix: reads through Varnish at saturation (wrk `-c64`),
10 % the home page, 5 % sections, 85 % stories by a Zipf law (s = 1.1), while the driver saves a
story (drawn the same way) every 2 s and publishes one every 30 s: every page read once first,
20 s of load, then 40 s measured (reads: the 200s); hit ratio from varnishstat (hits over hits,
misses and passes), origin CPU (gunicorn, PostgreSQL's backends, the worker) per 1,000 reads;
then again, restarted, with `NEWSROOM_PAGE_CACHE_INVALIDATION=version` (a save purges every
page). Goals (from the issue): changes seen within 1 s (p99); hit ratio ≥ 97 %; origin CPU per
1,000 reads ≥ 5× lower than the version design's; the cached article at ≥ 50 % of the static file.
"""

import html
import os
import pickle
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from bench.lib import BenchError, load, report
from bench.lib.commands import visible_stories
from bench.lib.load import check_load, edge_hit, fetch, wire_size, wrk
from bench.lib.servers import edge_stack, site

NAME = "edge_cache"
TITLE = "Varnish: a cached article against a static file, changes seen, a newsroom's mix"
DATABASE_NAME, STORIES, STATIC_COPY = "newsroom_bench_edge", 10_000, "bench/article-copy.html"
STATIC, CACHED = "static file through nginx", "cached article through Varnish"
GOALS = {"ratio": 0.50, "p99": 1.0, "hits": 0.97, "cpu": 5.0}
ARGUMENTS = {"--edge-rounds": (2, "Cached-article runs (2)."),
             "--edge-stories": (STORIES, "Stories (10,000).")}  # fmt: skip
SECTIONS = ["news", "world", "politics", "science", "showbiz", "sport", "money"]
TRIALS, POLL, MIX_SECONDS, WARM_SECONDS, SIZE_TOLERANCE = 60, 0.02, 40, 20, 0.02
STAMPEDES, READS = 5, 60_000  # purges of the home page; paths in the mix


def run(args) -> dict:
    with site(DATABASE_NAME, stories=args.edge_stories, serve=False) as web:
        stories, mix = visible_stories(web.url), {}
        for mode in ("keys", "version"):
            with edge_stack(web, mode) as edge:
                if mode == "keys":
                    slices = _throughput(web, edge, stories[0], args.edge_rounds)
                    freshness = _freshness(edge, stories[1 : 1 + TRIALS])
                    stampede = _stampede(web, edge)
                # Stories withdrawn above are left out: every read must be a 200.
                mix[mode] = _mix(web, edge, visible_stories(web.url), mode)
    cached = load.summarise(slices, STATIC, key="static")[CACHED]
    rate, ratio = cached["requests_per_second"], cached["ratio_to_static"]
    cpu = {mode: e["origin_cpu_ms_per_1000_reads"] for mode, e in mix.items()}
    goals = [
        report.goal("cached article through Varnish ≥ 50% of a static file through nginx",
                    GOALS["ratio"], ratio, "of the static file's req/s", digits=3),
        report.goal(f"update, publish, withdraw seen through Varnish within 1 s (p99, {TRIALS})",
                    GOALS["p99"], freshness["seconds"]["p99"], "s", most=True, digits=3),
        report.goal("edge hit ratio in the mix ≥ 97%", GOALS["hits"], mix["keys"]["hit_ratio"],
                    "", digits=3),
        report.goal("origin CPU per 1,000 reads ≥ 5× lower than with the version design",
                    GOALS["cpu"], cpu["version"] / max(cpu["keys"], 1e-9), "× lower", digits=3),
    ]  # fmt: skip
    rows = [
        [CACHED, f"{rate:,.0f} req/s, {ratio:.1%} of the static file's"],
        [f"{TRIALS} changes seen through Varnish", report.spread(freshness["seconds"], ".3f")],
        ["home page purged, 64 readers: requests per purge",
         f"Varnish to the app {stampede['varnish_fetches']}, pages made {stampede['app_renders']}"],
    ]  # fmt: skip
    for mode, e in mix.items():
        shown = f"{e['requests_per_second']:,.0f} reads/s, hit ratio {e['hit_ratio']:.2%}, "
        shown += f"origin CPU {cpu[mode]:,.0f} ms/1,000"
        rows.append([f"mix, invalidation by {mode}", shown])
    return {
        "command": "varnishd -f deploy/varnish/newsroom.vcl (rendered), gunicorn, wrk",
        **web.described, "slices": slices, "freshness": freshness, "stampede": stampede,
        "mix": mix, "goals": goals, "table": {"columns": ["measure", "result"], "rows": rows},
    }  # fmt: skip


def _throughput(web, edge, story, rounds: int) -> list[dict]:
    """Alternating wrk runs: the static copy through nginx, the article from Varnish's cache."""
    varnish, static = edge.varnish, web.scratch / "static" / STATIC_COPY
    static.parent.mkdir(parents=True, exist_ok=True)
    static.write_bytes(edge_hit(varnish.port, story[1])[1])
    static.chmod(0o644)
    targets = {STATIC: (edge.nginx.port, f"/static/{STATIC_COPY}")}
    targets[CACHED] = (varnish.port, story[1])

    def measure(label: str, number: int) -> dict:
        port, path = targets[label]
        wrk(port, (path,), seconds=2, connections=32)
        expected, load_before = wire_size(port, path), os.getloadavg()[0]
        result = wrk(port, (path,), seconds=10, connections=32)
        check_load(label, result, varnish.tail())
        size = result["bytes"] / result["requests"]
        if abs(size / expected - 1) > SIZE_TOLERANCE:
            raise BenchError(f"{label}: {size:,.0f} bytes a response, not {expected:,}")
        if label == CACHED:
            edge_hit(varnish.port, path)  # still a hit after the run
        entry = load.slice_entry(label, number, result, load_before, path=path)
        print(f"  [{number}] {label}: {entry['requests_per_second']:,.0f} req/s")
        return entry

    return load.alternate(measure, STATIC, [CACHED], rounds, last=rounds + 1)


def _freshness(edge, stories) -> dict:
    """Each change on a page Varnish has just cached, and how long until Varnish shows it."""
    trials, port = [], edge.varnish.port
    for number, (pk, path) in enumerate(stories):
        verb = ("update", "publish", "withdraw")[number % 3]
        edge_hit(port, "/" if verb == "publish" else path)
        done = edge.driver(verb, pk)
        while time.time() - done["at"] < 10:
            status, _, body = fetch(port, done["path"])
            text = body.decode(errors="replace")
            if status == 410 if done.get("gone") else html.escape(done["shows"]) in text:
                break
            time.sleep(POLL)
        trials.append({"change": verb, "path": done["path"], "seconds": time.time() - done["at"]})
    figures = load.percentiles([t["seconds"] for t in trials], 3)
    print(f"  freshness: {report.spread(figures, '.3f')}")
    return {"trials": trials, "seconds": figures}


def _stampede(web, edge) -> dict:
    """Each round, the cached home page purged and 64 readers for 3 s: the requests Varnish sent
    the app, then, read directly after its own copy was purged, the pages the app made."""
    fetches, renders, server, varnish = [], [], edge.server, edge.varnish
    version = f"{web.prefix}:1:kv:home"  # newsroom.cache's key version, in Django's form
    for _ in range(STAMPEDES):
        edge_hit(varnish.port, "/")
        before = varnish.counters()["MAIN.backend_req"]
        fetch(varnish.purge_port, "/", method="PURGE", headers={"xkey-purge": "home"})
        wrk(varnish.port, ("/",), seconds=3, connections=64)
        fetches.append(varnish.counters()["MAIN.backend_req"] - before)
        fetch(server.port, "/")
        web.redis.set(version, pickle.dumps(f"bench-{time.time_ns()}"))
        result = wrk(server.port, ("/", "/"), seconds=3, connections=64)
        renders.append(result["responses"] - result["hits"])
    print(f"  stampede: origin fetches per purge {fetches}, app renders per purge {renders}")
    return {"varnish_fetches": fetches, "app_renders": renders, "readers": 64}


def _zipf(rng: random.Random, stories: list, count: int) -> list:
    weights = [1 / rank**1.1 for rank in range(1, len(stories) + 1)]
    return rng.choices(stories, weights=weights, k=count)


def _mix(web, edge, stories, mode) -> dict:
    """Saturating reads through Varnish (10 % home, 5 % a section, the rest stories by the Zipf
    law) while an editor saves and publishes (popular stories more)."""
    rng, stop, varnish = random.Random(2026), threading.Event(), edge.varnish
    sections, picked = [f"/{s}/" for s in SECTIONS], _zipf(rng, stories, READS)
    paths = [
        "/" if draw < 0.10 else rng.choice(sections) if draw < 0.15 else picked[n][1]
        for n, draw in enumerate(rng.random() for _ in range(READS))
    ]
    edits = _zipf(random.Random(7), stories, 200)
    with ThreadPoolExecutor(8) as pool:  # the edge holds what an hour of readers asked for
        warmed = Counter(pool.map(lambda path: fetch(varnish.port, path)[0], set(paths)))
    print(f"  mix ({mode}): {len(set(paths)):,} pages warmed: {dict(warmed)}")

    def editor():
        for tick in range(1, 10_000):
            if stop.wait(2):
                return
            edge.driver("publish" if tick % 15 == 0 else "update", edits[tick % 200][0])

    thread = threading.Thread(target=editor)
    thread.start()
    try:
        wrk(varnish.port, paths, seconds=WARM_SECONDS, connections=64)
        before, cpu_before = varnish.counters(), _origin_cpu(web, edge)
        result = wrk(varnish.port, paths, seconds=MIX_SECONDS, connections=64)
        counted, cpu_after = varnish.since(before), _origin_cpu(web, edge)
    finally:
        stop.set()
        thread.join()
    if mode == "keys":  # the old design may overwhelm the origin: its errors are counted
        check_load("mix", result, varnish.tail())
    # A copy given while one fetch refreshes it (a soft purge) is a hit; its fetch a backend_req.
    names = ("cache_hit", "cache_hit_grace", "cache_miss", "cache_hitpass", "backend_req")
    cpu = sum(load.cpu_used(b, a) or 0.0 for b, a in zip(cpu_before, cpu_after, strict=True))
    reads = result["requests"] - result["non200"] - result["errors"]["timeout"]  # good ones
    entry = {"reads": reads, "requests_per_second": reads / MIX_SECONDS}
    entry |= {"counters": {k: counted[k] for k in names}, "hit_ratio": counted["hit_ratio"]}
    entry |= {"not_200": result["non200"], "socket_errors": result["errors"]}
    entry["origin_cpu_ms_per_1000_reads"] = cpu = 1e6 * cpu / max(1, reads)
    print(f"  mix: {reads / MIX_SECONDS:,.0f} reads/s, hits {entry['hit_ratio']:.2%}, origin CPU "
          f"{cpu:,.0f} ms/1,000")  # fmt: skip
    return entry


def _origin_cpu(web, edge) -> tuple:
    pids = edge.server.process.pid, edge.worker.process.pid
    return load.server_cpu(pids[0]), load.backends_cpu(web.url), load.proc_cpu(pids[1])
