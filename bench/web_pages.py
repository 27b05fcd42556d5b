"""Benchmark: the reader's site under gunicorn with the Redis page cache, against a bare view.

The site (`servers.site`): 10,000 imported stories in `newsroom_bench_web` (kept, to profile
pages on) and `/bench/bare/`, a fixed 40 KB page through the same middleware, the floor under
every page. wrk (`-t2 -c16`, 16 connections queueing for 2 workers) loads one page type at a
time, 5 s after a 1 s warm-up, each run after a 2 s bare-view run, three rounds. Cached pages
must be hits (5 requests checked around each run); uncached ones are 2,000 articles in turn, or
carry a query parameter never sent before, and must be misses (the wrk script counts). A page's
ratio is its requests/s over the bare-view runs around it; CPU ms per request (gunicorn's and
PostgreSQL's, from /proc) is a load-independent second figure. Goals (from the issues): an
article cached at ≥ 90 % of the bare view; uncached, an article at ≥ 15 %, a section at ≥ 10 %,
the home page at ≥ 8 % and a search at ≥ 5 %.
"""

import os
from dataclasses import dataclass
from functools import partial
from urllib.parse import quote

from bench.lib import BenchError, load, report
from bench.lib.commands import query, visible_stories
from bench.lib.load import check_load, fetch_ok, wrk
from bench.lib.servers import REDIS_URL, Site, site

NAME = "web_pages"
TITLE = "Reader's site: pages/s under gunicorn (2 sync workers) with the Redis page cache"
DATABASE_NAME, STORIES, CONNECTIONS, BARE_SECONDS = "newsroom_bench_web", 10_000, 16, 2
ROTATION = 2_000  # articles in the uncached article run (and as many others for its warm-up)
ARGUMENTS = {"--web-rounds": (3, "Rounds of page types (3)."),
             "--web-duration": (5, "Seconds of load a run (5).")}  # fmt: skip
SEARCHES = ["police", "council bills", '"social media"', "Kremlin", "money -Russia"]
GOALS = {"article, cached": 0.90, "article, uncached": 0.15, "section, uncached": 0.10,
         "home, uncached": 0.08, "search, uncached": 0.05}  # fmt: skip
MAX_HITS_UNCACHED = 0.02  # a rotation that wraps around may hit; more means a wrong figure
SAMPLES = 5  # plain requests before and after a cached run, all of which must be hits


@dataclass(frozen=True)
class Target:
    label: str
    page: str  # the page type
    cached: bool | None  # True: must come from the page cache; False: must not; None: no cache
    paths: tuple[str, ...]  # one: a fixed request; several: in turn (the Lua script)
    how: str
    warm_paths: tuple[str, ...] = ()  # the warm-up's, when they must differ from `paths`
    bust: bool = False  # a fresh query parameter on every request: always a cache miss


def run(args) -> dict:
    with site(DATABASE_NAME, stories=STORIES, keep=True) as web:
        bare, *pages = targets(web.url)
        slices = load.alternate(partial(_measure, web, args), bare, pages, args.web_rounds)
    rows, runs = load.summarise(slices, bare.label, key="bare", cpu=_cpu_total), []
    for target in (bare, *pages):
        mine = [entry for entry in slices if entry["run"] == target.label]
        hits = {k: sum(e[k] for e in mine) if target.cached is not None else None
                for k in ("page_cache_hits", "page_cache_checked")}  # fmt: skip
        cpu = {p: load.median(mine, "cpu_ms_per_request", p) for p in ("app", "db")}
        runs.append(rows[target.label] | hits | {
            "page": target.page, "cached": target.cached, "how": target.how,
            "paths": len(target.paths), "example_path": target.paths[0], "cpu_ms_per_request": cpu,
        })  # fmt: skip
    goals = [
        report.goal(f"{label} ≥ {goal:.0%} of the bare view's requests/s", goal,
                    rows[label]["ratio_to_bare"], "of the bare view")
        for label, goal in GOALS.items()
    ]  # fmt: skip
    seconds, command = args.web_duration, f"{web.server.DISPLAY}; then per page type and round:"
    command += f" wrk -t2 -c{CONNECTIONS} -d{seconds}s --latency -s bench/lib/wrk.lua"
    settings = {"stories": STORIES, "rounds": args.web_rounds, "duration_seconds": seconds}
    return {
        "command": f"{command} http://127.0.0.1:PORT/PATH (after a 1 s warm-up)",
        "redis": REDIS_URL, **web.described, "settings": settings, "runs": runs,
        "slices": slices, "goals": goals, "table": report.table(COLUMNS, runs),
    }  # fmt: skip


