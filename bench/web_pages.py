"""Benchmark: the reader's site under gunicorn, with the Redis page cache, against a bare view.

    .venv/bin/python bench/run.py --only web_pages        # about 4 minutes

Set-up (not timed): the database `newsroom_bench_web` on the loopback PostgreSQL server is
dropped, recreated and migrated; `web_setup.py` fills it with 10,000 stories (seedgen's files
through the real parser and sanitiser, spread over the seven sections, five weeks, 40 bylines
and 60 tags; `bulk_create`); `collectstatic` writes into a temporary STATIC_ROOT. Redis
database 15 on the loopback server (`BENCH_REDIS_URL`) is the cache, as in production, under a
key prefix of this run's own, whose keys alone are deleted (other benchmarks may share the
database). The PostgreSQL database is left in place afterwards, for `bench/profile_web.py`.

gunicorn then serves the site on 127.0.0.1 (a free port) with the project's `gunicorn.conf.py`
(read through a two-line wrapper that turns the access log off: an empty GUNICORN_ACCESS_LOG
is taken for a file name and gunicorn refuses to start), 2 sync workers, no worker recycling
while measuring (`--web-max-requests`), DEBUG off, and `bench.bench_settings`: the project's
settings with one more URL, `/bench/bare/`, a view that returns a fixed 40 KB page through the
same middleware. wrk (Debian's `wrk`, on loopback only; `-t2 -c16`) loads one page type at a
time, for 5 s after a 1 s warm-up, each run preceded by a 2 s run on the bare view, in three
rounds over:

- article, cached: one article page, warmed, so every request is a page-cache hit;
- article, uncached: 2,000 published articles in turn, each requested once per cycle (the
  warm-up used 2,000 others), so a request finds no page in the cache but the database and
  the workers are warm; the script counts the hits to show it;
- home and section pages cached (one URL, warmed) and uncached; search (common words);
  "uncached" there means a query parameter no earlier request had (`?_bench=…`): the page
  cache's key is the full path, so every request is a miss that renders and stores the page,
  exactly as a real miss does, and the views ignore the parameter.

A page's ratio is its requests/s over the mean of the bare-view runs just before and after
it, seconds apart; the table gives medians over the rounds. As a second, load-independent
figure, the CPU time gunicorn's processes and the benchmark database's PostgreSQL backends
used per request is read from /proc around each run ("CPU ratio": the bare view's over the
page's).

Every response must be 200 (wrk's script counts them for the rotating runs; wrk's own error
count for the others, whose one URL is checked first); a few plain HTTP requests before and
after each cached run must all carry `X-Page-Cache: hit`, and the counted hits of each
uncached run must be (almost) none, or the benchmark fails rather than report a wrong figure.
Between runs the benchmark waits for the workers to finish what wrk left queued.

Goals (from the issue): a cached article page at ≥ 90 % of the bare view's requests per
second, an uncached one at ≥ 8 %. Both are ratios measured in the same run, so that a busy
machine slows the numerator and the denominator alike.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import common

NAME = "web_pages"
TITLE = "Reader's site: pages/s under gunicorn (2 sync workers) with the Redis page cache"
DATABASE_NAME = "newsroom_bench_web"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
SETTINGS_MODULE = "bench.bench_settings"
BARE_PATH = "/bench/bare/"
BARE_LABEL = "bare view"
BARE_SECONDS = 2  # each bare-view run: short, since there is one before every page's run
LUA_SCRIPT = common.BENCH_DIR / "web_pages.lua"
SETUP_SCRIPT = common.BENCH_DIR / "web_setup.py"
ROTATION = 2_000  # articles in the uncached article run (and as many others for its warm-up)
SEARCHES = ["police", "council bills", '"social media"', "Kremlin", "money -Russia"]
GOALS = {"article, cached": 0.90, "article, uncached": 0.08}
# A page-cache hit or two can happen in an uncached run (a rotation that wraps around); more
# than this share means the run did not measure what it says.
MAX_HITS_UNCACHED = 0.02
SAMPLES = 5  # plain requests before and after a cached run that must all be hits


def add_arguments(parser) -> None:
    parser.add_argument(
        "--web-stories",
        type=int,
        default=10_000,
        metavar="N",
        help="Stories in the reader's-site benchmark database (default: 10000).",
    )
    parser.add_argument(
        "--web-rounds",
        type=int,
        default=3,
        metavar="N",
        help="Rounds over every page type, each opening with the bare view (default: 3).",
    )
    parser.add_argument(
        "--web-duration",
        type=int,
        default=5,
        metavar="S",
        help="Seconds of load per page type and round (default: 5, after a 1 s warm-up).",
    )
    parser.add_argument(
        "--web-connections",
        type=int,
        default=16,
        metavar="N",
        help="wrk's open connections (default: 16, over 2 wrk threads).",
    )
    parser.add_argument(
        "--web-workers", type=int, default=2, metavar="N", help="gunicorn workers (default: 2)."
    )
    parser.add_argument(
        "--web-max-requests",
        type=int,
        default=0,
        metavar="N",
        help="gunicorn's max_requests while measuring (default: 0, no worker recycling, so "
        "that a worker's restart does not land in one page's seconds; gunicorn.conf.py has "
        "2000 ± 200).",
    )
    parser.add_argument(
        "--web-seed", type=int, default=2026, help="Seed of the generated stories (default: 2026)."
    )


@dataclass(frozen=True)
class Target:
    label: str
    page: str  # the page type, for grouping
    cached: bool | None  # True: must be served by the page cache; False: must not; None: no cache
    paths: tuple[str, ...]  # one path: a fixed request; several: in turn (the Lua script)
    warm_paths: tuple[str, ...] = ()  # the warm-up's, when they must differ from `paths`
    bust: bool = False  # a fresh query parameter on every request: always a cache miss
    how: str = ""


def run(args) -> dict:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise common.BenchError(
            "wrk is not installed: the reader's-site benchmark needs it as its load generator "
            "(Debian: apt-get install -y wrk)"
        )
    url = _database_url()
    redis_url = _redis_url()
    redis_client = _redis(redis_url)
    started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")

    common.recreate_database(url)
    common.manage(url, "migrate", "--noinput", "-v", "0")
    facts = common.machine_facts(url)
    facts["wrk_version"] = _wrk_version(wrk)
    facts["redis_server_version"] = redis_client.info("server").get("redis_version", "?")

    prefix = cache_prefix()
    env = _server_env(url, redis_url, prefix)
    setup_started = time.monotonic()
    made = _setup_stories(env, args.web_stories, args.web_seed)
    print(
        f"  {made['articles']:,} stories stored ({made['visible']:,} visible) in "
        f"{time.monotonic() - setup_started:.1f} s"
    )

    with tempfile.TemporaryDirectory(prefix="newsroom-bench-web-") as scratch:
        scratch = Path(scratch)
        env["DJANGO_STATIC_ROOT"] = str(scratch / "static")
        collectstatic = [common.PYTHON, str(common.MANAGE), "collectstatic", "--noinput", "-v", "0"]
        _run_child(collectstatic, env)
        bare, *pages = _targets(url, ROTATION)
        port = _free_port()
        log_path = scratch / "gunicorn.log"
        server_command = _gunicorn_command(port, args, scratch)
        server = _start_server(server_command, env, log_path)
        context = {
            "wrk": wrk,
            "port": port,
            "args": args,
            "redis_client": redis_client,
            "prefix": prefix,
            "scratch": scratch,
            "log_path": log_path,
            "server": server,
            "url": url,
        }
        slices = []
        try:
            _wait_until_up(server, port, log_path)
            # A short bare-view run before every page's run and one after the last: each
            # page's ratio is to the bare runs just before and after it, seconds apart, so
            # load that comes and goes on the machine weighs on both sides of the ratio alike.
            for round_number in range(1, args.web_rounds + 1):
                for target in pages:
                    slices.append(_measure(bare, round_number, BARE_SECONDS, **context))
                    slices.append(_measure(target, round_number, args.web_duration, **context))
            slices.append(_measure(bare, args.web_rounds, BARE_SECONDS, **context))
        finally:
            _stop_server(server)
            forget_cache(redis_client, prefix)

    _ratios(slices)
    runs = _summaries(slices, [bare, *pages])
    return {
        "name": NAME,
        "title": TITLE,
        "started_at": started_at,
        "command": (
            f"{' '.join(_display(server_command))}; then per page type and round: wrk -t2 "
            f"-c{args.web_connections} -d{args.web_duration}s --latency -s bench/web_pages.lua "
            f"http://127.0.0.1:PORT/PATH (after a 1 s warm-up)"
        ),
        "database": DATABASE_NAME,
        "redis": _safe_redis_url(redis_url),
        "machine": facts,
        "settings": {
            "stories": args.web_stories,
            "seed": args.web_seed,
            "rounds": args.web_rounds,
            "duration_seconds": args.web_duration,
            "connections": args.web_connections,
            "wrk_threads": 2,
            "gunicorn_workers": args.web_workers,
            "gunicorn_max_requests": args.web_max_requests,
            "settings_module": SETTINGS_MODULE,
        },
        "stories": made,
        "runs": runs,
        "slices": slices,
        "goals": _goals(runs),
        "table": _table(runs),
        "notes": _notes(runs, args),
    }


# --- where things are -------------------------------------------------------------------------


def _database_url() -> str:
    """The import benchmark's server (BENCH_DATABASE_URL or the default), our own database."""
    parts = urlsplit(common.database_url())
    return urlunsplit(parts._replace(path=f"/{DATABASE_NAME}"))


