"""Run Newsroom's benchmarks (`make bench`) and report their figures.

Each benchmark is a module here: a docstring (its method), `NAME`, `TITLE`, `ARGUMENTS` (option:
default, help) and `run(args) -> dict` (a "table", "goals" met or not), written to
`bench/results/NAME.json`, from which with the others `bench/results/README.md` is rendered.
Exit status 1: a benchmark could not measure (a check or command failed), or with `--strict` a
goal was missed. The databases (PostgreSQL on this machine, `BENCH_DATABASE_URL`) are dropped
and recreated; their names must contain "bench".
"""

import argparse
import importlib
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the project root, not bench/, on the path
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench.lib import BenchError, report

NAMES = "import_articles web_pages edge_cache live_blog beacon newsletter_send redis_hang pictures"
BENCHMARKS = [importlib.import_module(f"bench.{name}") for name in NAMES.split()]


def sizes(text: str) -> tuple[int, ...]:
    """An option's "1000,10_000": positive sizes, ascending, each once."""
    found = tuple(sorted({int(part.replace("_", "")) for part in text.split(",") if part}))
    if not found or min(found) < 1:
        raise ValueError("sizes must be positive integers")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    names = [module.NAME for module in BENCHMARKS]
    parser.add_argument("--only", action="append", choices=names, help="Run this (repeatable).")
    parser.add_argument("--strict", action="store_true", help="Exit 1 when a goal is missed.")
    for module in BENCHMARKS:
        group = parser.add_argument_group(module.TITLE)
        for option, (default, text) in module.ARGUMENTS.items():
            kind = {"type": sizes, "metavar": "N[,N…]"} if isinstance(default, tuple) else {}
            group.add_argument(option, default=default, help=text, **{"type": int} | kind)
    args, missed = parser.parse_args(argv), []
    for module in (m for m in BENCHMARKS if not args.only or m.NAME in args.only):
        print(module.TITLE)
        started, started_at = time.monotonic(), time.strftime("%Y-%m-%dT%H:%M:%S%z")
        try:
            result = module.run(args)
        except BenchError as exc:
            print(f"BENCHMARK FAILED: {module.NAME}: {exc}", file=sys.stderr)
            return 1
        method = module.__doc__.split("\n\n", 1)[1].strip()
        result = {"name": module.NAME, "title": module.TITLE, "started_at": started_at, **result}
        result |= {"method": method, "benchmark_seconds": round(time.monotonic() - started, 1)}
        readme = report.write(result)
        print(f"  wrote bench/results/{module.NAME}.json ({result['benchmark_seconds']} s)")
        missed += [goal["goal"] for goal in result.get("goals", []) if not goal["passed"]]
    print(f"\n{readme}")
    if missed:
        print(f"{len(missed)} goal(s) missed.", file=sys.stderr)
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
