"""Benchmark: nginx's micro-cache (`deploy/nginx/newsroom.conf`) in front of the site
(`bench/lib/servers.py`: 300 stories, gunicorn with 2 sync workers and the Redis page cache).

1. Throughput: an article from nginx's cache (HITs, checked around each run; gunicorn's CPU time
   shows whether any request reached it) against nginx serving a static file of the same bytes:
   wrk `-t2 -c32 -d10s` after a 2 s warm-up, static and cached runs alternating.
2. Freshness, the short-TTL approach (nothing purges nginx): the home page and a story on it go
   into nginx's cache just before an editor publishes a story and withdraws that one; nginx and
   gunicorn are polled every 0.5 s until each change shows.
3. Never cached: a `sessionid` cookie, `/admin/login/`, a POST to the sign-up form.

Goals (from the issue): the cached article at ≥ 50 % of the static file's requests/s, and every
change visible through nginx within the page's max-age.
"""

import html
import json
import os
import re
import time
from collections import Counter
from urllib.parse import quote, urlencode

from bench.lib import BenchError, report, stats
from bench.lib.client import check_load, fetch, wire_size, wrk
from bench.lib.commands import manage
from bench.lib.database import query
from bench.lib.servers import Nginx, site

NAME = "nginx_cache"
TITLE = "nginx micro-cache: a cached article page against a static file, and freshness"
DATABASE_NAME = "newsroom_bench_nginx"
STATIC, CACHED = "static file", "cached article"
STATIC_COPY = "bench/article-copy.html"  # under STATIC_ROOT, requested as STATIC_PATH
STATIC_PATH = f"/static/{STATIC_COPY}"
GOAL_RATIO, WARMUP_SECONDS, SAMPLES, POLL_SECONDS = 0.50, 2, 5, 0.5
# The X-Cache-Status of a request arriving as the copy runs out: allowed once in the samples.
REFRESH_STATUSES = {"EXPIRED", "STALE", "UPDATING", "REVALIDATED"}
# wrk's bytes per response may differ from the page's by this much (responses still being read
# when a run stops count in bytes but not in requests).
SIZE_TOLERANCE = 0.02
CLOCK = 1  # nginx keeps a copy's expiry in whole seconds: it lives max-age to max-age + 1 s
FAKE_SESSION = "sessionid=nginx-bench-not-a-real-session"
COLUMNS = ["measure", "how", "result", "detail"]
RENAMED = {"duration": "duration_seconds", "freshness_timeout": "freshness_timeout_seconds"}
FIXED = {"wrk_threads": 2, "gunicorn_workers": 2, "nginx_worker_processes": "auto"}
CHANGES = {
    "new_on_home": "new story's headline on the home page",
    "gone_off_home": "withdrawn story gone from the home page",
    "gone_410": "withdrawn story's address answers 410",
}


def add_arguments(group) -> None:
    for option, default, text in [
        ("stories", 300, "Stories in the nginx benchmark's database"),
        ("rounds", 2, "Cached-article runs, each between two static-file runs"),
        ("duration", 10, "Seconds of load per run, after a 2 s warm-up"),
        ("connections", 32, "wrk's open connections, over 2 wrk threads"),
        ("freshness-timeout", 90, "Longest wait in s for a change to show (max-age is 60)"),
        ("seed", 2026, "Seed of the generated stories"),
    ]:
        help_text = f"{text} (default: {default})."
        group.add_argument(f"--nginx-{option}", type=int, default=default, help=help_text)


