"""Benchmark: nginx's micro-cache in front of gunicorn (`deploy/nginx/newsroom.conf`).

Set-up (not timed), with the reader's-site benchmark's helpers (`web_pages.py`): the database
`newsroom_bench_nginx` on the loopback PostgreSQL server is dropped, recreated, migrated and
filled with a few hundred stories (`web_setup.py`); `collectstatic` writes into a temporary
STATIC_ROOT; gunicorn (the project's `gunicorn.conf.py`, 2 sync workers, no access log, DEBUG
off) serves the site on a free 127.0.0.1 port with the Redis page cache, as in production
(`BENCH_REDIS_URL`, database 15 by default, under a key prefix of this run's own: nothing else
in that database is touched, and this run's keys are deleted at the end).

Debian's nginx (`/usr/sbin/nginx`) then runs as a child process, not a daemon, with a prefix
directory, pid file, error log and temporary paths of its own, and the site configuration
`deploy/nginx/render.py` renders from the template for this run: listening on another free
127.0.0.1 port, the gunicorn above as upstream, the temporary STATIC_ROOT and MEDIA_ROOT, a
cache directory in the scratch directory. The main configuration around it is the official
nginx image's (worker_processes auto, sendfile, keepalive 65 s, mime.types), with the access
log off for every location (the template already has it off for /static/; logging the proxied
pages only would tilt the comparison).

1. Throughput: one article page through nginx, from its cache (the page was fetched once, so
   every request is a HIT: checked with a few plain requests before and after each run, and
   gunicorn's CPU time during the run shows whether any request reached it) against nginx
   serving a static file of the same bytes (the article's body, written under STATIC_ROOT and
   requested under /static/). wrk `-t2 -c32 -d10s` on 127.0.0.1 after a 2 s warm-up, static and
   cached runs alternating (static, article, static, article, static), so a page's ratio is to
   the static runs just before and after it. wrk's status-error count must be 0, and its bytes
   per response must be the sampled response's size (so no response was a redirect or an error
   page).
2. Freshness, the "short TTL" approach: nginx keeps a page no longer than the app's
   `Cache-Control: max-age` (≤ 60 s) and is never purged. The home page and one story on it
   are fetched through nginx for the first time (MISS, then HIT: a fresh entry, so this is the
   worst case), then an editor publishes a new story and withdraws that one through the real
   services (`articles.workflow.publish_article` / `withdraw_article`, in `manage.py shell`);
   nginx and gunicorn directly are polled every 0.5 s (bounded) until the home page shows the
   new headline, no longer links to the withdrawn story, and its address answers 410.
3. What must not be cached: a request with a `sessionid` cookie, `/admin/login/`, and a POST to
   `/newsletters/sign-up/` (X-Cache-Status must be BYPASS or absent, never HIT).

Goals (from the issue): the cached article at ≥ 50 % of the static file's requests per second
(a ratio from one run, so a busy machine slows both sides alike), and every change visible
through nginx within the page's max-age.
"""

from __future__ import annotations

import html
import http.client
import importlib.util
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import common
import web_pages

NAME = "nginx_cache"
TITLE = "nginx micro-cache: a cached article page against a static file, and freshness"
DATABASE_NAME = "newsroom_bench_nginx"
NGINX = Path("/usr/sbin/nginx")
RENDER_SCRIPT = common.ROOT / "deploy" / "nginx" / "render.py"
MIME_TYPES = Path("/etc/nginx/mime.types")
STATIC_COPY = "bench/article-copy.html"  # under STATIC_ROOT, requested as /static/…
GOAL_RATIO = 0.50
WARMUP_SECONDS = 2
SAMPLES = 5
POLL_SECONDS = 0.5
# X-Cache-Status of a request that happens to arrive when the cached page runs out (one
# request then fetches it afresh): allowed once in a set of samples, and counted.
REFRESH_STATUSES = {"EXPIRED", "STALE", "UPDATING", "REVALIDATED"}
# wrk's bytes per response may differ from the sampled response's size by this fraction (the
# responses still being read when the run stops count in bytes but not in requests).
SIZE_TOLERANCE = 0.02
# nginx stores a copy's expiry in whole seconds and keeps it while that second lasts, so a copy
# lives between max-age and max-age + 1 s.
NGINX_CLOCK_SECONDS = 1
FAKE_SESSION = "sessionid=nginx-bench-not-a-real-session"


def add_arguments(parser) -> None:
    parser.add_argument(
        "--nginx-stories",
        type=int,
        default=300,
        metavar="N",
        help="Stories in the nginx benchmark's database (default: 300).",
    )
    parser.add_argument(
        "--nginx-rounds",
        type=int,
        default=2,
        metavar="N",
        help="Cached-article runs, each between two static-file runs (default: 2).",
    )
    parser.add_argument(
        "--nginx-duration",
        type=int,
        default=10,
        metavar="S",
        help="Seconds of load per run (default: 10, after a 2 s warm-up).",
    )
    parser.add_argument(
        "--nginx-connections",
        type=int,
        default=32,
        metavar="N",
        help="wrk's open connections (default: 32, over 2 wrk threads).",
    )
    parser.add_argument(
        "--nginx-freshness-timeout",
        type=int,
        default=90,
        metavar="S",
        help="Longest wait for a change to show through nginx (default: 90 s; max-age is 60).",
    )
    parser.add_argument(
        "--nginx-seed",
        type=int,
        default=2026,
        help="Seed of the generated stories (default: 2026).",
    )


