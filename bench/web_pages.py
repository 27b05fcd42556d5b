"""Benchmark: the reader's site under gunicorn with the Redis page cache, against a bare view.

The site (`bench/lib/servers.py`): 10,000 stories in `newsroom_bench_web` (kept for
`bench/profile_web.py`), 2 sync gunicorn workers, no worker recycling, and `/bench/bare/`, a fixed
40 KB page through the same middleware: the floor under every page. wrk (`-t2 -c16`) loads one
page type at a time, 5 s after a 1 s warm-up, each run after a 2 s bare-view run, three rounds.
Cached pages are warmed (every request a hit); uncached ones are 2,000 articles in turn, or get
a query parameter no request had before (a miss that renders and stores the page).

A page's ratio is its requests/s over the bare-view runs just before and after it (medians over
rounds); CPU time per request from /proc is a load-independent second figure. Any response
other than 200, a miss in a cached run or hits in an uncached one fail the benchmark.
Goals (from the issue): an article cached at ≥ 90 % of the bare view, uncached at ≥ 8 %.
"""

import os
from dataclasses import dataclass
from urllib.parse import quote

from bench.lib import BenchError, report, stats
from bench.lib.client import check_load, fetch, wrk
from bench.lib.database import query
from bench.lib.servers import Site, site

NAME = "web_pages"
TITLE = "Reader's site: pages/s under gunicorn (2 sync workers) with the Redis page cache"
DATABASE_NAME = "newsroom_bench_web"
BARE_PATH, BARE = "/bench/bare/", "bare view"
BARE_SECONDS = 2  # each bare-view run: short, since there is one before every page's run
ROTATION = 2_000  # articles in the uncached article run (and as many others for its warm-up)
SEARCHES = ["police", "council bills", '"social media"', "Kremlin", "money -Russia"]
GOALS = {"article, cached": 0.90, "article, uncached": 0.08}
MAX_HITS_UNCACHED = 0.02  # a rotation that wraps around may hit; more means a wrong figure
SAMPLES = 5  # plain requests before and after a cached run, all of which must be hits
RENAMED = {"duration": "duration_seconds", "workers": "gunicorn_workers"}
RENAMED["max_requests"] = "gunicorn_max_requests"


def add_arguments(group) -> None:
    for option, default, text in [
        ("stories", 10_000, "Stories in the reader's-site benchmark database"),
        ("rounds", 3, "Rounds over every page type, each opening with the bare view"),
        ("duration", 5, "Seconds of load per page type and round, after a 1 s warm-up"),
        ("connections", 16, "wrk's open connections, over 2 wrk threads"),
        ("workers", 2, "gunicorn workers"),
        ("max-requests", 0, "gunicorn's max_requests while measuring (0: no recycling)"),
        ("seed", 2026, "Seed of the generated stories"),
    ]:
        help_text = f"{text} (default: {default})."
        group.add_argument(f"--web-{option}", type=int, default=default, help=help_text)


@dataclass(frozen=True)
class Target:
    label: str
    page: str  # the page type
    cached: bool | None  # True: must come from the page cache; False: must not; None: no cache
    paths: tuple[str, ...]  # one: a fixed request; several: in turn (the Lua script)
    warm_paths: tuple[str, ...] = ()  # the warm-up's, when they must differ from `paths`
    bust: bool = False  # a fresh query parameter on every request: always a cache miss
    how: str = ""


def run(args) -> dict:
    options = {"workers": args.web_workers, "max_requests": args.web_max_requests, "keep": True}
    with site(DATABASE_NAME, stories=args.web_stories, seed=args.web_seed, **options) as web:
        bare, *pages = targets(web.url, ROTATION)
        slices = []
        for number in range(1, args.web_rounds + 1):
            for target in pages:
                slices.append(_measure(web, bare, number, BARE_SECONDS, args))
                slices.append(_measure(web, target, number, args.web_duration, args))
        slices.append(_measure(web, bare, args.web_rounds, BARE_SECONDS, args))
    stats.add_ratios(slices, BARE, key="bare", cpu=_cpu_total)
    runs = [_summary(slices, target) for target in (bare, *pages)]
    ratios, goals = {entry["run"]: entry["ratio_to_bare"] for entry in runs}, []
    for label, goal in GOALS.items():
        text, ratio = f"{label} ≥ {goal:.0%} of the bare view's requests/s", ratios[label]
        goals.append(report.goal(text, goal, ratio, "of the bare view", ratio >= goal))
    return {
        "command": f"{web.server.display()}; then per page type and round: wrk -t2 "
        f"-c{args.web_connections} -d{args.web_duration}s --latency -s bench/lib/wrk.lua "
        "http://127.0.0.1:PORT/PATH (after a 1 s warm-up)",
        "database": DATABASE_NAME,
        "redis": web.redis_url,
        "machine": web.facts,
        "settings": report.options(args, "web", **RENAMED)
        | {"wrk_threads": 2, "settings_module": web.env["DJANGO_SETTINGS_MODULE"]},
        "stories": web.stories,
        "runs": runs,
        "slices": slices,
        "goals": goals,
        "table": report.table(COLUMNS, runs),
        "notes": _notes(runs, args),
    }