def run(args) -> dict:
    options = {"stories": args.nginx_stories, "seed": args.nginx_seed, "workers": 2}
    with site(DATABASE_NAME, **options, max_requests=0, keep=False) as web:
        static_root = web.scratch / "static"
        roots = {"static_root": static_root, "media_root": web.scratch / "media"}
        with Nginx(web.scratch / "nginx", upstream=web.server.port, **roots) as proxy:
            pages, withdrawn = _prepare_pages(proxy, web.url, static_root)
            slices = []
            for number in range(1, args.nginx_rounds + 2):
                slices.append(_measure(proxy, web, STATIC, pages["static"], number, args))
                if number <= args.nginx_rounds:
                    slices.append(_measure(proxy, web, CACHED, pages["article"], number, args))
            freshness = _freshness(proxy.port, web, withdrawn, args)
            not_cached, error_log = _not_cached(proxy.port), proxy.error_lines()
    stats.add_ratios(slices, STATIC, key="static", cpu=lambda e: e["nginx_cpu_us_per_request"])
    runs = [_summary(slices, label) for label in (STATIC, CACHED)]
    return {
        "command": "gunicorn (2 sync workers) on 127.0.0.1:APP; /usr/sbin/nginx -p TMP -c "
        "TMP/nginx.conf (deploy/nginx/newsroom.conf rendered by render.render) on "
        f"127.0.0.1:PORT; per run: wrk -t2 -c{args.nginx_connections} -d{args.nginx_duration}s "
        "--latency -s bench/lib/wrk.lua http://127.0.0.1:PORT/PATH (after a 2 s warm-up)",
        "database": DATABASE_NAME,
        "redis": web.redis_url,
        "machine": {**web.facts, "nginx_version": Nginx.version()},
        "settings": report.options(args, "nginx", **RENAMED)
        | FIXED
        | {"poll_seconds": POLL_SECONDS},
        "stories": web.stories,
        "pages": pages,
        "runs": runs,
        "slices": slices,
        "freshness": freshness,
        "not_cached": not_cached,
        "goals": _goals(runs[1], freshness, not_cached),
        "table": {"columns": COLUMNS, "rows": _rows(runs, freshness, not_cached)},
        "notes": NOTES + (["nginx error log: " + " | ".join(error_log)] if error_log else []),
    }


def _first_fetches(port: int, path: str) -> tuple[dict, bytes]:
    """A page never requested through nginx before: MISS, then HIT; the HIT's headers and body."""
    for want in ("MISS", "HIT"):
        status, headers, body = fetch(port, path)
        if status != 200 or headers.get("x-cache-status") != want:
            got = f"{status} {headers.get('x-cache-status')}"
            raise BenchError(f"GET {path} through nginx: {got}, not 200 {want}")
    return headers, body


def _prepare_pages(proxy: Nginx, url: str, static_root) -> tuple[dict, dict]:
    """Put the measured article (a fixed pseudo-random visible one) in nginx's cache and its
    bytes in a static file; and pick the story to withdraw (the newest, on the home page)."""
    sql = """SELECT a.id, s.slug, a.slug FROM articles_article a JOIN articles_section s
        ON s.id = a.section_id WHERE a.status = 'published' AND a.published_at <= now()
        ORDER BY {} LIMIT 1"""
    orders = ("md5(a.slug)", "a.published_at DESC, a.id DESC", "md5(a.slug) DESC")
    measured, newest, other = (query(url, sql.format(order)) for order in orders)
    if not measured or not newest:
        raise BenchError("no visible story in the benchmark database")
    (_, section, slug) = (other if measured == newest else measured)[0]
    port, path, static_path = proxy.port, f"/{quote(section)}/{quote(slug)}/", STATIC_PATH
    headers, body = _first_fetches(port, path)
    (static_root / STATIC_COPY).parent.mkdir(parents=True, exist_ok=True)
    (static_root / STATIC_COPY).write_bytes(body)
    (static_root / STATIC_COPY).chmod(0o644)
    status, static_headers, static_body = fetch(port, static_path)
    if status != 200 or static_body != body or "x-cache-status" in static_headers:
        raise BenchError(f"GET {static_path}: {status}, not the article's bytes\n{proxy.tail()}")
    pages = {
        "article": path,
        "static": static_path,
        "body_bytes": len(body),
        "article_cache_control": headers.get("cache-control", ""),
        "static_cache_control": static_headers.get("cache-control", ""),
        "article_response_bytes": wire_size(port, path),
        "static_response_bytes": wire_size(port, static_path),
    }
    pk, section, slug = newest[0]
    return pages, {"pk": pk, "path": f"/{quote(section)}/{quote(slug)}/"}