def run(args) -> dict:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise common.BenchError("wrk is not installed (Debian: apt-get install -y wrk)")
    if not os.access(NGINX, os.X_OK):
        raise common.BenchError(f"no nginx at {NGINX} (make system-packages)")
    url = _database_url()
    redis_url = web_pages._redis_url()
    redis_client = web_pages._redis(redis_url)
    cache_prefix = f"newsroom-bench-nginx-{os.getpid()}"
    started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")

    common.recreate_database(url)
    try:
        common.manage(url, "migrate", "--noinput", "-v", "0")
        facts = common.machine_facts(url)
        facts["wrk_version"] = web_pages._wrk_version(wrk)
        facts["nginx_version"] = _nginx_version()
        facts["redis_server_version"] = redis_client.info("server").get("redis_version", "?")
        env = web_pages._server_env(url, redis_url)
        env["NEWSROOM_CACHE_PREFIX"] = cache_prefix
        setup_started = time.monotonic()
        made = web_pages._setup_stories(env, args.nginx_stories, args.nginx_seed)
        print(
            f"  {made['articles']:,} stories stored ({made['visible']:,} visible) in "
            f"{time.monotonic() - setup_started:.1f} s"
        )
        with tempfile.TemporaryDirectory(prefix="newsroom-bench-nginx-") as scratch:
            measured = _with_servers(Path(scratch), env, url, wrk, args)
    finally:
        _forget_cache(redis_client, cache_prefix)
        common.drop_database(url)

    throughput = _summaries(measured["slices"])
    goals = _goals(throughput, measured["freshness"], measured["not_cached"])
    return {
        "name": NAME,
        "title": TITLE,
        "started_at": started_at,
        "command": (
            "gunicorn (2 sync workers) on 127.0.0.1:APP; /usr/sbin/nginx -p TMP -c TMP/nginx.conf "
            "(deploy/nginx/newsroom.conf rendered by render.render) on 127.0.0.1:PORT; per run: "
            f"wrk -t2 -c{args.nginx_connections} -d{args.nginx_duration}s --latency "
            "-s bench/web_pages.lua http://127.0.0.1:PORT/PATH (after a 2 s warm-up)"
        ),
        "database": DATABASE_NAME,
        "redis": web_pages._safe_redis_url(redis_url),
        "machine": facts,
        "settings": {
            "stories": args.nginx_stories,
            "seed": args.nginx_seed,
            "rounds": args.nginx_rounds,
            "duration_seconds": args.nginx_duration,
            "connections": args.nginx_connections,
            "wrk_threads": 2,
            "gunicorn_workers": 2,
            "nginx_worker_processes": "auto",
            "poll_seconds": POLL_SECONDS,
            "freshness_timeout_seconds": args.nginx_freshness_timeout,
        },
        "stories": made,
        "pages": measured["pages"],
        "runs": throughput,
        "slices": measured["slices"],
        "freshness": measured["freshness"],
        "not_cached": measured["not_cached"],
        "goals": goals,
        "table": _table(throughput, measured["freshness"], measured["not_cached"]),
        "notes": _notes(args, measured),
    }


def _with_servers(scratch: Path, env: dict[str, str], url: str, wrk: str, args) -> dict:
    # nginx's workers run as `nobody` when it is started by root: they must reach the files.
    scratch.chmod(0o755)
    static_root, media_root = scratch / "static", scratch / "media"
    media_root.mkdir()
    env = {**env, "DJANGO_STATIC_ROOT": str(static_root), "DJANGO_MEDIA_ROOT": str(media_root)}
    collectstatic = [common.PYTHON, str(common.MANAGE), "collectstatic", "--noinput", "-v", "0"]
    web_pages._run_child(collectstatic, env)

    app_port = web_pages._free_port()
    proxy_port = web_pages._free_port()
    while proxy_port == app_port:
        proxy_port = web_pages._free_port()
    log_path = scratch / "gunicorn.log"
    command = web_pages._gunicorn_command(
        app_port, SimpleNamespace(web_workers=2, web_max_requests=0), scratch
    )
    server = web_pages._start_server(command, env, log_path)
    proxy = None
    try:
        web_pages._wait_until_up(server, app_port, log_path)
        proxy = Nginx(scratch / "nginx", app_port, proxy_port, static_root, media_root)
        proxy.start()
        context = SimpleNamespace(
            wrk=wrk,
            args=args,
            scratch=scratch,
            proxy=proxy,
            server=server,
            app_port=app_port,
            port=proxy_port,
            log_path=log_path,
            wrk_args=SimpleNamespace(web_connections=args.nginx_connections),
        )
        stories = _stories(url)
        pages = _prepare_pages(context, stories["measured"], static_root)
        slices = []
        for round_number in range(1, args.nginx_rounds + 1):
            slices.append(_measure(context, "static file", pages["static"], round_number))
            slices.append(_measure(context, "cached article", pages["article"], round_number))
        slices.append(_measure(context, "static file", pages["static"], args.nginx_rounds + 1))
        freshness = _freshness(context, env, stories["withdrawn"])
        not_cached = _not_cached(context)
        return {
            "pages": {key: value for key, value in pages.items() if key != "body"},
            "slices": slices,
            "freshness": freshness,
            "not_cached": not_cached,
            "nginx_error_log": proxy.error_lines(),
        }
    finally:
        if proxy is not None:
            proxy.stop()
        web_pages._stop_server(server)


