"""Benchmark: page latency when Redis hangs (accepts connections, never answers), with the
circuit breaker of `newsroom/cache_backends.py` and without it.

Three gunicorns, as `web_pages` runs it, serve 300 imported stories at once: no cache
(`BENCH_CACHE=dummy`: every page rendered, as when Redis is gone); `REDIS_URL` at
`servers.hung_redis`, with the breaker; the same without it (`NEWSROOM_CACHE_RETRY_SECONDS=0`).
Concurrent warm-up requests reach both workers of each (with the breaker, both must log that
they opened it, for the default 30 s). Then single requests (latency, not queueing) go to the
home page, a section and an article in turn: 100 each with no cache and with the breaker,
alternating, then 10 each without it, each a 200 the app rendered. Goal (from the security
review): hung Redis, breaker open: p50 within 50 ms of no cache on every page.
"""

import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from functools import partial

from bench.lib import BenchError, report
from bench.lib.commands import visible_stories
from bench.lib.load import fetch_ok, percentiles
from bench.lib.servers import Gunicorn, hung_redis, site

NAME = "redis_hang"
TITLE = "Hung Redis: page latency with the cache's circuit breaker, without it, and with no cache"
DATABASE_NAME, STORIES, GOAL_MS = "newsroom_bench_redis", 300, 50
HELP = "Requests per page, no cache and breaker (default: 100; a tenth without it)."
ARGUMENTS = {"--redis-requests": (100, HELP)}
CASES = NO_CACHE, BREAKER, NO_BREAKER = "no cache", "hung Redis, breaker", "hung Redis, no breaker"


def run(args) -> dict:
    with site(DATABASE_NAME, stories=STORIES, serve=False) as web, hung_redis() as (url, accepted):
        hung = web.env | {"REDIS_URL": url}
        no_cache = {k: v for k, v in web.env.items() if k != "REDIS_URL"} | {"BENCH_CACHE": "dummy"}
        no_breaker = hung | {"NEWSROOM_CACHE_RETRY_SECONDS": "0"}
        envs = {NO_BREAKER: no_breaker, NO_CACHE: no_cache, BREAKER: hung}  # the warm-up's order
        with ExitStack() as stack:
            servers = {c: stack.enter_context(Gunicorn(e, web.scratch)) for c, e in envs.items()}
            pages = {"home": "/", "section": "/news/", "article": visible_stories(web.url, 1)[0][1]}
            times = _measure(servers, pages, accepted, args.redis_requests)
    runs = []
    for case, page in sorted(times, key=lambda key: CASES.index(key[0])):
        mine, base = percentiles(times[case, page], 1), percentiles(times[NO_CACHE, page], 1)
        entry = {"case": case, "page": page[0], "path": page[1], "requests": len(times[case, page])}
        entry |= {"latency_ms": mine, "p50_over_no_cache_ms": round(mine["p50"] - base["p50"], 1)}
        runs.append(entry)
    worst = max(e["p50_over_no_cache_ms"] for e in runs if e["case"] == BREAKER)
    text = f"hung Redis, breaker open: p50 within {GOAL_MS} ms of no cache (worst page)"
    return {
        "command": f"3 × {Gunicorn.DISPLAY}, requests one at a time", **web.described,
        "runs": runs, "settings": {"stories": STORIES, "requests": args.redis_requests,
                                   "gunicorn_workers": 2},
        "goals": [report.goal(text, GOAL_MS, worst, "ms vs no cache", most=True)],
        "table": report.table(COLUMNS, runs),
    }  # fmt: skip


def _measure(servers: dict, pages: dict, accepted: list, requests: int) -> dict:
    """Milliseconds of each request by (case, (page, path)), after the warm-up."""
    for server in servers.values():  # four at once: one worker waits, the other takes some
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(partial(_timed, server), [*pages.values()] * 4))
    opened = servers[BREAKER].tail(1_000_000).count("cache unavailable")  # the breaker's warning
    if opened < Gunicorn.workers or not accepted:
        raise BenchError(f"breaker opened {opened} times; Redis had {len(accepted)} connections")
    times = {(case, page): [] for case in servers for page in pages.items()}
    for count, cases in ((requests, (NO_CACHE, BREAKER)), (max(2, requests // 10), (NO_BREAKER,))):
        for _ in range(count):
            for page, case in ((page, case) for page in pages.items() for case in cases):
                times[case, page].append(_timed(servers[case], page[1]))
        print(f"  {', '.join(cases)}: {count} requests per page")
    return times


def _timed(server: Gunicorn, path: str) -> float:
    """Milliseconds of one request on a new connection, which must be a 200 the app rendered."""
    started = time.perf_counter()
    if fetch_ok(server.port, path)[0].get("x-page-cache") == "hit":
        raise BenchError(f"GET {path}: a page-cache hit, not a page the app rendered")
    return (time.perf_counter() - started) * 1000


COLUMNS = [
    ("case", lambda e: e["case"]),
    ("page", lambda e: e["page"]),
    ("requests", lambda e: e["requests"]),
    ("p50 ms", lambda e: f"{e['latency_ms']['p50']:.1f}"),
    ("p99 ms", lambda e: f"{e['latency_ms']['p99']:.1f}"),
    ("max ms", lambda e: f"{e['latency_ms']['max']:.1f}"),
    ("p50 vs no cache ms", lambda e: f"{e['p50_over_no_cache_ms']:+.1f}"),
]