def targets(url: str) -> list[Target]:
    """What is measured, in order: visible articles, the home page, sections, search."""
    first, *articles = [path for _, path in visible_stories(url, 2 * ROTATION + 1)]
    if len(articles) < 2 * ROTATION:
        raise BenchError(f"only {len(articles) + 1} visible articles; need {2 * ROTATION + 1}")
    order = 'SELECT slug FROM articles_section ORDER BY "order", name'
    sections = tuple(f"/{quote(slug)}/" for (slug,) in query(url, order))
    searches = tuple(f"/search/?q={quote(words)}" for words in SEARCHES)
    fresh, each = "fresh ?_bench= each", f"{ROTATION:,} articles in turn, each once"
    return [
        Target("bare view", "bare", None, ("/bench/bare/",),
               f"fixed 40 KB response, no cache; {BARE_SECONDS} s before each page's run"),
        Target("article, cached", "article", True, (first,), "one article, page-cache hits"),
        Target("article, uncached", "article", False, tuple(articles[:ROTATION]),
               f"{each} (warm-up: {ROTATION:,} others)", tuple(articles[ROTATION:])),
        Target("home, cached", "home", True, ("/",), "page-cache hits"),
        Target("home, uncached", "home", False, ("/",), fresh, bust=True),
        Target("section, cached", "section", True, ("/news/",), "/news/, page-cache hits"),
        Target("section, uncached", "section", False, sections,
               f"{len(sections)} sections' first pages, {fresh}", bust=True),
        Target("search, uncached", "search", False, searches,
               f"{len(searches)} queries ({', '.join(SEARCHES)}), {fresh}", bust=True),
    ]  # fmt: skip


def _measure(web: Site, args, target: Target, number: int) -> dict:
    """One wrk run on `target` from an empty cache (its warm-up fills it), checked: around a
    cached run all hits; an uncached run (almost) none; the bare view none."""
    seconds = BARE_SECONDS if target.page == "bare" else args.web_duration
    web.forget_cache()
    port, master, warm = web.server.port, web.server.process.pid, target.warm_paths or target.paths
    # The run's own URL when it is to be cached; else one the run will not ask for unbusted.
    sample = target.paths[0] if target.cached is not False else warm[0]
    headers, body = fetch_ok(port, sample, target.label)
    if target.page != "bare":  # the bare view has nothing to warm
        wrk(port, warm, seconds=1, connections=CONNECTIONS, bust="w" if target.bust else None)
        load.wait_until_idle(master)  # wrk leaves requests queued: let the workers finish them
    before = _cache_hits(port, sample) if target.cached else 0
    load_before = os.getloadavg()[0]
    cpu_before = load.server_cpu(master), load.backends_cpu(web.url)
    bust = target.bust and f"m{number}-"
    result = wrk(port, target.paths, seconds=seconds, connections=CONNECTIONS, bust=bust)
    cpu_after = load.server_cpu(master), load.backends_cpu(web.url)
    load.wait_until_idle(master)
    check_load(target.label, result, web.server.tail())
    if target.cached:
        hits, checked = before + _cache_hits(port, sample), 2 * SAMPLES
        wrong = hits != checked
    elif target.cached is False:
        hits, checked = result["hits"], result["responses"]
        wrong = hits > MAX_HITS_UNCACHED * checked
    else:
        hits, checked, wrong = None, None, headers.get("x-page-cache") == "hit"
    if wrong:
        sampled = headers.get("x-page-cache")
        raise BenchError(f"{target.label}: page-cache hits {hits} of {checked} ({sampled} sampled)")
    per_request, used = 1000 / max(1, result["requests"]), map(load.cpu_used, cpu_before, cpu_after)
    cpu = [None if s is None else round(s * per_request, 3) for s in used]
    entry = load.slice_entry(target.label, number, result, load_before, page_bytes=len(body))
    entry |= {"page_cache_hits": hits, "page_cache_checked": checked}
    entry["cpu_ms_per_request"] = dict(zip(("app", "db"), cpu, strict=True))
    rate = f"{entry['requests_per_second']:,.0f} req/s, CPU {_cpu_cell(entry)} ms/req"
    print(f"  [{number}] {target.label}: {rate}, cache hits {hits}/{checked}")
    return entry


def _cache_hits(port: int, path: str) -> int:
    """How many of SAMPLES plain requests were page-cache hits; every one must be a 200."""
    return sum(fetch_ok(port, path)[0].get("x-page-cache") == "hit" for _ in range(SAMPLES))


def _cpu_total(entry: dict) -> float | None:
    cpu = entry["cpu_ms_per_request"]
    return None if cpu["app"] is None else cpu["app"] + (cpu["db"] or 0.0)


def _cpu_cell(entry: dict) -> str:
    cpu = entry["cpu_ms_per_request"]
    return f"{report.number(cpu['app'], '.2f')} + {report.number(cpu['db'], '.2f')}"


def _hits(entry: dict) -> str:
    hits, checked, sampled = entry["page_cache_hits"], entry["page_cache_checked"], entry["cached"]
    return "–" if hits is None else f"{hits:,}/{checked:,}{' sampled' if sampled else ''}"


COLUMNS = [
    ("page", lambda e: e["run"]),
    ("how", lambda e: e["how"]),
    ("req/s", lambda e: f"{e['requests_per_second']:,.0f}"),
    ("p50 ms", lambda e: f"{e['latency_ms']['p50']:.1f}"),
    ("p99 ms", lambda e: f"{e['latency_ms']['p99']:.1f}"),
    ("ratio to bare", lambda e: f"{e['ratio_to_bare']:.1%}"),
    ("ratio each round", lambda e: " ".join(f"{r:.0%}" for r in e["ratio_to_bare_each_round"])
     if e["page"] != "bare" else "–"),
    ("CPU ms/req app + db", _cpu_cell),
    ("CPU ratio", lambda e: report.number(e["cpu_ratio_to_bare"], ".1%")),
    ("page-cache hits", _hits),
    ("KB/resp", lambda e: f"{e['bytes_per_response'] / 1000:.1f}"),
    ("load", lambda e: f"{e['load_average_before']:.1f}"),
]  # fmt: skip