def targets(url: str, rotation: int) -> list[Target]:
    """What is measured, in order: visible articles in a fixed pseudo-random order (not the
    newest: a reader arriving from search or social), the home page, sections, search."""
    sql = """SELECT s.slug, a.slug FROM articles_article a JOIN articles_section s
        ON s.id = a.section_id WHERE a.status = 'published' AND a.published_at <= now()
        ORDER BY md5(a.slug) LIMIT %s"""
    rows = query(url, sql, (2 * rotation + 1,))
    if len(rows) < 2 * rotation + 1:
        raise BenchError(f"only {len(rows)} visible articles; need {2 * rotation + 1}")
    first, *articles = [f"/{quote(section)}/{quote(slug)}/" for section, slug in rows]
    measured, warm = tuple(articles[:rotation]), tuple(articles[rotation:])
    order = 'SELECT slug FROM articles_section ORDER BY "order", name'
    sections = tuple(f"/{quote(slug)}/" for (slug,) in query(url, order))
    searches = tuple(f"/search/?q={quote(words)}" for words in SEARCHES)
    fresh, bare = "fresh ?_bench= each", f"fixed 40 KB response, no cache; {BARE_SECONDS} s"
    in_turn = f"{rotation:,} articles in turn, each once (warm-up: {rotation:,} others)"
    queries = f"{len(searches)} queries ({', '.join(SEARCHES)}), {fresh}"
    return [
        Target(BARE, "bare", None, (BARE_PATH,), how=f"{bare} before each page's run"),
        Target("article, cached", "article", True, (first,), how="one article, page-cache hits"),
        Target("article, uncached", "article", False, measured, warm, how=in_turn),
        Target("home, cached", "home", True, ("/",), how="page-cache hits"),
        Target("home, uncached", "home", False, ("/",), bust=True, how=fresh),
        Target("section, cached", "section", True, ("/news/",), how="/news/, page-cache hits"),
        Target("section, uncached", "section", False, sections, bust=True,
               how=f"{len(sections)} sections' first pages, {fresh}"),
        Target("search, uncached", "search", False, searches, bust=True, how=queries),
    ]  # fmt: skip


def _measure(web: Site, target: Target, number: int, seconds: int, args) -> dict:
    """One wrk run on `target` from an empty cache (its warm-up fills it), checked."""
    web.forget_cache()
    port, master = web.server.port, web.server.process.pid
    load = {"connections": args.web_connections, "scratch": web.scratch}
    warm = target.warm_paths or target.paths
    # The run's own URL when it is to be cached; else one the run will not ask for unbusted.
    sample = target.paths[0] if target.cached is not False else warm[0]
    status, headers, body = fetch(port, sample)
    if status != 200:
        raise BenchError(f"{target.label}: GET {sample} answered {status}, not 200")
    if target.page != "bare":  # the bare view has nothing to warm
        wrk(port, warm, seconds=1, bust="w" if target.bust else None, **load)
        stats.wait_until_idle(master)  # wrk leaves requests queued: let the workers finish them
    before = _cache_hits(port, sample) if target.cached else 0
    load_before, boots = os.getloadavg()[0], web.server.worker_boots()
    cpu_before = stats.server_cpu(master), stats.backends_cpu(web.url)
    bust = f"m{number}-" if target.bust else None
    result = wrk(port, target.paths, seconds=seconds, bust=bust, **load)
    cpu_after = stats.server_cpu(master), stats.backends_cpu(web.url)
    stats.wait_until_idle(master)
    restarts = web.server.worker_boots() - boots
    check_load(target.label, result, web.server.tail())
    hits, checked = _check_cache(target, result, headers.get("x-page-cache"), before, port, sample)
    per_request = 1000 / max(1, result["requests"])
    used = map(stats.cpu_used, cpu_before, cpu_after)
    cpu = dict(zip(("app", "db"), (report.rounded(s, per_request, 3) for s in used), strict=True))
    entry = stats.slice_entry(target.label, number, result, load_before, page_bytes=len(body))
    entry |= {"page_cache_hits": hits, "page_cache_checked": checked, "cpu_ms_per_request": cpu}
    entry |= {"worker_restarts": restarts}
    latency, rps = entry["latency_ms"], entry["requests_per_second"]
    print(
        f"  [{number}] {target.label}: {rps:,.0f} req/s, p50 {latency['p50']:.1f} ms, p99 "
        f"{latency['p99']:.1f} ms, CPU {_cpu_cell(entry)} ms/req"
        + ("" if hits is None else f", cache hits {hits}/{checked}")
        + f", load {load_before:.1f}"
        + (f", {restarts} worker restarts" if restarts else "")
    )
    return entry


