"""Benchmark: nginx's micro-cache (`deploy/nginx/newsroom.conf`) in front of the site
(`bench/lib/servers.py`: 300 imported stories, gunicorn, the Redis page cache).

Throughput: an article from nginx's cache against nginx serving a static file of its bytes, wrk
`-t2 -c32 -d10s` after a 2 s warm-up, static and cached runs alternating; every response a 200
of the page's size, 5 requests around each run HITs (the static file: no X-Cache-Status), and
gunicorn's CPU time shows whether a request reached it. What nginx never caches is tested in
`tests/newsroom/test_nginx.py`. Goal (from the issue): the cached article at ≥ 50 % of the
static file's requests/s. (Nothing purges nginx: a change shows when the page's max-age ends.)
"""

import os
from collections import Counter
from urllib.parse import quote

from bench.lib import BenchError, load, report
from bench.lib.commands import query
from bench.lib.load import check_load, fetch, wire_size, wrk
from bench.lib.servers import Nginx, site

NAME = "nginx_cache"
TITLE = "nginx micro-cache: a cached article page against a static file"
DATABASE_NAME, STORIES, CONNECTIONS, WARMUP_SECONDS = "newsroom_bench_nginx", 300, 32, 2
STATIC, CACHED, STATIC_COPY = "static file", "cached article", "bench/article-copy.html"
STATIC_PATH = f"/static/{STATIC_COPY}"  # STATIC_COPY under STATIC_ROOT
GOAL_RATIO, SAMPLES = 0.50, 5
# The X-Cache-Status of a request arriving as the copy runs out: allowed once in the samples.
REFRESH_STATUSES = {"EXPIRED", "STALE", "UPDATING", "REVALIDATED"}
# wrk counts the bytes, not the requests, of responses still being read when a run stops.
SIZE_TOLERANCE = 0.02
COLUMNS = ["measure", "how", "result", "detail"]


def add_arguments(group) -> None:
    help_text = "Cached-article runs, each between two static-file runs (default: 2)."
    group.add_argument("--nginx-rounds", type=int, default=2, help=help_text)
    group.add_argument("--nginx-duration", type=int, default=10, help="Seconds per run (10).")


def run(args) -> dict:
    with site(DATABASE_NAME, stories=STORIES) as web:
        static_root = web.scratch / "static"
        roots = {"static_root": static_root, "media_root": web.scratch / "media"}
        with Nginx(web.scratch / "nginx", upstream=web.server.port, **roots) as proxy:
            pages = _prepare_pages(proxy, web.url, static_root)
            slices = []
            for number in range(1, args.nginx_rounds + 2):
                slices.append(_measure(proxy, web, STATIC, pages["static"], number, args))
                if number <= args.nginx_rounds:
                    slices.append(_measure(proxy, web, CACHED, pages["article"], number, args))
    load.add_ratios(slices, STATIC, key="static", cpu=lambda e: e["nginx_cpu_us_per_request"])
    runs = [_summary(slices, label) for label in (STATIC, CACHED)]
    command = "gunicorn, /usr/sbin/nginx -c TMP/nginx.conf on 127.0.0.1; per run: wrk -t2 -c"
    return {
        "command": f"{command}{CONNECTIONS} -d{args.nginx_duration}s -s bench/lib/wrk.lua",
        "database": DATABASE_NAME, "redis": web.redis_url, "stories": web.stories,
        "machine": web.facts, "settings": {"rounds": args.nginx_rounds},
        "pages": pages, "runs": runs, "slices": slices, "goals": _goals(runs[1]),
        "table": {"columns": COLUMNS, "rows": _rows(runs)},
    }  # fmt: skip


def _first_fetches(port: int, path: str) -> tuple[dict, bytes]:
    """A page never requested through nginx before: MISS, then HIT; the HIT's headers and body."""
    for want in ("MISS", "HIT"):
        status, headers, body = fetch(port, path)
        if status != 200 or headers.get("x-cache-status") != want:
            got = f"{status} {headers.get('x-cache-status')}"
            raise BenchError(f"GET {path} through nginx: {got}, not 200 {want}")
    return headers, body


def _prepare_pages(proxy: Nginx, url: str, static_root) -> dict:
    """Put the measured article (a fixed pseudo-random visible one) in nginx's cache and its
    bytes in a static file."""
    sql = """SELECT a.id, '/' || s.slug || '/' || a.slug || '/' FROM articles_article a JOIN
        articles_section s ON s.id = a.section_id WHERE a.status = 'published' AND
        a.published_at <= now() ORDER BY {} LIMIT 1"""
    path, static = quote(query(url, sql.format("md5(a.slug)"))[0][1]), STATIC_PATH
    headers, body = _first_fetches(proxy.port, path)
    (static_root / STATIC_COPY).parent.mkdir(parents=True, exist_ok=True)
    (static_root / STATIC_COPY).write_bytes(body)
    (static_root / STATIC_COPY).chmod(0o644)
    status, static_headers, static_body = fetch(proxy.port, static)
    if status != 200 or static_body != body or "x-cache-status" in static_headers:
        raise BenchError(f"GET {static}: {status}, not the article's bytes\n{proxy.tail()}")
    pages = {"article": path, "static": static, "body_bytes": len(body)}
    pages |= {"article_cache_control": headers.get("cache-control", "")}
    pages |= {"static_cache_control": static_headers.get("cache-control", "")}
    for kind in ("article", "static"):
        pages[f"{kind}_response_bytes"] = wire_size(proxy.port, pages[kind])
    return pages