def _database_url() -> str:
    parts = urlsplit(common.database_url())
    return urlunsplit(parts._replace(path=f"/{DATABASE_NAME}"))


def _forget_cache(redis_client, prefix: str) -> None:
    """Delete this run's page-cache keys (Django's Redis keys are PREFIX:VERSION:KEY)."""
    keys = list(redis_client.scan_iter(match=f"{prefix}:*", count=1000))
    for start in range(0, len(keys), 500):
        redis_client.delete(*keys[start : start + 500])


def _nginx_version() -> str:
    completed = subprocess.run(
        [str(NGINX), "-v"], capture_output=True, text=True, check=False, timeout=30
    )
    return (completed.stdout + completed.stderr).strip().removeprefix("nginx version: ")


# --- nginx ------------------------------------------------------------------------------------


def _render_module():
    spec = importlib.util.spec_from_file_location("newsroom_nginx_render", RENDER_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Nginx:
    """Debian's nginx in the foreground with everything it writes under `prefix`."""

    def __init__(self, prefix: Path, app_port, port, static_root: Path, media_root: Path):
        self.prefix, self.port = prefix, port
        self.process: subprocess.Popen | None = None
        prefix.mkdir()
        (prefix / "tmp").mkdir()
        site = _render_module().render(
            CACHE_DIR=str(prefix / "cache"),
            UPSTREAM=f"127.0.0.1:{app_port}",
            LISTEN=f"127.0.0.1:{port}",
            STATIC_ROOT=str(static_root),
            MEDIA_ROOT=str(media_root),
        )
        (prefix / "newsroom.conf").write_text(site)
        temp_paths = "\n".join(
            f"    {kind}_temp_path {prefix}/tmp/{kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        mime = f"    include {MIME_TYPES};\n" if MIME_TYPES.is_file() else ""
        self.config = prefix / "nginx.conf"
        # As in the official nginx image's nginx.conf, less the access log.
        self.config.write_text(
            "daemon off;\n"
            "worker_processes auto;\n"
            f"pid {prefix}/nginx.pid;\n"
            f"error_log {prefix}/error.log warn;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            f"{mime}"
            "    default_type application/octet-stream;\n"
            "    sendfile on;\n"
            "    keepalive_timeout 65;\n"
            "    access_log off;\n"
            f"{temp_paths}\n"
            f"    include {prefix}/newsroom.conf;\n"
            "}\n"
        )

    def command(self, *extra: str) -> list[str]:
        return [
            str(NGINX),
            "-p",
            f"{self.prefix}/",
            "-c",
            str(self.config),
            "-e",
            str(self.prefix / "error.log"),
            *extra,
        ]

    def start(self, timeout: float = 30.0) -> None:
        checked = subprocess.run(
            self.command("-t", "-q"), capture_output=True, text=True, check=False, timeout=60
        )
        if checked.returncode:
            raise common.BenchError(f"nginx refused the configuration:\n{checked.stderr}")
        self.process = subprocess.Popen(
            self.command(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise common.BenchError(f"nginx exited ({self.process.returncode}):\n{self.log()}")
            try:
                status, _, _ = fetch(self.port, "/healthz", timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise common.BenchError(f"nginx did not answer within {timeout:.0f} s:\n{self.log()}")

    def stop(self) -> None:
        """QUIT (graceful) to the master by its id; TERM, then KILL to its group if it lingers."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        for sig, wait in ((signal.SIGQUIT, 15), (signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            try:
                if sig == signal.SIGKILL:
                    os.killpg(process.pid, sig)
                else:
                    os.kill(process.pid, sig)
                process.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue
            except ProcessLookupError:
                return

    def log(self) -> str:
        return web_pages._tail(self.prefix / "error.log")

    def error_lines(self) -> list[str]:
        """The error log's warnings and worse (the run should have none)."""
        try:
            text = (self.prefix / "error.log").read_text(errors="replace")
        except OSError:
            return []
        return [line for line in text.splitlines() if "[notice]" not in line][-20:]


def fetch(
    port: int,
    path: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 30,
) -> tuple[int, dict[str, str], bytes]:
    """One request on a new connection; headers lower-cased, repeated ones joined with ", "."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        content = response.read()
        found: dict[str, str] = {}
        for name, value in response.getheaders():
            name = name.lower()
            found[name] = f"{found[name]}, {value}" if name in found else value
        return response.status, found, content
    finally:
        connection.close()


def wire_size(port: int, path: str) -> int:
    """The bytes of one response as wrk reads them: status line, headers, blank line, body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        content = response.read()
        head = len(f"HTTP/1.1 {response.status} {response.reason}\r\n") + 2
        head += sum(len(f"{name}: {value}\r\n") for name, value in response.getheaders())
        return head + len(content)
    finally:
        connection.close()


# --- what is measured -------------------------------------------------------------------------


def _stories(url: str) -> dict:
    """The measured article (a fixed pseudo-random visible one, as web_pages picks) and the one
    to withdraw: the newest visible story, so it is on the home page."""
    sql = """
        SELECT a.id, s.slug, a.slug, a.headline
        FROM articles_article a JOIN articles_section s ON s.id = a.section_id
        WHERE a.status = 'published' AND a.published_at <= now()
        ORDER BY {order} LIMIT 1
    """
    measured = common.query(url, sql.format(order="md5(a.slug)"))
    newest = common.query(url, sql.format(order="a.published_at DESC, a.id DESC"))
    if not measured or not newest:
        raise common.BenchError("no visible story in the benchmark database")
    if measured[0][0] == newest[0][0]:
        measured = common.query(url, sql.format(order="md5(a.slug) DESC"))

    def story(row):
        pk, section, slug, headline = row
        return {"pk": pk, "path": f"/{quote(section)}/{quote(slug)}/", "headline": headline}

    return {"measured": story(measured[0]), "withdrawn": story(newest[0])}


def _prepare_pages(context, article: dict, static_root: Path) -> dict:
    """Put the article in nginx's cache (MISS, then HIT) and its bytes in a static file."""
    port, path = context.port, article["path"]
    first, headers, _ = fetch(port, path)
    if first != 200 or headers.get("x-cache-status") != "MISS":
        raise common.BenchError(
            f"first GET {path} through nginx: {first} {headers.get('x-cache-status')}, not 200 MISS"
        )
    status, headers, body = fetch(port, path)
    if status != 200 or headers.get("x-cache-status") != "HIT":
        raise common.BenchError(
            f"second GET {path} through nginx: {status} {headers.get('x-cache-status')}, "
            f"not 200 HIT\n{context.proxy.log()}"
        )
    copy = static_root / STATIC_COPY
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_bytes(body)
    copy.chmod(0o644)
    static_path = "/static/" + STATIC_COPY
    status, static_headers, static_body = fetch(port, static_path)
    if status != 200 or static_body != body or "x-cache-status" in static_headers:
        raise common.BenchError(
            f"GET {static_path}: {status}, {len(static_body)} bytes (want 200 and the "
            f"article's {len(body)} bytes, from nginx's static location)\n{context.proxy.log()}"
        )
    return {
        "article": path,
        "static": static_path,
        "body_bytes": len(body),
        "article_cache_control": headers.get("cache-control", ""),
        "static_cache_control": static_headers.get("cache-control", ""),
        "article_response_bytes": wire_size(port, path),
        "static_response_bytes": wire_size(port, static_path),
    }


def _measure(context, label: str, path: str, round_number: int) -> dict:
    port, args = context.port, context.args
    cached = label == "cached article"
    web_pages._wrk(
        context.wrk,
        port,
        context.wrk_args,
        context.scratch,
        (path,),
        bust=None,
        seconds=WARMUP_SECONDS,
    )
    before = _samples(port, path, cached=cached)
    expected_bytes = wire_size(port, path)
    load_before = os.getloadavg()[0]
    nginx_before = web_pages._cpu_seconds(context.proxy.process.pid, None)["app"]
    app_before = web_pages._cpu_seconds(context.server.pid, None)["app"]
    result = web_pages._wrk(
        context.wrk,
        port,
        context.wrk_args,
        context.scratch,
        (path,),
        bust=None,
        seconds=args.nginx_duration,
    )
    nginx_after = web_pages._cpu_seconds(context.proxy.process.pid, None)["app"]
    app_after = web_pages._cpu_seconds(context.server.pid, None)["app"]
    after = _samples(port, path, cached=cached)

    requests = result["requests"]
    if not requests:
        raise common.BenchError(f"{label}: no request finished (wrk: {result})")
    errors = result["errors"]
    if errors["status"]:
        raise common.BenchError(f"{label}: {errors['status']} responses ≥ 400 (wrk: {result})")
    socket_errors = sum(errors[k] for k in ("connect", "read", "write", "timeout"))
    if socket_errors:
        raise common.BenchError(f"{label}: socket errors {errors}\n{context.proxy.log()}")
    bytes_per_response = result["bytes"] / requests
    if abs(bytes_per_response / expected_bytes - 1) > SIZE_TOLERANCE:
        raise common.BenchError(
            f"{label}: {bytes_per_response:,.0f} bytes per response, but the page is "
            f"{expected_bytes:,} bytes: some responses were something else (wrk: {result})"
        )
    seconds = result["duration_us"] / 1e6

    def per_request(before_s, after_s):
        if before_s is None or after_s is None:
            return None
        return round(1e6 * (after_s - before_s) / requests, 2)

    entry = {
        "run": label,
        "round": round_number,
        "path": path,
        "requests": requests,
        "seconds": round(seconds, 2),
        "requests_per_second": round(requests / seconds, 1),
        "latency_ms": {k: round(v / 1000, 3) for k, v in result["latency_us"].items()},
        "bytes_per_response": round(bytes_per_response),
        "expected_bytes": expected_bytes,
        "samples_before": dict(before),
        "samples_after": dict(after),
        "nginx_cpu_us_per_request": per_request(nginx_before, nginx_after),
        "gunicorn_cpu_seconds": (None if app_before is None else round(app_after - app_before, 2)),
        "load_average_before": round(load_before, 2),
    }
    print(
        f"  [{round_number}] {label}: {entry['requests_per_second']:,.0f} req/s, p50 "
        f"{entry['latency_ms']['p50']:.2f} ms, p99 {entry['latency_ms']['p99']:.2f} ms, nginx "
        f"{entry['nginx_cpu_us_per_request']} µs CPU/req, gunicorn CPU "
        f"{entry['gunicorn_cpu_seconds']} s, samples {dict(before)} / {dict(after)}, load "
        f"{load_before:.1f}"
    )
    return entry


def _samples(port: int, path: str, *, cached: bool) -> Counter:
    """X-Cache-Status of SAMPLES plain requests ("-" when absent); all must be 200, and all
    HIT for the cached page (one refresh at the entry's expiry excepted) or absent for the
    static file."""
    seen: Counter = Counter()
    for _ in range(SAMPLES):
        status, headers, _ = fetch(port, path)
        if status != 200:
            raise common.BenchError(f"GET {path} through nginx answered {status}, not 200")
        seen[headers.get("x-cache-status", "-")] += 1
    if cached:
        refreshes = sum(seen[s] for s in REFRESH_STATUSES)
        if seen["HIT"] + refreshes != SAMPLES or refreshes > 1:
            raise common.BenchError(f"GET {path}: X-Cache-Status {dict(seen)}, not HIT")
    elif set(seen) != {"-"}:
        raise common.BenchError(f"GET {path}: X-Cache-Status {dict(seen)}: not a static file")
    return seen


# --- freshness --------------------------------------------------------------------------------

CHANGE_CODE = """
import json, time
from django.contrib.auth.models import Group
from accounts.models import User
from accounts.roles import EDITOR
from articles.services import workflow
from articles.models import Article, Section

editor, _ = User.objects.get_or_create(username="nginx-bench-editor", defaults={"is_staff": True})
editor.groups.add(Group.objects.get(name=EDITOR))
editor = User.objects.get(pk=editor.pk)
story = Article(
    headline=HEADLINE,
    body="<p>The pigeon, who ran unopposed, promised more breadcrumbs for everyone.</p>",
    section=Section.objects.get(slug="news"),
)
workflow.save_article(story, by=editor, expected_version=None)
done = {"story_pk": story.pk, "story_path": story.get_absolute_url()}
workflow.publish_article(story, by=editor)
done["published_at"] = time.time()
gone = Article.objects.get(pk=WITHDRAW_PK)
workflow.withdraw_article(gone, by=editor, note="nginx benchmark")
done["withdrawn_at"] = time.time()
print("CHANGED " + json.dumps(done))
"""


def _freshness(context, env: dict[str, str], withdrawn: dict) -> dict:
    port, app_port = context.port, context.app_port
    home, gone_path = "/", withdrawn["path"]
    headline = f"Pigeon elected mayor of Blackpool in a landslide, count {os.getpid()}"
    shown = html.escape(headline)

    # Fresh entries: neither page was ever requested through nginx (nor from gunicorn).
    stored = {}
    for path in (home, gone_path):
        at = time.time()
        status, headers, body = fetch(port, path)
        if status != 200 or headers.get("x-cache-status") != "MISS":
            raise common.BenchError(
                f"first GET {path}: {status} {headers.get('x-cache-status')}, not 200 MISS"
            )
        again, again_headers, _ = fetch(port, path)
        if again != 200 or again_headers.get("x-cache-status") != "HIT":
            raise common.BenchError(f"second GET {path}: {again_headers.get('x-cache-status')}")
        found = re.search(r"max-age=(\d+)", headers.get("cache-control", ""))
        if not found:
            raise common.BenchError(f"GET {path}: no max-age in {headers.get('cache-control')!r}")
        stored[path] = {"at": at, "max_age": int(found.group(1)), "body": body.decode()}
    if gone_path not in stored[home]["body"]:
        raise common.BenchError(f"the home page does not link to {gone_path} (to withdraw)")
    if shown in stored[home]["body"]:
        raise common.BenchError("the new headline is on the home page before it is published")

    code = CHANGE_CODE.replace("HEADLINE", repr(headline)).replace(
        "WITHDRAW_PK", str(int(withdrawn["pk"]))
    )
    shell_started = time.time()
    out = web_pages._run_child([common.PYTHON, str(common.MANAGE), "shell", "-c", code], env)
    found = re.search(r"^CHANGED (.*)$", out, re.MULTILINE)
    if not found:
        raise common.BenchError(f"the change did not report back:\n{out[-2000:]}")
    changed = json.loads(found.group(1))
    moments = {
        "new_on_home": changed["published_at"],
        "gone_off_home": changed["withdrawn_at"],
        "gone_410": changed["withdrawn_at"],
    }

    def check(port_, name) -> tuple[bool, str]:
        path = gone_path if name == "gone_410" else home
        status, headers, body = fetch(port_, path)
        cache_status = headers.get("x-cache-status", "-")
        if name == "gone_410":
            return status == 410, f"{status} {cache_status}"
        text = body.decode(errors="replace")
        if name == "new_on_home":
            return status == 200 and shown in text, f"{status} {cache_status}"
        return status == 200 and gone_path not in text, f"{status} {cache_status}"

    seen = {via: {} for via in ("nginx", "gunicorn")}
    traces = {name: [] for name in moments}
    not_yet = dict.fromkeys(moments)  # the last poll through nginx that did not show it
    deadline = max(moments.values()) + context.args.nginx_freshness_timeout
    tick = time.monotonic()
    while time.time() < deadline:
        for name in moments:
            if name not in seen["gunicorn"]:
                ok, _ = check(app_port, name)
                if ok:
                    seen["gunicorn"][name] = time.time()
            if name not in seen["nginx"]:
                ok, what = check(port, name)
                now = time.time()
                if ok or not traces[name] or traces[name][-1][0] != what:
                    traces[name].append([what, round(now - moments[name], 1)])
                if ok:
                    seen["nginx"][name] = now
                else:
                    not_yet[name] = round(now - moments[name], 1)
        if len(seen["nginx"]) == len(moments) and len(seen["gunicorn"]) == len(moments):
            break
        tick += POLL_SECONDS
        time.sleep(max(0.0, tick - time.monotonic()))

    results = {}
    for name, moment in moments.items():
        page = gone_path if name == "gone_410" else home
        entry_age = moment - stored[page]["at"]
        max_age = stored[page]["max_age"]
        via_nginx = seen["nginx"].get(name)
        via_app = seen["gunicorn"].get(name)
        results[name] = {
            "page": page,
            "seconds": None if via_nginx is None else round(via_nginx - moment, 1),
            "seconds_from_gunicorn": None if via_app is None else round(via_app - moment, 1),
            "max_age": max_age,
            "entry_age_at_change": round(entry_age, 1),
            "expected_by_ttl": round(max(0.0, max_age - entry_age), 1),
            "not_yet_at": not_yet[name],
            "copy_lifetime": (
                None if via_nginx is None else round(via_nginx - stored[page]["at"], 1)
            ),
            "within_max_age": via_nginx is not None and via_nginx - moment <= max_age,
            "within_max_age_plus_clock": (
                via_nginx is not None and via_nginx - moment <= max_age + NGINX_CLOCK_SECONDS
            ),
            "trace": traces[name],
        }
    print(
        "  freshness: "
        + ", ".join(
            f"{name} {entry['seconds']} s (gunicorn {entry['seconds_from_gunicorn']} s, "
            f"max-age {entry['max_age']})"
            for name, entry in results.items()
        )
    )
    return {
        "headline": headline,
        "new_story": changed["story_path"],
        "withdrawn_story": gone_path,
        "shell_seconds": round(changed["withdrawn_at"] - shell_started, 1),
        "poll_seconds": POLL_SECONDS,
        "timeout_seconds": context.args.nginx_freshness_timeout,
        "changes": results,
    }


# --- not cached -------------------------------------------------------------------------------


def _not_cached(context) -> list[dict]:
    port = context.port
    checks = []

    def record(what, method, path, allowed, *, headers=None, body=None, statuses=(200,)):
        seen = []
        for _ in range(2):
            status, found, _ = fetch(port, path, method=method, headers=headers, body=body)
            seen.append((status, found.get("x-cache-status", "absent")))
        passed = all(s in statuses and c in allowed for s, c in seen)
        checks.append(
            {
                "what": what,
                "request": f"{method} {path}",
                "seen": [f"{s} {c}" for s, c in seen],
                "allowed": sorted(allowed),
                "passed": passed,
            }
        )

    # A page never requested before: with the cookie it bypasses nginx's cache and is not
    # stored, so the next anonymous request is a MISS, and the one after a HIT.
    record(
        "sessionid cookie, then anonymous",
        "GET",
        "/politics/",
        {"BYPASS"},
        headers={"Cookie": f"csrftoken=x; {FAKE_SESSION}"},
    )
    first = fetch(port, "/politics/")[1].get("x-cache-status", "absent")
    second = fetch(port, "/politics/")[1].get("x-cache-status", "absent")
    checks.append(
        {
            "what": "anonymous after the sessionid requests",
            "request": "GET /politics/",
            "seen": [first, second],
            "allowed": ["MISS then HIT"],
            "passed": (first, second) == ("MISS", "HIT"),
        }
    )
    record(
        "sessionid cookie on a cached page",
        "GET",
        "/politics/",
        {"BYPASS"},
        headers={"Cookie": FAKE_SESSION},
    )
    record("admin login page", "GET", "/admin/login/", {"BYPASS"})
    form = urlencode({"email": "nginx-bench@example.com", "next": "/"}).encode()
    record(
        "newsletter sign-up POST",
        "POST",
        "/newsletters/sign-up/",
        {"absent", "BYPASS"},
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=form,
    )
    record("newsletter sign-up page", "GET", "/newsletters/sign-up/", {"BYPASS"})
    print(
        "  not cached: "
        + "; ".join(f"{c['request']} → {', '.join(c['seen'])}" for c in checks)
        + (" (all as expected)" if all(c["passed"] for c in checks) else " — NOT as expected")
    )
    return checks


# --- results ----------------------------------------------------------------------------------


def _summaries(slices: list[dict]) -> list[dict]:
    static = {e["round"]: e for e in slices if e["run"] == "static file"}
    for entry in slices:
        around = [static[r] for r in (entry["round"], entry["round"] + 1) if r in static]
        if entry["run"] == "static file":
            around = [entry]
        rps = statistics.fmean(e["requests_per_second"] for e in around)
        entry["ratio_to_static"] = round(entry["requests_per_second"] / rps, 4)
        cpu = [e["nginx_cpu_us_per_request"] for e in around]
        mine = entry["nginx_cpu_us_per_request"]
        entry["cpu_ratio_to_static"] = (
            round(statistics.fmean(cpu) / mine, 4) if mine and None not in cpu else None
        )
    runs = []
    for label in ("static file", "cached article"):
        mine = [e for e in slices if e["run"] == label]

        def median(get, mine=mine):
            values = [v for v in (get(e) for e in mine) if v is not None]
            return statistics.median(values) if values else None

        runs.append(
            {
                "run": label,
                "path": mine[0]["path"],
                "rounds": len(mine),
                "requests": sum(e["requests"] for e in mine),
                "requests_per_second": median(lambda e: e["requests_per_second"]),
                "requests_per_second_each_round": [e["requests_per_second"] for e in mine],
                "latency_ms": {
                    key: median(lambda e, key=key: e["latency_ms"][key])
                    for key in ("p50", "p90", "p99")
                },
                "ratio_to_static": median(lambda e: e["ratio_to_static"]),
                "ratio_to_static_each_round": [e["ratio_to_static"] for e in mine],
                "nginx_cpu_us_per_request": median(lambda e: e["nginx_cpu_us_per_request"]),
                "cpu_ratio_to_static": median(lambda e: e["cpu_ratio_to_static"]),
                "gunicorn_cpu_seconds": [e["gunicorn_cpu_seconds"] for e in mine],
                "bytes_per_response": round(median(lambda e: e["bytes_per_response"])),
                "samples": dict(
                    sum(
                        (Counter(e["samples_before"]) + Counter(e["samples_after"]) for e in mine),
                        Counter(),
                    )
                ),
                "load_average_before": median(lambda e: e["load_average_before"]),
            }
        )
    return runs


FRESHNESS_LABELS = {
    "new_on_home": "new story's headline on the home page",
    "gone_off_home": "withdrawn story gone from the home page",
    "gone_410": "withdrawn story's address answers 410",
}


def _goals(runs: list[dict], freshness: dict, not_cached: list[dict]) -> list[dict]:
    cached = next(e for e in runs if e["run"] == "cached article")
    ratio = cached["ratio_to_static"]
    goals = [
        {
            "goal": f"cached article through nginx ≥ {GOAL_RATIO:.0%} of a static file's req/s",
            "target": GOAL_RATIO,
            "actual": round(100 * ratio, 1),
            "unit": "% of the static file's req/s",
            "passed": ratio >= GOAL_RATIO,
        }
    ]
    for name, entry in freshness["changes"].items():
        goals.append(
            {
                "goal": f"{FRESHNESS_LABELS[name]} through nginx within the page's max-age "
                f"(+{NGINX_CLOCK_SECONDS} s: nginx counts a copy's life in whole seconds)",
                "target": entry["max_age"] + NGINX_CLOCK_SECONDS,
                "actual": (
                    entry["seconds"]
                    if entry["seconds"] is not None
                    else f"> {freshness['timeout_seconds']}"
                ),
                "unit": f"s (max-age {entry['max_age']} s)",
                "passed": entry["within_max_age_plus_clock"],
            }
        )
    goals.append(
        {
            "goal": "nginx never caches requests with a sessionid cookie, /admin/ or POSTs",
            "target": "no HIT",
            "actual": f"{sum(c['passed'] for c in not_cached)} of {len(not_cached)} checks",
            "unit": "as expected",
            "passed": all(c["passed"] for c in not_cached),
        }
    )
    return goals


def _table(runs: list[dict], freshness: dict, not_cached: list[dict]) -> dict:
    columns = ["measure", "how", "result", "detail"]
    rows = []
    for entry in runs:
        rows.append(
            [
                f"{entry['run']} through nginx",
                f"`{entry['path']}`, {entry['bytes_per_response'] / 1000:.1f} KB/response",
                f"{entry['requests_per_second']:,.0f} req/s",
                "each run "
                + ", ".join(f"{r:,.0f}" for r in entry["requests_per_second_each_round"])
                + f"; p50 {entry['latency_ms']['p50']:.2f} ms"
                f", p99 {entry['latency_ms']['p99']:.2f} ms"
                f"; nginx CPU {entry['nginx_cpu_us_per_request']:.1f} µs/req"
                f"; gunicorn CPU during runs {entry['gunicorn_cpu_seconds']} s"
                f"; X-Cache-Status samples {entry['samples']}",
            ]
        )
    cached = next(e for e in runs if e["run"] == "cached article")
    rows.append(
        [
            "ratio cached / static",
            "each cached run over the static runs before and after it",
            f"{cached['ratio_to_static']:.1%}",
            "each round "
            + " ".join(f"{r:.0%}" for r in cached["ratio_to_static_each_round"])
            + (
                f"; nginx CPU per request static/cached {cached['cpu_ratio_to_static']:.1%}"
                if cached["cpu_ratio_to_static"]
                else ""
            ),
        ]
    )
    for name, entry in freshness["changes"].items():
        seconds = entry["seconds"]
        rows.append(
            [
                FRESHNESS_LABELS[name],
                f"poll `{entry['page']}` every {freshness['poll_seconds']} s",
                (
                    f"{seconds} s"
                    if seconds is not None
                    else f"not in {freshness['timeout_seconds']} s"
                ),
                f"max-age {entry['max_age']} s; nginx's copy was {entry['entry_age_at_change']} s "
                f"old at the change (due after {entry['expected_by_ttl']}–"
                f"{entry['expected_by_ttl'] + NGINX_CLOCK_SECONDS} s) and lived "
                f"{entry['copy_lifetime']} s; not yet at {entry['not_yet_at']} s; straight from "
                f"gunicorn {entry['seconds_from_gunicorn']} s; through nginx: "
                + ", ".join(f"{what} at {at} s" for what, at in entry["trace"]),
            ]
        )
    rows.append(
        [
            "not cached by nginx",
            "; ".join(c["request"] for c in not_cached),
            "all as expected" if all(c["passed"] for c in not_cached) else "**NOT as expected**",
            "; ".join(f"{c['what']}: {', '.join(c['seen'])}" for c in not_cached),
        ]
    )
    return {"columns": columns, "rows": rows}


def _notes(args, measured: dict) -> list[str]:
    notes = [
        f"Throughput: {args.nginx_rounds} cached-article run(s), each between two static-file "
        f"runs, {args.nginx_duration} s each after a {WARMUP_SECONDS} s warm-up; req/s and ratio "
        "are medians over the runs. Loopback only; wrk, nginx (worker_processes auto), "
        "gunicorn and everyone else's jobs share this machine's CPUs, so absolute req/s are "
        "low and vary; the ratio, and nginx's own CPU time per request (from /proc, "
        "load-independent), are the comparable figures.",
        "The static file is the article page's body byte for byte; the cached response also "
        "carries the app's headers (CSP, ETag, …), hence the larger KB/response.",
        "Freshness is the short-TTL approach: nothing purges nginx; it keeps a page as long as "
        "the app's Cache-Control max-age (≤ 60 s) allows. Each page was put in nginx's cache "
        "just before the change (worst case); the change is publish_article and "
        "withdraw_article run as a user in the Editor group in `manage.py shell` (the admin's "
        "status change calls the same transition_article service), timed from each commit. "
        "Straight from gunicorn the change shows at once: the page-cache version in Redis is "
        "bumped on commit.",
        "nginx keeps a copy's expiry in whole seconds (valid while that second lasts), so a copy "
        "lives between max-age and max-age + 1 s; the freshness goals allow that second, and "
        "the table gives the exact figures.",
        "Not cached: X-Cache-Status BYPASS means nginx went to the app and did not store the "
        "answer; a POST is never looked up, so it carries no X-Cache-Status at all.",
    ]
    if measured.get("nginx_error_log"):
        notes.append("nginx error log: " + " | ".join(measured["nginx_error_log"]))
    return notes
