"""Benchmark: nginx's micro-cache (`deploy/nginx/newsroom.conf`) in front of the site
(`bench/lib/servers.py`: 300 imported stories, gunicorn, the Redis page cache).

Throughput: an article from nginx's cache against nginx serving a static file of its bytes, wrk
`-t2 -c32 -d10s` after a 2 s warm-up, static and cached runs alternating; every response a 200
of the page's size, 5 requests around each run HITs (the static file: no X-Cache-Status), and
gunicorn's CPU time shows whether a request reached it. Freshness (nothing purges nginx): the
home page and a story on it go into nginx's cache just before an Editor publishes a story and
withdraws that one (`manage.py shell`); nginx and gunicorn are polled every 0.5 s until each
change shows. What nginx never caches is tested in `tests/newsroom/test_nginx.py`. Goals (from
the issue): the cached article at ≥ 50 % of the static file's requests/s, and each change
visible through nginx within the page's max-age (+1 s: nginx counts whole seconds).
"""

import html
import json
import os
import re
import time
from collections import Counter
from itertools import product
from urllib.parse import quote

from bench.lib import BenchError, load, report
from bench.lib.commands import manage, query
from bench.lib.load import check_load, fetch, wire_size, wrk
from bench.lib.servers import Nginx, site

NAME = "nginx_cache"
TITLE = "nginx micro-cache: a cached article page against a static file, and freshness"
DATABASE_NAME, STORIES, CONNECTIONS, WARMUP_SECONDS = "newsroom_bench_nginx", 300, 32, 2
STATIC, CACHED, STATIC_COPY = "static file", "cached article", "bench/article-copy.html"
STATIC_PATH = f"/static/{STATIC_COPY}"  # STATIC_COPY under STATIC_ROOT
GOAL_RATIO, SAMPLES, POLL_SECONDS, TIMEOUT, CLOCK = 0.50, 5, 0.5, 90, 1
# The X-Cache-Status of a request arriving as the copy runs out: allowed once in the samples.
REFRESH_STATUSES = {"EXPIRED", "STALE", "UPDATING", "REVALIDATED"}
# wrk counts the bytes, not the requests, of responses still being read when a run stops.
SIZE_TOLERANCE = 0.02
COLUMNS = ["measure", "how", "result", "detail"]
CHANGES = {
    "new_on_home": "new story's headline on the home page",
    "gone_off_home": "withdrawn story gone from the home page",
    "gone_410": "withdrawn story's address answers 410",
}


def add_arguments(group) -> None:
    help_text = "Cached-article runs, each between two static-file runs (default: 2)."
    group.add_argument("--nginx-rounds", type=int, default=2, help=help_text)
    group.add_argument("--nginx-duration", type=int, default=10, help="Seconds per run (10).")


def run(args) -> dict:
    with site(DATABASE_NAME, stories=STORIES) as web:
        static_root = web.scratch / "static"
        roots = {"static_root": static_root, "media_root": web.scratch / "media"}
        with Nginx(web.scratch / "nginx", upstream=web.server.port, **roots) as proxy:
            pages, withdrawn = _prepare_pages(proxy, web.url, static_root)
            slices = []
            for number in range(1, args.nginx_rounds + 2):
                slices.append(_measure(proxy, web, STATIC, pages["static"], number, args))
                if number <= args.nginx_rounds:
                    slices.append(_measure(proxy, web, CACHED, pages["article"], number, args))
            freshness = _freshness(proxy.port, web, withdrawn)
    load.add_ratios(slices, STATIC, key="static", cpu=lambda e: e["nginx_cpu_us_per_request"])
    runs = [_summary(slices, label) for label in (STATIC, CACHED)]
    command = "gunicorn, /usr/sbin/nginx -c TMP/nginx.conf on 127.0.0.1; per run: wrk -t2 -c"
    return {
        "command": f"{command}{CONNECTIONS} -d{args.nginx_duration}s -s bench/lib/wrk.lua",
        "database": DATABASE_NAME, "redis": web.redis_url, "stories": web.stories,
        "machine": web.facts, "settings": {"rounds": args.nginx_rounds, "timeout": TIMEOUT},
        "pages": pages, "runs": runs, "slices": slices, "freshness": freshness,
        "goals": _goals(runs[1], freshness),
        "table": {"columns": COLUMNS, "rows": _rows(runs, freshness)},
    }  # fmt: skip