def _redis_url() -> str:
    """BENCH_REDIS_URL or database 15 on the loopback server; only its one database is used
    and flushed, so the URL must name one, and the server must be this machine's."""
    url = os.environ.get("BENCH_REDIS_URL") or DEFAULT_REDIS_URL
    parts = urlsplit(url)
    if parts.scheme != "redis" or parts.hostname not in common.LOOPBACK_HOSTS:
        raise common.BenchError(f"the benchmark only uses a loopback Redis, not {url!r}")
    if not re.fullmatch(r"/\d+", parts.path or ""):
        raise common.BenchError(f"BENCH_REDIS_URL must name a database (…/15), not {url!r}")
    return url


def _safe_redis_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.hostname}:{parts.port or 6379}"))


def _redis(url: str):
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise common.BenchError(f"Redis is not reachable at {_safe_redis_url(url)}: {exc}") from exc
    return client


def _server_env(url: str, redis_url: str, cache_prefix: str | None = None) -> dict[str, str]:
    env = common.command_env(url)  # DEBUG off, the benchmark database
    env.update(
        REDIS_URL=redis_url,
        DJANGO_SETTINGS_MODULE=SETTINGS_MODULE,
        PYTHONPATH=os.pathsep.join(p for p in (str(common.ROOT), env.get("PYTHONPATH")) if p),
    )
    if cache_prefix:
        env["NEWSROOM_CACHE_PREFIX"] = cache_prefix
    return env