def _measure(proxy: Nginx, web, label: str, path: str, number: int, args) -> dict:
    load = {"connections": args.nginx_connections, "scratch": web.scratch}
    wrk(proxy.port, (path,), seconds=WARMUP_SECONDS, **load)
    before = _samples(proxy.port, path, cached=label == CACHED)
    expected_bytes, load_before = wire_size(proxy.port, path), os.getloadavg()[0]
    pids = proxy.process.pid, web.server.process.pid
    cpu_before = [stats.server_cpu(pid) for pid in pids]
    result = wrk(proxy.port, (path,), seconds=args.nginx_duration, **load)
    nginx_cpu, app_cpu = map(stats.cpu_used, cpu_before, map(stats.server_cpu, pids))
    after = _samples(proxy.port, path, cached=label == CACHED)
    check_load(label, result, proxy.tail())
    requests = result["requests"]
    size = result["bytes"] / requests
    if abs(size / expected_bytes - 1) > SIZE_TOLERANCE:
        raise BenchError(f"{label}: {size:,.0f} bytes a response, not {expected_bytes:,}: errors?")
    entry = stats.slice_entry(label, number, result, load_before, digits=3, path=path)
    entry |= {
        "expected_bytes": expected_bytes,
        "samples_before": dict(before),
        "samples_after": dict(after),
        "nginx_cpu_us_per_request": report.rounded(nginx_cpu, 1e6 / requests, 2),
        "gunicorn_cpu_seconds": report.rounded(app_cpu, 1, 2),
    }
    latency, cpu = entry["latency_ms"], entry["nginx_cpu_us_per_request"]
    print(
        f"  [{number}] {label}: {entry['requests_per_second']:,.0f} req/s, p50 "
        f"{latency['p50']:.2f} ms, p99 {latency['p99']:.2f} ms, nginx {cpu} µs CPU/req, gunicorn "
        f"CPU {entry['gunicorn_cpu_seconds']} s, samples {dict(before)} / {dict(after)}, load "
        f"{load_before:.1f}"
    )
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
    counts = [Counter(e["samples_before"]) + Counter(e["samples_after"]) for e in mine]
    samples = sum(counts, Counter())
    return stats.summarise(slices, label, key="static") | {
        "path": mine[0]["path"],
        "nginx_cpu_us_per_request": stats.median(mine, lambda e: e["nginx_cpu_us_per_request"]),
        "gunicorn_cpu_seconds": [e["gunicorn_cpu_seconds"] for e in mine],
        "samples": dict(samples),
    }


CHANGE_CODE = """
import json, time
from django.contrib.auth.models import Group
from accounts.models import User
from articles.models import Article, Section
try:  # the editorial workflow services, wherever the articles app keeps them
    from articles.services.workflow import publish_article, save_article, withdraw_article
except ImportError:
    from articles.services import publish_article, save_article, withdraw_article
editor, _ = User.objects.get_or_create(username="nginx-bench-editor", defaults={"is_staff": True})
editor.groups.add(Group.objects.get(name="Editor"))
editor = User.objects.get(pk=editor.pk)
body = "<p>The pigeon, who ran unopposed, promised more breadcrumbs for everyone.</p>"
story = Article(headline=HEADLINE, section=Section.objects.get(slug="news"), body=body)
save_article(story, by=editor, expected_version=None)
done = {"story_path": story.get_absolute_url()}
publish_article(story, by=editor)
done["published_at"] = time.time()
withdraw_article(Article.objects.get(pk=WITHDRAW_PK), by=editor, note="nginx benchmark")
done["withdrawn_at"] = time.time()
print("CHANGED " + json.dumps(done))
"""


def _freshness(port: int, web, withdrawn: dict, args) -> dict:
    """Put the home page and a story on it freshly in nginx's cache, publish a new story and
    withdraw that one, then poll until each change shows."""
    home, gone = "/", withdrawn["path"]
    headline = f"Pigeon elected mayor of Blackpool in a landslide, count {os.getpid()}"
    shown, stored = html.escape(headline), {}
    for path in (home, gone):  # never requested before, through nginx or from gunicorn
        at = time.time()
        headers, body = _first_fetches(port, path)
        max_age = re.search(r"max-age=(\d+)", headers.get("cache-control", ""))
        if not max_age:
            raise BenchError(f"GET {path}: no max-age in {headers.get('cache-control')!r}")
        stored[path] = {"at": at, "max_age": int(max_age.group(1)), "body": body.decode()}
    if gone not in stored[home]["body"] or shown in stored[home]["body"]:
        raise BenchError(f"the home page does not link to {gone}, or has the new headline")
    code = CHANGE_CODE.replace("HEADLINE", repr(headline))
    shell_started = time.time()
    out = manage(web.env, "shell", "-c", code.replace("WITHDRAW_PK", str(withdrawn["pk"])))
    changed = re.search(r"^CHANGED (.*)$", out, re.MULTILINE)
    if not changed:
        raise BenchError(f"the change did not report back:\n{out[-2000:]}")
    changed = json.loads(changed.group(1))
    published, removed = changed["published_at"], changed["withdrawn_at"]
    checks = {  # name: (page, the change's moment, whether an answer shows it)
        "new_on_home": (home, published, lambda status, text: status == 200 and shown in text),
        "gone_off_home": (home, removed, lambda status, text: status == 200 and gone not in text),
        "gone_410": (gone, removed, lambda status, text: status == 410),
    }
    seen, traces, not_yet = _poll({"gunicorn": web.server.port, "nginx": port}, checks, args)
    changes = {name: _change(name, checks[name], stored, seen, traces, not_yet) for name in checks}
    said = [
        f"{n} {e['seconds']} s (gunicorn {e['seconds_from_gunicorn']} s)"
        for n, e in changes.items()
    ]
    print("  freshness: " + ", ".join(said))
    return {
        "headline": headline,
        "new_story": changed["story_path"],
        "withdrawn_story": gone,
        "shell_seconds": round(removed - shell_started, 1),
        "poll_seconds": POLL_SECONDS,
        "timeout_seconds": args.nginx_freshness_timeout,
        "changes": changes,
    }


