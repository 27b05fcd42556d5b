"""Where the reader's site spends its time, request by request (not run by `make bench`): the
pages `web_pages.py` measures, called in this process through Django's WSGI handler (the whole
middleware stack, no gunicorn, no network client), on the database that benchmark left behind
(`newsroom_bench_web`: run it first) and Redis database 15 (under a key prefix of its own).

    .venv/bin/python bench/profile_web.py [--requests 300] [--profile article-uncached]

For each page: CPU milliseconds per request in this process (what a gunicorn worker spends,
less gunicorn's own share; the database server's and Redis's work are not in it), wall
milliseconds, and SQL statements and Redis commands per request. Less noisy than requests per
second on a busy machine, since other processes' work does not count. Then one page under
cProfile: the top functions by cumulative and by own time, written with the table to
`bench/results/profile_web.txt` and the raw profile to `bench/results/profile_web.prof`.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import common
import web_pages

PAGES = [
    "bare",
    "article-cached",
    "article-uncached",
    "home-cached",
    "home-uncached",
    "section-cached",
    "section-uncached",
    "search",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="Per page (default 300).")
    parser.add_argument("--profile", choices=PAGES, default="article-uncached")
    parser.add_argument("--top", type=int, default=35, help="Functions listed (default 35).")
    parser.add_argument("--only", action="append", choices=PAGES, help="Pages to time.")
    args = parser.parse_args(argv)

    url = urlunsplit(urlsplit(common.database_url())._replace(path=f"/{web_pages.DATABASE_NAME}"))
    redis_url = web_pages._redis_url()
    redis_client = web_pages._redis(redis_url)
    prefix = web_pages.cache_prefix("profile")
    os.environ.update(web_pages._server_env(url, redis_url, prefix))
    # The manifest the pages' {% static %} needs, as the benchmark's server has it.
    scratch = tempfile.TemporaryDirectory(prefix="newsroom-profile-web-")
    os.environ["DJANGO_STATIC_ROOT"] = scratch.name
    collectstatic = [common.PYTHON, str(common.MANAGE), "collectstatic", "--noinput", "-v", "0"]
    web_pages._run_child(collectstatic, dict(os.environ))
    sys.path.insert(0, str(common.ROOT))
    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext

    from articles.models import Article

    handler = WSGIHandler()
    factory = RequestFactory()
    articles = [
        f"/{quote(a.section.slug)}/{quote(a.slug)}/"
        for a in Article.objects.published().select_related("section").order_by("?")[:3000]
    ]
    if len(articles) < 1000:
        print("Run bench/run.py --only web_pages first: the database has too few stories.")
        return 1
    counter = itertools.count()
    rotating = itertools.cycle(articles[1:])
    sections = ["/news/", "/world/", "/politics/", "/science/", "/showbiz/", "/sport/", "/money/"]
    searches = [f"/search/?q={quote(q)}" for q in web_pages.SEARCHES]

    def bust(path):
        return f"{path}{'&' if '?' in path else '?'}_bench=p{next(counter)}"

    paths = {
        "bare": lambda: web_pages.BARE_PATH,
        "article-cached": lambda: articles[0],
        "article-uncached": lambda: next(rotating),
        "home-cached": lambda: "/",
        "home-uncached": lambda: bust("/"),
        "section-cached": lambda: "/news/",
        "section-uncached": lambda: bust(sections[next(counter) % len(sections)]),
        "search": lambda: bust(searches[next(counter) % len(searches)]),
    }

    def get(path):
        path, _, query = path.partition("?")
        environ = factory._base_environ(PATH_INFO=path, QUERY_STRING=query, REQUEST_METHOD="GET")
        environ["SERVER_NAME"] = "127.0.0.1"
        status = []
        body = handler(environ, lambda s, h, exc_info=None: status.append((s, h)))
        size = sum(len(chunk) for chunk in body)
        body.close()
        if not status[0][0].startswith("200"):
            raise SystemExit(f"GET {path}?{query}: {status[0][0]}")
        return dict(status[0][1]).get("X-Page-Cache") == "hit", size

    report = io.StringIO()

    def out(line=""):
        print(line)
        report.write(line + "\n")

    import articles as articles_package

    out(
        f"{args.requests} requests per page, in-process WSGI, database {web_pages.DATABASE_NAME}, "
        f"code in {Path(articles_package.__file__).parent.parent}"
    )
    out()
    out(f"{'page':<18} {'CPU ms':>7} {'wall ms':>8} {'SQL':>5} {'Redis':>6} {'hits':>5} {'KB':>6}")
    web_pages.forget_cache(redis_client, prefix)
    bare_cpu = None
    for page in args.only or PAGES:
        make = paths[page]
        for _ in range(20):  # warm: templates compiled, connections open, the page cached
            get(make())
        commands_before = _redis_commands(redis_client)
        hits = size = 0
        with CaptureQueriesContext(connection) as queries:
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(args.requests):
                hit, size = get(make())
                hits += hit
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        redis_commands = _redis_commands(redis_client) - commands_before
        cpu_ms = 1000 * cpu / args.requests
        bare_cpu = bare_cpu or (cpu_ms if page == "bare" else None)
        out(
            f"{page:<18} {cpu_ms:>7.2f} {1000 * wall / args.requests:>8.2f} "
            f"{len(queries) / args.requests:>5.1f} {redis_commands / args.requests:>6.1f} "
            f"{hits:>5} {size / 1000:>6.1f}"
            + (f"   bare/this {bare_cpu / cpu_ms:6.1%}" if bare_cpu else "")
        )
    out()
    out("SQL and Redis are per request; Redis counts every command the server ran (other")
    out("clients of the same server included). hits: responses with X-Page-Cache: hit.")

    make = paths[args.profile]
    for _ in range(20):
        get(make())
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.requests):
        get(make())
    profiler.disable()
    common.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(common.RESULTS_DIR / "profile_web.prof")
    for order in ("cumulative", "tottime"):
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text).strip_dirs().sort_stats(order)
        stats.print_stats(args.top)
        out(f"\n== {args.profile}, {args.requests} requests, by {order} ==")
        out(text.getvalue().split("\n\n", 1)[-1].rstrip())
    (common.RESULTS_DIR / "profile_web.txt").write_text(report.getvalue())
    web_pages.forget_cache(redis_client, prefix)
    scratch.cleanup()
    return 0


def _redis_commands(client) -> int:
    return int(client.info("stats")["total_commands_processed"])


if __name__ == "__main__":
    started = time.monotonic()
    status = main()
    print(f"({time.monotonic() - started:.0f} s)")
    sys.exit(status)
