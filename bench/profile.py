"""Where the time goes (not run by `make bench`), under cProfile in a `manage.py shell`:

    .venv/bin/python bench/profile.py import [--files 2000]    # new files, then unchanged
    .venv/bin/python bench/profile.py web [--page "article, uncached"] [--requests 300]

`import` runs the command on the recreated benchmark database with SQL statements counted by
kind, parsing in-process (cProfile does not see into workers). `web` requests one of the pages
`web_pages` measures through Django's test client (the whole middleware stack, no server) on
the database that benchmark leaves behind. Writes `bench/results/profile_*.prof` and `.txt`.
"""

import argparse
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the project root, not bench/, on the path
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench import web_pages
from bench.lib import RESULTS_DIR, seedgen, servers
from bench.lib.commands import command_env, manage, site_env
from bench.lib.database import database_url, fresh_database

PROFILE = """
import cProfile, io, pstats, time
from collections import Counter
from django.db import connection
statements, profiler, out = Counter(), cProfile.Profile(), io.StringIO()
def count(execute, sql, params, many, context):
    statements[sql.split(None, 1)[0].upper()] += 1
    return execute(sql, params, many, context)
def profiled(name, work, n):
    statements.clear()
    started = time.monotonic()
    with connection.execute_wrapper(count):
        profiler.enable(); work(); profiler.disable()
    per = ", ".join(f"{kind} {k / n:.2f}" for kind, k in statements.most_common())
    print(f"## {name}: {n:,} in {time.monotonic() - started:.2f} s; SQL statements each: {per}")
    profiler.dump_stats(f"{RESULTS}/profile_{name}.prof")
    for order in ("cumulative", "tottime"):
        pstats.Stats(profiler).strip_dirs().sort_stats(order).print_stats(TOP)
    profiler.clear()
"""
IMPORT = """
from django.core.management import call_command
options = dict(section="news", authors=["Bench Reporter"], verbosity=0, parse_workers=0)
for label in ("import_new", "import_unchanged"):
    profiled(label, lambda: call_command("import_articles", DIRECTORY, **options), FILES)
"""
WEB = """
import itertools
from django.test import Client
client, paths, numbers = Client(HTTP_HOST="127.0.0.1"), itertools.cycle(PATHS), itertools.count()
def get():
    path = next(paths)
    client.cookies.clear()  # as wrk's requests: none
    if BUST:
        path += ("&" if "?" in path else "?") + f"_bench=p{next(numbers)}"
    assert client.get(path).status_code == 200, path
for _ in range(20):  # warm: templates compiled, connections open, the page cached
    get()
profiled("web", lambda: [get() for _ in range(REQUESTS)], REQUESTS)
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["import", "web"])
    parser.add_argument("--files", type=int, default=2000, help="import: files (default 2000).")
    parser.add_argument("--page", default="article, uncached", help="web: the page profiled.")
    parser.add_argument("--requests", type=int, default=300, help="web: requests (default 300).")
    parser.add_argument("--top", type=int, default=30, help="Functions listed (default 30).")
    args = parser.parse_args(argv)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    names = {"RESULTS": repr(str(RESULTS_DIR)), "TOP": str(args.top)}
    with tempfile.TemporaryDirectory(prefix="newsroom-profile-") as scratch:
        if args.what == "import":
            url = database_url()
            fresh_database(url)
            seedgen.write_seed_files(Path(scratch), args.files, seed=2026)
            env, code = command_env(url), IMPORT
            names |= {"DIRECTORY": repr(scratch), "FILES": str(args.files)}
        else:
            url, cache_url = database_url(web_pages.DATABASE_NAME), servers.redis_url()
            prefix = servers.cache_prefix("profile")
            env = site_env(url, cache_url, prefix) | {"DJANGO_STATIC_ROOT": scratch}
            manage(env, "collectstatic", "--noinput", "-v", "0")  # the manifest {% static %} reads
            pages = {target.label: target for target in web_pages.targets(url, web_pages.ROTATION)}
            if args.page not in pages:
                parser.error(f"--page is one of: {'; '.join(pages)}")
            target, code = pages[args.page], WEB
            (Path(scratch) / "paths.txt").write_text("\n".join(target.paths))
            names |= {"PATHS": f"open({scratch!r} + '/paths.txt').read().split()"}
            names |= {"BUST": str(target.bust)}
            names |= {"REQUESTS": str(args.requests)}
        code = "".join(f"{name} = {value}\n" for name, value in names.items()) + PROFILE + code
        try:
            out = manage(env, "shell", "--no-imports", "-c", code)
        finally:
            if args.what == "web":
                servers.forget_cache(servers.redis_client(cache_url), prefix)
    (RESULTS_DIR / f"profile_{args.what}.txt").write_text(out)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