def _poll(ports: dict, checks: dict, args) -> tuple[dict, dict, dict]:
    """Every POLL_SECONDS, each change not yet seen from each server, until all are seen or the
    timeout: when each was seen, nginx's answers whenever they changed, its last one before."""
    seen, traces, not_yet = {via: {} for via in ports}, {n: [] for n in checks}, {}
    deadline = max(moment for _, moment, _ in checks.values()) + args.nginx_freshness_timeout
    tick = time.monotonic()
    while time.time() < deadline and any(len(found) < len(checks) for found in seen.values()):
        for name, (path, moment, shows) in checks.items():
            for via, port in ports.items():
                if name in seen[via]:
                    continue
                status, headers, body = fetch(port, path)
                ok, now = shows(status, body.decode(errors="replace")), time.time()
                if ok:
                    seen[via][name] = now
                if via == "nginx":
                    what = f"{status} {headers.get('x-cache-status', '-')}"
                    if ok or not traces[name] or traces[name][-1][0] != what:
                        traces[name].append([what, round(now - moment, 1)])
                    if not ok:
                        not_yet[name] = round(now - moment, 1)
        tick += POLL_SECONDS
        time.sleep(max(0.0, tick - time.monotonic()))
    return seen, traces, not_yet


def _change(name: str, check: tuple, stored: dict, seen: dict, traces: dict, not_yet: dict) -> dict:
    """What the polls saw of one change, and how it compares with the copy's max-age."""
    page, moment, _ = check
    nginx, app = seen["nginx"].get(name), seen["gunicorn"].get(name)
    max_age, age = stored[page]["max_age"], moment - stored[page]["at"]
    late = None if nginx is None else nginx - moment
    return {
        "page": page,
        "seconds": None if late is None else round(late, 1),
        "seconds_from_gunicorn": None if app is None else round(app - moment, 1),
        "max_age": max_age,
        "entry_age_at_change": round(age, 1),
        "expected_by_ttl": round(max(0.0, max_age - age), 1),
        "not_yet_at": not_yet.get(name),
        "copy_lifetime": None if late is None else round(nginx - stored[page]["at"], 1),
        "within_max_age": late is not None and late <= max_age,
        "within_max_age_plus_clock": late is not None and late <= max_age + CLOCK,
        "trace": traces[name],
    }


def _not_cached(port: int) -> list[dict]:
    """Requests nginx must pass to the app and not store, each made twice. The first asks for a
    page never requested before: with the cookie it is not stored, so the next anonymous
    request is a MISS and the one after a HIT (`allowed` None: only those are reported)."""
    cookie, session = {"Cookie": f"csrftoken=x; {FAKE_SESSION}"}, {"Cookie": FAKE_SESSION}
    form = urlencode({"email": "nginx-bench@example.com", "next": "/"}).encode()
    posted = {"Content-Type": "application/x-www-form-urlencoded"}, form
    checks = []
    for what, method, path, allowed, (headers, body) in [
        ("sessionid cookie, then anonymous", "GET", "/politics/", {"BYPASS"}, (cookie, None)),
        ("anonymous after the sessionid requests", "GET", "/politics/", None, (None, None)),
        ("sessionid cookie on a cached page", "GET", "/politics/", {"BYPASS"}, (session, None)),
        ("admin login page", "GET", "/admin/login/", {"BYPASS"}, (None, None)),
        ("newsletter sign-up POST", "POST", "/newsletters/sign-up/", {"absent", "BYPASS"}, posted),
        ("newsletter sign-up page", "GET", "/newsletters/sign-up/", {"BYPASS"}, (None, None)),
    ]:
        answers = [fetch(port, path, method=method, headers=headers, body=body) for _ in range(2)]
        seen = [(status, found.get("x-cache-status", "absent")) for status, found, _ in answers]
        check = {"what": what, "request": f"{method} {path}"}
        if allowed is None:
            pair = [cache for _, cache in seen]
            check |= {"seen": pair, "allowed": ["MISS then HIT"], "passed": pair == ["MISS", "HIT"]}
        else:
            passed = all(status == 200 and cache in allowed for status, cache in seen)
            seen = [f"{status} {cache}" for status, cache in seen]
            check |= {"seen": seen, "allowed": sorted(allowed), "passed": passed}
        checks.append(check)
    print("  not cached: " + "; ".join(f"{c['request']} → {', '.join(c['seen'])}" for c in checks))
    return checks