def _measure(proxy: Nginx, web, label: str, path: str, number: int, args) -> dict:
    options = {"connections": CONNECTIONS, "scratch": web.scratch}
    wrk(proxy.port, (path,), seconds=WARMUP_SECONDS, **options)
    before = _samples(proxy.port, path, cached=label == CACHED)
    expected_bytes, load_before = wire_size(proxy.port, path), os.getloadavg()[0]
    pids = proxy.process.pid, web.server.process.pid
    cpu_before = [load.server_cpu(pid) for pid in pids]
    result = wrk(proxy.port, (path,), seconds=args.nginx_duration, **options)
    nginx_cpu, app_cpu = map(load.cpu_used, cpu_before, map(load.server_cpu, pids))
    after = _samples(proxy.port, path, cached=label == CACHED)
    check_load(label, result, proxy.tail())
    size = result["bytes"] / result["requests"]
    if abs(size / expected_bytes - 1) > SIZE_TOLERANCE:
        raise BenchError(f"{label}: {size:,.0f} bytes a response, not {expected_bytes:,}: errors?")
    entry = load.slice_entry(label, number, result, load_before, digits=3, path=path)
    entry |= {"expected_bytes": expected_bytes, "samples": dict(before + after)}
    entry["nginx_cpu_us_per_request"] = report.rounded(nginx_cpu, 1e6 / result["requests"], 2)
    entry["gunicorn_cpu_seconds"] = report.rounded(app_cpu, 1, 2)
    rate, cpu = f"{entry['requests_per_second']:,.0f} req/s", entry["nginx_cpu_us_per_request"]
    print(f"  [{number}] {label}: {rate}, nginx {cpu} µs CPU/req, samples {entry['samples']}")
    return entry


def _samples(port: int, path: str, *, cached: bool) -> Counter:
    """X-Cache-Status of SAMPLES plain requests ("-" when absent): all 200, and all HIT for the
    cached page (one refresh at the copy's expiry excepted) or absent for the static file."""
    seen: Counter = Counter()
    for _ in range(SAMPLES):
        status, headers, _ = fetch(port, path)
        if status != 200:
            raise BenchError(f"GET {path} through nginx answered {status}, not 200")
        seen[headers.get("x-cache-status", "-")] += 1
    refreshes = sum(seen[s] for s in REFRESH_STATUSES)
    if cached and (seen["HIT"] + refreshes != SAMPLES or refreshes > 1):
        raise BenchError(f"GET {path}: X-Cache-Status {dict(seen)}, not HIT")
    if not cached and set(seen) != {"-"}:
        raise BenchError(f"GET {path}: X-Cache-Status {dict(seen)}: not a static file")
    return seen


def _summary(slices: list[dict], label: str) -> dict:
    mine = [e for e in slices if e["run"] == label]
    return load.summarise(slices, label, key="static") | {
        "path": mine[0]["path"],
        "nginx_cpu_us_per_request": load.median(mine, lambda e: e["nginx_cpu_us_per_request"]),
        "gunicorn_cpu_seconds": [e["gunicorn_cpu_seconds"] for e in mine],
        "samples": dict(sum((Counter(e["samples"]) for e in mine), Counter())),
    }


def _goals(cached: dict) -> list[dict]:
    ratio, unit = cached["ratio_to_static"], "% of the static file's req/s"
    text = f"cached article through nginx ≥ {GOAL_RATIO:.0%} of a static file's req/s"
    return [report.goal(text, GOAL_RATIO, round(100 * ratio, 1), unit, ratio >= GOAL_RATIO)]


def _rows(runs: list[dict]) -> list[list[str]]:
    rows = []
    for e in runs:
        each = ", ".join(f"{r:,.0f}" for r in e["requests_per_second_each_round"])
        detail = f"each run {each}; p50 {e['latency_ms']['p50']:.2f} ms, p99 "
        detail += f"{e['latency_ms']['p99']:.2f} ms; nginx CPU {e['nginx_cpu_us_per_request']:.1f}"
        detail += f" µs/req; gunicorn CPU during runs {e['gunicorn_cpu_seconds']} s; X-Cache-Status"
        detail += f" samples {e['samples']}"
        how = f"`{e['path']}`, {e['bytes_per_response'] / 1000:.1f} KB/response"
        rate = f"{e['requests_per_second']:,.0f} req/s"
        rows.append([f"{e['run']} through nginx", how, rate, detail])
    cached, cpu = runs[1], runs[1]["cpu_ratio_to_static"]
    detail = "each round " + " ".join(f"{r:.0%}" for r in cached["ratio_to_static_each_round"])
    detail += f"; nginx CPU per request static/cached {cpu:.1%}" if cpu else ""
    how = "each cached run over the static runs before and after it"
    rows.append(["ratio cached / static", how, f"{cached['ratio_to_static']:.1%}", detail])
    return rows