def _check_cache(target: Target, result: dict, cache: str, before: int, port, sample) -> tuple:
    """(hits, checked): plain requests before and after a cached run must all be hits; an
    uncached run's responses (almost) never; the bare view never comes from the cache."""
    if target.cached:
        hits, checked = before + _cache_hits(port, sample), 2 * SAMPLES
        wrong = hits != checked
    elif target.cached is False:
        hits, checked = result["hits"], result["responses"]
        wrong = hits > MAX_HITS_UNCACHED * checked
    else:
        hits, checked, wrong = None, None, cache == "hit"
    if wrong:
        raise BenchError(f"{target.label}: page-cache hits {hits} of {checked} ({cache} sampled)")
    return hits, checked


def _cache_hits(port: int, path: str) -> int:
    answers = [fetch(port, path)[:2] for _ in range(SAMPLES)]
    if any(status != 200 for status, _ in answers):
        raise BenchError(f"GET {path} answered {[status for status, _ in answers]}, not 200")
    return sum(headers.get("x-page-cache") == "hit" for _, headers in answers)


def _cpu_total(entry: dict) -> float | None:
    cpu = entry["cpu_ms_per_request"]
    return None if cpu["app"] is None else cpu["app"] + (cpu["db"] or 0.0)


def _summary(slices: list[dict], target: Target) -> dict:
    """One row per page type: medians over its rounds."""
    mine = [entry for entry in slices if entry["run"] == target.label]
    hits = [e["page_cache_hits"] for e in mine if e["page_cache_hits"] is not None]
    checked = [e["page_cache_checked"] for e in mine if e["page_cache_checked"] is not None]
    cpu = {p: stats.median(mine, lambda e, p=p: e["cpu_ms_per_request"][p]) for p in ("app", "db")}
    return stats.summarise(slices, target.label, key="bare") | {
        "page": target.page,
        "cached": target.cached,
        "how": target.how,
        "paths": len(target.paths),
        "example_path": target.paths[0],
        "cpu_ms_per_request": cpu,
        "page_cache_hits": sum(hits) if hits else None,
        "page_cache_checked": sum(checked) if checked else None,
        "worker_restarts": sum(e["worker_restarts"] for e in mine),
    }


def _cpu_cell(entry: dict) -> str:
    cpu = entry["cpu_ms_per_request"]
    return f"{report.number(cpu['app'], '.2f')} + {report.number(cpu['db'], '.2f')}"


def _hits(entry: dict) -> str:
    if entry["page_cache_hits"] is None:
        return "–"
    sampled = " sampled" if entry["cached"] else ""
    return f"{entry['page_cache_hits']:,}/{entry['page_cache_checked']:,}{sampled}"


COLUMNS = [
    ("page", lambda e: e["run"]),
    ("how", lambda e: e["how"]),
    ("req/s", lambda e: f"{e['requests_per_second']:,.0f}"),
    ("p50 ms", lambda e: f"{e['latency_ms']['p50']:.1f}"),
    ("p99 ms", lambda e: f"{e['latency_ms']['p99']:.1f}"),
    ("ratio to bare", lambda e: f"{e['ratio_to_bare']:.1%}"),
    ("ratio each round", lambda e: _each_round(e) if e["page"] != "bare" else "–"),
    ("CPU ms/req app + db", _cpu_cell),
    ("CPU ratio", lambda e: report.number(e["cpu_ratio_to_bare"], ".1%")),
    ("page-cache hits", _hits),
    ("KB/resp", lambda e: f"{e['bytes_per_response'] / 1000:.1f}"),
    ("load", lambda e: f"{e['load_average_before']:.1f}"),
]


def _each_round(entry: dict) -> str:
    return " ".join(f"{ratio:.0%}" for ratio in entry["ratio_to_bare_each_round"])


def _notes(runs: list[dict], args) -> list[str]:
    by_cpu = [
        f"{e['run']} {report.number(e['cpu_ratio_to_bare'], '.1%')}"
        for e in runs
        if e["run"] in GOALS
    ]
    restarts = sum(entry["worker_restarts"] for entry in runs)
    recycling = f"{restarts} worker restarts" if args.web_max_requests else "off"
    return [
        f"The goals by CPU time per request: {', '.join(by_cpu)} of the bare view's.",
        f"{args.web_rounds} rounds; each page's run ({args.web_duration} s after a 1 s warm-up) "
        f"follows a {BARE_SECONDS} s bare-view run, and one more closes the last round. A page's "
        "ratio is its requests/s over the mean of the bare-view runs before and after it; req/s, "
        "latency and the ratios are medians over the rounds.",
        "CPU ms/req: gunicorn's (master and workers) and the benchmark database's PostgreSQL "
        "backends', from /proc, so other jobs on the machine are not in it; CPU ratio is the bare "
        "view's over the page's. Latency is wrk's, 16 connections queueing for 2 sync workers.",
        f"Cached: every request a hit ({SAMPLES} plain requests checked before and after each "
        "run). Uncached: every request a miss that renders and stores the page; the wrk script "
        "counts hits over every response. The run's cache keys are deleted before every run.",
        f"Worker recycling while measuring: {recycling} (--max-requests {args.web_max_requests}).",
        "Every response was 200, no socket errors. No access log (GUNICORN_ACCESS_LOG empty).",
    ]