def _first_fetches(port: int, path: str) -> tuple[dict, bytes]:
    """A page never requested through nginx before: MISS, then HIT; the HIT's headers and body."""
    for want in ("MISS", "HIT"):
        status, headers, body = fetch(port, path)
        if status != 200 or headers.get("x-cache-status") != want:
            got = f"{status} {headers.get('x-cache-status')}"
            raise BenchError(f"GET {path} through nginx: {got}, not 200 {want}")
    return headers, body


def _prepare_pages(proxy: Nginx, url: str, static_root) -> tuple[dict, tuple]:
    """Put the measured article (a fixed pseudo-random visible one) in nginx's cache and its
    bytes in a static file; and pick the story to withdraw (the newest, on the home page)."""
    sql = """SELECT a.id, '/' || s.slug || '/' || a.slug || '/' FROM articles_article a JOIN
        articles_section s ON s.id = a.section_id WHERE a.status = 'published' AND
        a.published_at <= now() ORDER BY {} LIMIT 1"""
    orders = ("md5(a.slug)", "a.published_at DESC, a.id DESC", "md5(a.slug) DESC")
    measured, newest, other = (query(url, sql.format(order)) for order in orders)
    path, static = quote((other if measured == newest else measured)[0][1]), STATIC_PATH
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
    return pages, (newest[0][0], quote(newest[0][1]))


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


CHANGE_CODE = """
import json, time
from django.contrib.auth.models import Group
from accounts.models import User
from articles.models import Article, Section
from articles.services.workflow import publish_article, save_article, withdraw_article
editor = User.objects.create(username="nginx-bench-editor", is_staff=True)
editor.groups.add(Group.objects.get(name="Editor"))
editor = User.objects.get(pk=editor.pk)
body = "<p>The pigeon, who ran unopposed, promised more breadcrumbs for everyone.</p>"
story = Article(headline=HEADLINE, section=Section.objects.get(slug="news"), body=body)
save_article(story, by=editor, expected_version=None)
publish_article(story, by=editor)
done = {"story_path": story.get_absolute_url(), "published_at": time.time()}
withdraw_article(Article.objects.get(pk=WITHDRAW_PK), by=editor, note="nginx benchmark")
print(json.dumps(done | {"withdrawn_at": time.time()}))
"""


def _freshness(port: int, web, withdrawn: tuple) -> dict:
    """Put the home page and a story on it freshly in nginx's cache, publish a new story and
    withdraw that one, then poll until each change shows."""
    headline = f"Pigeon elected mayor of Blackpool in a landslide, count {os.getpid()}"
    (pk, gone), shown = withdrawn, html.escape(headline)
    stored = {path: (time.time(), *_first_fetches(port, path)) for path in ("/", gone)}
    if gone not in stored["/"][2].decode() or shown in stored["/"][2].decode():
        raise BenchError(f"the home page does not link to {gone}, or has the new headline")
    code = CHANGE_CODE.replace("HEADLINE", repr(headline)).replace("WITHDRAW_PK", str(pk))
    changed = json.loads(manage(web.env, "shell", "-c", code).strip().splitlines()[-1])
    checks = {  # name: (page, the change's moment, whether an answer (status, text) shows it)
        "new_on_home": ("/", changed["published_at"], lambda s, t: s == 200 and shown in t),
        "gone_off_home": ("/", changed["withdrawn_at"], lambda s, t: s == 200 and gone not in t),
        "gone_410": (gone, changed["withdrawn_at"], lambda s, t: s == 410),
    }
    seen, traces = _poll({"gunicorn": web.server.port, "nginx": port}, checks)
    changes = {name: _change(name, *checks[name][:2], stored, seen, traces) for name in checks}
    print("  freshness: " + ", ".join(f"{n} {e['seconds']} s" for n, e in changes.items()))
    story = {"headline": headline, "new_story": changed["story_path"], "withdrawn_story": gone}
    return story | {"poll_seconds": POLL_SECONDS, "timeout_seconds": TIMEOUT, "changes": changes}


