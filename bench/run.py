"""Run Newsroom's benchmarks (`make bench`) and report their figures.

Each benchmark is a module of this package listed in `BENCHMARKS`, with a `NAME`, a `TITLE`, an
`add_arguments(group)` for its own options and a `run(args) -> dict` that measures and returns
its results (rows for the table under "table", goals with pass/fail under "goals"). For each one
run, this writes `bench/results/NAME.json`, then rewrites `bench/results/README.md` from every
JSON file there and prints it.

    .venv/bin/python bench/run.py                      # everything
    .venv/bin/python bench/run.py --sizes 1000,5000    # options go to the benchmarks
    .venv/bin/python bench/run.py --only import_articles --strict

The databases are PostgreSQL on the loopback interface, dropped and recreated on every run
(`BENCH_DATABASE_URL` names another server or database; a name must contain "bench"). The exit
status is 1 when a benchmark could not measure (a command failed, the rows were not there) and,
with `--strict`, when a goal was missed.
"""

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the project root, not bench/, on the path
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench import import_articles, newsletter_send, nginx_cache, web_pages
from bench.lib import ROOT, BenchError, report

BENCHMARKS = [import_articles, web_pages, nginx_cache, newsletter_send]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    names = [module.NAME for module in BENCHMARKS]
    parser.add_argument(
        "--only", action="append", choices=names, help="Run only this (repeatable)."
    )
    parser.add_argument("--strict", action="store_true", help="Exit 1 when a goal is missed.")
    for module in BENCHMARKS:
        module.add_arguments(parser.add_argument_group(module.TITLE))
    args = parser.parse_args(argv)

    missed = []
    for module in BENCHMARKS:
        if args.only and module.NAME not in args.only:
            continue
        print(module.TITLE)
        started, started_at = time.monotonic(), time.strftime("%Y-%m-%dT%H:%M:%S%z")
        try:
            result = module.run(args)
        except BenchError as exc:
            print(f"BENCHMARK FAILED: {module.NAME}: {exc}", file=sys.stderr)
            return 1
        result = {"name": module.NAME, "title": module.TITLE, "started_at": started_at, **result}
        result["benchmark_seconds"] = round(time.monotonic() - started, 1)
        path = report.write_result(result)
        print(f"  wrote {path.relative_to(ROOT)} ({result['benchmark_seconds']} s)")
        missed += [goal["goal"] for goal in result.get("goals", []) if not goal["passed"]]

    print()
    print(report.write_readme())
    if missed:
        print(f"{len(missed)} goal(s) missed.", file=sys.stderr)
        return 1 if args.strict else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