def cache_prefix(kind: str = "web") -> str:
    """A cache key prefix of this run's own: other benchmarks may share Redis database 15."""
    return f"newsroom-bench-{kind}-{os.getpid()}"


def forget_cache(redis_client, prefix: str) -> None:
    """Delete this run's cache keys (Django's Redis keys are PREFIX:VERSION:KEY), and only
    them: the page cache starts empty, whatever else is in the database."""
    keys = list(redis_client.scan_iter(match=f"{prefix}:*", count=1000))
    for start in range(0, len(keys), 500):
        redis_client.unlink(*keys[start : start + 500])


def _wrk_version(wrk: str) -> str:
    completed = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
    return (completed.stdout + completed.stderr).split("\n")[0].split(" Copyright")[0].strip()


# --- set-up -----------------------------------------------------------------------------------


def _run_child(args: list[str], env: dict[str, str]) -> str:
    completed = subprocess.run(
        args, cwd=common.ROOT, env=env, capture_output=True, text=True, check=False
    )
    if completed.returncode:
        raise common.BenchError(
            f"{' '.join(args[1:3])} failed ({completed.returncode}):\n"
            f"{completed.stdout[-3000:]}{completed.stderr[-3000:]}"
        )
    return completed.stdout


def _setup_stories(env: dict[str, str], count: int, seed: int) -> dict:
    out = _run_child([common.PYTHON, str(SETUP_SCRIPT), str(count), str(seed)], env)
    made = json.loads(out.strip().splitlines()[-1])
    if made["articles"] != count or made["visible"] < 0.9 * count:
        raise common.BenchError(f"the set-up made {made}, not {count} stories")
    return made