def _change(name: str, page: str, moment: float, stored: dict, seen: dict, traces: dict) -> dict:
    """What the polls saw of one change, and how it compares with the copy's max-age."""
    at, headers, _ = stored[page]
    max_age = re.search(r"max-age=(\d+)", headers.get("cache-control", ""))
    if not max_age:
        raise BenchError(f"GET {page}: no max-age in {headers.get('cache-control')!r}")
    seconds, max_age = seen.get((name, "nginx")), int(max_age[1])
    return {
        "page": page, "seconds": seconds, "seconds_from_gunicorn": seen.get((name, "gunicorn")),
        "max_age": max_age, "entry_age_at_change": round(moment - at, 1), "trace": traces[name],
        "within_max_age_plus_clock": seconds is not None and seconds <= max_age + CLOCK,
    }  # fmt: skip


def _poll(ports: dict, checks: dict) -> tuple[dict, dict]:
    """Every POLL_SECONDS, each change not yet seen from each server, until all are or TIMEOUT:
    when each was seen, and nginx's answers whenever they changed."""
    seen, traces, tick = {}, {name: [] for name in checks}, time.monotonic()
    deadline = max(moment for _, moment, _ in checks.values()) + TIMEOUT
    while time.time() < deadline and len(seen) < len(checks) * len(ports):
        for (name, (path, moment, shows)), (via, port) in product(checks.items(), ports.items()):
            if (name, via) in seen:
                continue
            status, headers, body = fetch(port, path)
            after = round(time.time() - moment, 1)
            if ok := shows(status, body.decode(errors="replace")):
                seen[name, via] = after
            what = f"{status} {headers.get('x-cache-status', '-')}"
            if via == "nginx" and (ok or not traces[name] or traces[name][-1][0] != what):
                traces[name].append([what, after])
        tick += POLL_SECONDS
        time.sleep(max(0.0, tick - time.monotonic()))
    return seen, traces


def _goals(cached: dict, freshness: dict) -> list[dict]:
    ratio, unit = cached["ratio_to_static"], "% of the static file's req/s"
    text = f"cached article through nginx ≥ {GOAL_RATIO:.0%} of a static file's req/s"
    goals = [report.goal(text, GOAL_RATIO, round(100 * ratio, 1), unit, ratio >= GOAL_RATIO)]
    for name, e in freshness["changes"].items():
        text = f"{CHANGES[name]} through nginx within the page's max-age (+{CLOCK} s)"
        actual = e["seconds"] if e["seconds"] is not None else f"> {TIMEOUT}"
        unit, passed = f"s (max-age {e['max_age']} s)", e["within_max_age_plus_clock"]
        goals.append(report.goal(text, e["max_age"] + CLOCK, actual, unit, passed))
    return goals


def _rows(runs: list[dict], freshness: dict) -> list[list[str]]:
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
    for name, e in freshness["changes"].items():
        detail = f"max-age {e['max_age']} s; nginx's copy was {e['entry_age_at_change']} s old "
        detail += f"at the change; from gunicorn {e['seconds_from_gunicorn']} s; through nginx: "
        detail += ", ".join(f"{what} at {at} s" for what, at in e["trace"])
        result = f"{e['seconds']} s" if e["seconds"] is not None else f"not in {TIMEOUT} s"
        rows.append([CHANGES[name], f"poll `{e['page']}` every {POLL_SECONDS} s", result, detail])
    return rows