def _goals(cached: dict, freshness: dict, not_cached: list[dict]) -> list[dict]:
    ratio, unit = cached["ratio_to_static"], "% of the static file's req/s"
    text = f"cached article through nginx ≥ {GOAL_RATIO:.0%} of a static file's req/s"
    goals = [report.goal(text, GOAL_RATIO, round(100 * ratio, 1), unit, ratio >= GOAL_RATIO)]
    for name, e in freshness["changes"].items():
        text = f"{CHANGES[name]} through nginx within the page's max-age (+{CLOCK} s: nginx "
        text += "counts a copy's life in whole seconds)"
        actual = e["seconds"] if e["seconds"] is not None else f"> {freshness['timeout_seconds']}"
        unit, passed = f"s (max-age {e['max_age']} s)", e["within_max_age_plus_clock"]
        goals.append(report.goal(text, e["max_age"] + CLOCK, actual, unit, passed))
    text = "nginx never caches requests with a sessionid cookie, /admin/ or POSTs"
    passed = sum(check["passed"] for check in not_cached)
    actual = f"{passed} of {len(not_cached)} checks"
    return [*goals, report.goal(text, "no HIT", actual, "as expected", passed == len(not_cached))]


def _rows(runs: list[dict], freshness: dict, not_cached: list[dict]) -> list[list[str]]:
    rows = []
    for e in runs:
        detail = "each run " + ", ".join(f"{r:,.0f}" for r in e["requests_per_second_each_round"])
        detail += f"; p50 {e['latency_ms']['p50']:.2f} ms, p99 {e['latency_ms']['p99']:.2f} ms; "
        detail += f"nginx CPU {e['nginx_cpu_us_per_request']:.1f} µs/req; gunicorn CPU during runs "
        detail += f"{e['gunicorn_cpu_seconds']} s; X-Cache-Status samples {e['samples']}"
        size = f"`{e['path']}`, {e['bytes_per_response'] / 1000:.1f} KB/response"
        rows.append(
            [f"{e['run']} through nginx", size, f"{e['requests_per_second']:,.0f} req/s", detail]
        )
    ratios, cpu = runs[1]["ratio_to_static_each_round"], runs[1]["cpu_ratio_to_static"]
    detail = "each round " + " ".join(f"{r:.0%}" for r in ratios)
    detail += f"; nginx CPU per request static/cached {cpu:.1%}" if cpu else ""
    how = "each cached run over the static runs before and after it"
    rows.append(["ratio cached / static", how, f"{runs[1]['ratio_to_static']:.1%}", detail])
    for name, e in freshness["changes"].items():
        seconds = f"not in {freshness['timeout_seconds']}" if e["seconds"] is None else e["seconds"]
        detail = f"max-age {e['max_age']} s; nginx's copy was {e['entry_age_at_change']} s old at "
        detail += f"the change and lived {e['copy_lifetime']} s; not yet at {e['not_yet_at']} s; "
        detail += f"from gunicorn {e['seconds_from_gunicorn']} s; through nginx: "
        detail += ", ".join(f"{what} at {at} s" for what, at in e["trace"])
        rows.append(
            [CHANGES[name], f"poll `{e['page']}` every {POLL_SECONDS} s", f"{seconds} s", detail]
        )
    verdict = "all as expected" if all(c["passed"] for c in not_cached) else "**NOT as expected**"
    requests = "; ".join(c["request"] for c in not_cached)
    detail = "; ".join(f"{c['what']}: {', '.join(c['seen'])}" for c in not_cached)
    return [*rows, ["not cached by nginx", requests, verdict, detail]]


NOTES = [
    "Throughput: req/s and ratio are medians; wrk, nginx and gunicorn share the CPUs with others' "
    "jobs, so the ratio and nginx's CPU time per request (/proc) are the comparable figures. The "
    "cached response also carries the app's headers (CSP, ETag, …), hence its larger size.",
    "Freshness: each page went into nginx's cache just before the change (the worst case), made "
    "by publish_article and withdraw_article as an Editor in `manage.py shell` and timed from "
    "its commit. nginx keeps a copy's expiry in whole seconds: it lives max-age to max-age + 1 s.",
    "Not cached: BYPASS means nginx asked the app and did not store the answer; a POST is never "
    "looked up, so it carries no X-Cache-Status at all.",
]