def _targets(url: str, rotation: int) -> list[Target]:
    """What is measured, in order, with URLs from the database: published, visible articles in
    a fixed pseudo-random order (not the newest: a reader arriving from search or social)."""
    rows = common.query(
        url,
        """
        SELECT s.slug, a.slug FROM articles_article a JOIN articles_section s ON s.id = a.section_id
        WHERE a.status = 'published' AND a.published_at <= now()
        ORDER BY md5(a.slug) LIMIT %s
        """,
        (2 * rotation + 1,),
    )
    if len(rows) < 2 * rotation + 1:
        raise common.BenchError(f"only {len(rows)} visible articles; need {2 * rotation + 1}")
    articles = [f"/{quote(section)}/{quote(slug)}/" for section, slug in rows]
    order = 'SELECT slug FROM articles_section ORDER BY "order", name'
    sections = [f"/{quote(slug)}/" for (slug,) in common.query(url, order)]
    searches = [f"/search/?q={quote(words)}" for words in SEARCHES]
    first, measured, warm = articles[0], articles[1 : rotation + 1], articles[rotation + 1 :]
    return [
        Target(
            BARE_LABEL,
            "bare",
            None,
            (BARE_PATH,),
            how=f"fixed 40 KB response, no cache; {BARE_SECONDS} s before each page's run",
        ),
        Target("article, cached", "article", True, (first,), how="one article, page-cache hits"),
        Target(
            "article, uncached",
            "article",
            False,
            tuple(measured),
            warm_paths=tuple(warm),
            how=f"{rotation:,} articles in turn, each once (warm-up: {rotation:,} others)",
        ),
        Target("home, cached", "home", True, ("/",), how="page-cache hits"),
        Target("home, uncached", "home", False, ("/",), bust=True, how="fresh ?_bench= each"),
        Target("section, cached", "section", True, ("/news/",), how="/news/, page-cache hits"),
        Target(
            "section, uncached",
            "section",
            False,
            tuple(sections),
            bust=True,
            how=f"{len(sections)} sections' first pages, fresh ?_bench= each",
        ),
        Target(
            "search, uncached",
            "search",
            False,
            tuple(searches),
            bust=True,
            how=f"{len(searches)} queries ({', '.join(SEARCHES)}), fresh ?_bench= each",
        ),
    ]


# --- the server -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _gunicorn_command(port: int, args, scratch: Path) -> list[str]:
    command = [
        common.PYTHON,
        "-m",
        "gunicorn",
        "newsroom.wsgi:application",
        # The project's gunicorn.conf.py (found in the working directory) sets the rest.
        "--workers",
        str(args.web_workers),
        "--bind",
        f"127.0.0.1:{port}",
        # No access log: formatting and writing a line per request is not what is measured.
        # (An empty --access-logfile is not "off" for gunicorn, /dev/null still formats.)
        "--config",
        str(_config_without_access_log(scratch)),
    ]
    if args.web_max_requests is not None:
        command += ["--max-requests", str(args.web_max_requests)]
    return command


def _config_without_access_log(scratch: Path) -> Path:
    """A gunicorn config that is the project's with the access log off: gunicorn reads one
    config file, and in the project's an empty GUNICORN_ACCESS_LOG is a file name ("")."""
    path = scratch / "gunicorn_bench.conf.py"
    project = common.ROOT / "gunicorn.conf.py"
    path.write_text(
        f"exec(compile(open({str(project)!r}).read(), {str(project)!r}, 'exec'))\n"
        "accesslog = None\n"
    )
    return path


def _display(command: list[str]) -> list[str]:
    out = []
    for part in command:
        if part == common.PYTHON:
            part = ".venv/bin/python"
        elif part.endswith("gunicorn_bench.conf.py"):
            part = "TMP/gunicorn_bench.conf.py"  # gunicorn.conf.py + accesslog = None
        out.append(re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", part))
    return out


def _start_server(command: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
    log = open(log_path, "w")  # noqa: SIM115  (closed by _stop_server's caller's exit)
    # Its own process group, so stopping it reaches the workers too (by the master's id).
    return subprocess.Popen(
        command,
        cwd=common.ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait_until_up(server: subprocess.Popen, port: int, log_path: Path, timeout=60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise common.BenchError(f"gunicorn exited ({server.returncode}):\n{_tail(log_path)}")
        try:
            status, _, _ = _get(port, "/healthz", timeout=2)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise common.BenchError(f"gunicorn did not answer within {timeout:.0f} s:\n{_tail(log_path)}")


def _stop_server(server: subprocess.Popen) -> None:
    """TERM to gunicorn's process group (the master and its workers), KILL if it lingers."""
    if server.poll() is None:
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=5)
        except ProcessLookupError:
            pass


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _worker_boots(log_path: Path) -> int:
    try:
        return log_path.read_text(errors="replace").count("Booting worker")
    except OSError:
        return 0


def _get(port: int, path: str, timeout: float = 30) -> tuple[int, dict[str, str], int]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return response.status, headers, len(body)
    finally:
        connection.close()


# --- measuring --------------------------------------------------------------------------------


def _measure(
    target: Target,
    round_number: int,
    seconds: int,
    *,
    wrk,
    port,
    args,
    redis_client,
    prefix,
    scratch,
    log_path,
    server,
    url,
) -> dict:
    forget_cache(redis_client, prefix)  # each run starts from an empty cache; its warm-up fills it
    warm = target.warm_paths or target.paths
    # The run's own URL when it is to be cached; else one the run will not ask for unbusted.
    sample = target.paths[0] if target.cached is not False else warm[0]
    status, headers, size = _get(port, sample)
    if status != 200:
        raise common.BenchError(f"{target.label}: GET {sample} answered {status}, not 200")
    if target.page != "bare":  # the bare view has nothing to warm
        _wrk(wrk, port, args, scratch, warm, bust="w" if target.bust else None, seconds=1)
        # wrk leaves requests queued behind it: let the workers finish them before measuring.
        _wait_until_idle(server.pid)

    if target.cached:
        before = _cache_hits(port, sample)
    load_before = os.getloadavg()[0]
    boots_before = _worker_boots(log_path)
    cpu_before = _cpu_seconds(server.pid, url)
    result = _wrk(
        wrk,
        port,
        args,
        scratch,
        target.paths,
        bust=f"m{round_number}-" if target.bust else None,
        seconds=seconds,
    )
    cpu_after = _cpu_seconds(server.pid, url)
    _wait_until_idle(server.pid)
    restarts = _worker_boots(log_path) - boots_before
    if not result["requests"]:
        raise common.BenchError(
            f"{target.label}: no request finished in {seconds} s (wrk: {result})"
        )

    errors = result["errors"]
    if errors["status"] or result.get("non200"):
        raise common.BenchError(
            f"{target.label}: {errors['status'] or result['non200']} responses were not 200 "
            f"(wrk: {result})\n{_tail(log_path)}"
        )
    socket_errors = sum(errors[k] for k in ("connect", "read", "write", "timeout"))
    if socket_errors:
        raise common.BenchError(f"{target.label}: socket errors {errors}\n{_tail(log_path)}")

    hits = checked = None
    if target.cached:
        hits, checked = before + _cache_hits(port, sample), 2 * SAMPLES
        if hits != checked:
            raise common.BenchError(
                f"{target.label}: only {hits} of {checked} sampled requests for {sample} were "
                "page-cache hits"
            )
    elif target.cached is False:
        hits, checked = result["hits"], result["responses"]
        if hits > MAX_HITS_UNCACHED * checked:
            raise common.BenchError(
                f"{target.label}: {hits} of {checked} responses came from the page cache"
            )
    elif headers.get("x-page-cache") == "hit":
        raise common.BenchError(f"{target.label}: the bare view was served from the cache")

    seconds = result["duration_us"] / 1e6
    requests = max(1, result["requests"])
    cpu = {
        part: (
            round(1000 * _cpu_used(cpu_before[part], cpu_after[part]) / requests, 3)
            if cpu_after[part] is not None and cpu_before[part] is not None
            else None
        )
        for part in ("app", "db")
    }
    entry = {
        "run": target.label,
        "round": round_number,
        "requests": result["requests"],
        "seconds": round(seconds, 2),
        "requests_per_second": round(result["requests"] / seconds, 1),
        "latency_ms": {k: round(v / 1000, 2) for k, v in result["latency_us"].items()},
        "bytes_per_response": round(result["bytes"] / requests),
        "page_bytes": size,
        "page_cache_hits": hits,
        "page_cache_checked": checked,
        "cpu_ms_per_request": cpu,
        "worker_restarts": restarts,
        "load_average_before": round(load_before, 2),
    }
    cache_note = "" if hits is None else f", cache hits {hits}/{checked}"
    print(
        f"  [{round_number}] {target.label}: {entry['requests_per_second']:,.0f} req/s, p50 "
        f"{entry['latency_ms']['p50']:.1f} ms, p99 {entry['latency_ms']['p99']:.1f} ms, CPU "
        f"{_ms(cpu['app'])} + {_ms(cpu['db'])} ms/req{cache_note}, load {load_before:.1f}"
        + (f", {restarts} worker restarts" if restarts else "")
    )
    return entry


def _ms(value) -> str:
    return "?" if value is None else f"{value:.2f}"


def _cache_hits(port: int, path: str) -> int:
    hits = 0
    for _ in range(SAMPLES):
        status, headers, _ = _get(port, path)
        if status != 200:
            raise common.BenchError(f"GET {path} answered {status}, not 200")
        hits += headers.get("x-page-cache") == "hit"
    return hits


def _wrk(wrk, port, args, scratch: Path, paths, *, bust: str | None, seconds: int) -> dict:
    command = [
        wrk,
        "-t2",
        f"-c{args.web_connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(LUA_SCRIPT),
    ]
    env = dict(os.environ, WRK_THREADS="2")
    env.pop("WRK_PATHS", None)
    env.pop("WRK_BUST", None)
    if len(paths) > 1 or bust:
        paths_file = scratch / "paths.txt"
        paths_file.write_text("\n".join(paths) + "\n")
        env["WRK_PATHS"] = str(paths_file)
        if bust:
            env["WRK_BUST"] = bust
    completed = subprocess.run(
        [*command, f"http://127.0.0.1:{port}{paths[0]}"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=seconds + 60,
    )
    found = re.search(r"^WRKJSON (.*)$", completed.stdout, re.MULTILINE)
    if completed.returncode or not found:
        raise common.BenchError(
            f"wrk failed ({completed.returncode}):\n{completed.stdout}{completed.stderr}"
        )
    return json.loads(found.group(1))


# --- CPU time ---------------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_used(before, after) -> float:
    """CPU seconds between two readings: the app's is one number; the database's is one per
    backend, since a backend may end (CONN_MAX_AGE) and a new one start between them."""
    if isinstance(after, dict):
        return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())
    return after - before


def _cpu_seconds(master_pid: int, url: str | None) -> dict:
    """CPU seconds used so far by the app (gunicorn's master, its live workers, and the workers
    it has reaped: one number) and by each PostgreSQL backend of the benchmark database (by
    process id). Read from /proc, so other processes' work on a busy machine is not in it
    (None without it)."""
    app = _proc_cpu(master_pid, with_children=True)
    if app is not None:
        for child in _children(master_pid):
            app += _proc_cpu(child) or 0.0
    if url is None:
        return {"app": app, "db": None}
    try:
        pids = common.query(
            url,
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (DATABASE_NAME,),
        )
        backends = {pid: _proc_cpu(pid) for (pid,) in pids}
        readable = {pid: cpu for pid, cpu in backends.items() if cpu is not None}
        # None when /proc shows none of them (another machine or container); one that ended
        # between the query and the read is just left out.
        db = readable if readable or not backends else None
    except Exception:  # noqa: BLE001  (a remote or containerised server: no figure)
        db = None
    return {"app": app, "db": db}


def _wait_until_idle(master_pid: int, timeout: float = 60.0) -> None:
    """Until gunicorn's processes use no CPU for a quarter of a second (the requests a wrk run
    left queued are done), or `timeout`."""
    deadline = time.monotonic() + timeout
    last = _cpu_seconds(master_pid, None)["app"]
    while last is not None and time.monotonic() < deadline:
        time.sleep(0.25)
        now = _cpu_seconds(master_pid, None)["app"]
        if now - last < 1.5 / CLOCK_TICKS:
            return
        last = now


def _proc_cpu(pid: int, *, with_children: bool = False) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # After "(comm)": state ppid … utime (12th) stime cutime cstime.
    ticks = int(fields[11]) + int(fields[12])
    if with_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLOCK_TICKS


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            found += map(int, Path(f"/proc/{pid}/task/{task}/children").read_text().split())
    except OSError:
        pass
    return found


# --- results ----------------------------------------------------------------------------------


def _ratios(slices: list[dict]) -> None:
    """Each page run's requests/s over the mean of the bare-view runs just before and after
    it; and the same for CPU time per request, the other way up."""
    for index, entry in enumerate(slices):
        if entry["run"] == BARE_LABEL:
            around = [entry]
        else:
            around = [slices[index - 1], slices[index + 1]]
            if {b["run"] for b in around} != {BARE_LABEL}:
                raise common.BenchError("a page run without bare-view runs around it")
        rps = statistics.fmean(b["requests_per_second"] for b in around)
        entry["ratio_to_bare"] = round(entry["requests_per_second"] / rps, 4)
        totals = [_cpu_total(b) for b in around]
        mine = _cpu_total(entry)
        entry["cpu_ratio_to_bare"] = (
            round(statistics.fmean(totals) / mine, 4)
            if mine and all(t is not None for t in totals)
            else None
        )


def _cpu_total(entry: dict) -> float | None:
    cpu = entry["cpu_ms_per_request"]
    if cpu["app"] is None:
        return None
    return cpu["app"] + (cpu["db"] or 0.0)


def _summaries(slices: list[dict], targets: list[Target]) -> list[dict]:
    """One row per page type: medians over its rounds."""
    runs = []
    for target in targets:
        mine = [entry for entry in slices if entry["run"] == target.label]

        def median(get, mine=mine):
            values = [get(entry) for entry in mine]
            values = [v for v in values if v is not None]
            return statistics.median(values) if values else None

        hits = [e["page_cache_hits"] for e in mine if e["page_cache_hits"] is not None]
        checked = [e["page_cache_checked"] for e in mine if e["page_cache_checked"] is not None]
        runs.append(
            {
                "run": target.label,
                "page": target.page,
                "cached": target.cached,
                "how": target.how,
                "paths": len(target.paths),
                "example_path": target.paths[0],
                "rounds": len(mine),
                "requests": sum(e["requests"] for e in mine),
                "requests_per_second": median(lambda e: e["requests_per_second"]),
                "requests_per_second_each_round": [e["requests_per_second"] for e in mine],
                "latency_ms": {
                    key: median(lambda e, key=key: e["latency_ms"][key])
                    for key in ("p50", "p90", "p99")
                },
                "ratio_to_bare": median(lambda e: e["ratio_to_bare"]),
                "ratio_to_bare_each_round": [e["ratio_to_bare"] for e in mine],
                "cpu_ms_per_request": {
                    part: median(lambda e, part=part: e["cpu_ms_per_request"][part])
                    for part in ("app", "db")
                },
                "cpu_ratio_to_bare": median(lambda e: e["cpu_ratio_to_bare"]),
                "bytes_per_response": round(median(lambda e: e["bytes_per_response"])),
                "page_cache_hits": sum(hits) if hits else None,
                "page_cache_checked": sum(checked) if checked else None,
                "worker_restarts": sum(e["worker_restarts"] for e in mine),
                "load_average_before": median(lambda e: e["load_average_before"]),
            }
        )
    return runs


def _goals(runs: list[dict]) -> list[dict]:
    by_label = {entry["run"]: entry for entry in runs}
    return [
        {
            "goal": f"{label} ≥ {target:.0%} of the bare view's requests/s",
            "target": target,
            "actual": by_label[label]["ratio_to_bare"],
            "unit": "of the bare view",
            "passed": by_label[label]["ratio_to_bare"] >= target,
        }
        for label, target in GOALS.items()
    ]


def _table(runs: list[dict]) -> dict:
    columns = [
        "page",
        "how",
        "req/s",
        "p50 ms",
        "p99 ms",
        "ratio to bare",
        "ratio each round",
        "CPU ms/req app + db",
        "CPU ratio",
        "page-cache hits",
        "KB/resp",
        "load",
    ]
    rows = []
    for entry in runs:
        cpu = entry["cpu_ms_per_request"]
        hits = (
            "–"
            if entry["page_cache_hits"] is None
            else f"{entry['page_cache_hits']:,}/{entry['page_cache_checked']:,}"
            + (" sampled" if entry["cached"] else "")
        )
        rows.append(
            [
                entry["run"],
                entry["how"],
                f"{entry['requests_per_second']:,.0f}",
                f"{entry['latency_ms']['p50']:.1f}",
                f"{entry['latency_ms']['p99']:.1f}",
                f"{entry['ratio_to_bare']:.1%}",
                "–"
                if entry["page"] == "bare"
                else " ".join(f"{r:.0%}" for r in entry["ratio_to_bare_each_round"]),
                f"{_ms(cpu['app'])} + {_ms(cpu['db'])}",
                "–" if entry["cpu_ratio_to_bare"] is None else f"{entry['cpu_ratio_to_bare']:.1%}",
                hits,
                f"{entry['bytes_per_response'] / 1000:.1f}",
                f"{entry['load_average_before']:.1f}",
            ]
        )
    return {"columns": columns, "rows": rows}


def _notes(runs: list[dict], args) -> list[str]:
    restarts = sum(entry["worker_restarts"] for entry in runs)
    by_label = {entry["run"]: entry for entry in runs}
    cpu = ", ".join(
        f"{label} {by_label[label]['cpu_ratio_to_bare']:.1%}"
        for label in GOALS
        if by_label[label]["cpu_ratio_to_bare"] is not None
    )
    return [
        f"The goals by CPU time per request instead of requests/s: {cpu} of the bare view."
        if cpu
        else "CPU time per request could not be read from /proc.",
        f"{args.web_rounds} round(s) over the page types; each page's run ({args.web_duration} s "
        f"after a 1 s warm-up) comes after a {BARE_SECONDS} s bare-view run, and one more closes "
        "the last round. A page's ratio is its requests/s over the mean of the bare-view runs "
        "just before and after it; req/s, latency and the ratios are medians over the rounds.",
        "CPU ms/req: CPU time used per request by gunicorn (master and workers) and by the "
        "PostgreSQL backends of the benchmark database, from /proc, so it does not count other "
        "jobs on the machine; CPU ratio is the bare view's total over the page's, a "
        "load-independent cross-check of the ratio (wrk, Redis and the kernel's network work "
        "are not in it).",
        "Latency is wrk's, per request, with 16 connections queueing for 2 sync workers: "
        "mostly waiting for a free worker; compare it between rows.",
        "Cached: a warm-up request stored the page, then every request is a page-cache hit "
        f"(checked with {SAMPLES} plain requests before and {SAMPLES} after each run). "
        "Uncached: every request is a miss that renders the page and stores it in Redis, as a "
        "real miss does; the hits column counts X-Page-Cache: hit over every response (wrk "
        "script). The run's keys in Redis database 15 are deleted before every run.",
        f"Worker recycling: --max-requests {args.web_max_requests} "
        + (
            "(off) while measuring; the project's gunicorn.conf.py recycles each worker "
            "after 2000 ± 200 requests, and every restart imports Django again."
            if not args.web_max_requests
            else f"({restarts} worker restarts during the measured seconds)."
        ),
        "Every response was 200 (wrk's status-error count, and a count in the wrk script for "
        "the rotating runs); no socket errors.",
        "TMP/gunicorn_bench.conf.py executes the project's gunicorn.conf.py and then sets "
        "accesslog = None (gunicorn takes GUNICORN_ACCESS_LOG= or --access-logfile '' for a "
        "file name and refuses to start).",
    ]
