"""Run Newsroom's benchmarks (`make bench`) and report their figures.

Each benchmark is a module in `bench/` listed in `BENCHMARKS`, with a `NAME`, a `TITLE`, an
`add_arguments(parser)` for its own options and a `run(args) -> dict` that measures and returns
its results (rows for the table under "table", goals with pass/fail under "goals"). For each one
run, this writes `bench/results/<NAME>.json`, then rewrites `bench/results/README.md` from every
JSON file there (so results of benchmarks not run this time stay in the table) and prints it.

    .venv/bin/python bench/run.py                      # everything
    .venv/bin/python bench/run.py --sizes 1000,5000    # options go to the benchmarks
    .venv/bin/python bench/run.py --only import_articles --strict

The database is PostgreSQL on the loopback interface: `newsroom_bench`, dropped and recreated on
every run (`BENCH_DATABASE_URL` names another; its name must contain "bench"). The exit status is
1 when a benchmark could not measure (a command failed, the rows were not there) and, with
`--strict`, when a goal was missed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import common
import import_articles
import newsletter_send
import nginx_cache
import web_pages

BENCHMARKS = [import_articles, web_pages, nginx_cache, newsletter_send]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only",
        action="append",
        choices=[module.NAME for module in BENCHMARKS],
        help="Run only this benchmark (repeatable).",
    )
    parser.add_argument(
        "--strict", action="store_true", help="Exit with status 1 when a goal is missed."
    )
    for module in BENCHMARKS:
        module.add_arguments(parser.add_argument_group(module.TITLE))
    args = parser.parse_args(argv)

    common.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    missed = []
    for module in BENCHMARKS:
        if args.only and module.NAME not in args.only:
            continue
        print(f"{module.TITLE}")
        started = time.monotonic()
        try:
            result = module.run(args)
        except common.BenchError as exc:
            print(f"BENCHMARK FAILED: {module.NAME}: {exc}", file=sys.stderr)
            return 1
        result["benchmark_seconds"] = round(time.monotonic() - started, 1)
        path = common.RESULTS_DIR / f"{module.NAME}.json"
        path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        print(f"  wrote {path.relative_to(common.ROOT)} ({result['benchmark_seconds']} s)")
        missed += [goal["goal"] for goal in result.get("goals", []) if not goal["passed"]]

    readme = render_readme()
    (common.RESULTS_DIR / "README.md").write_text(readme)
    print()
    print(readme)
    if missed:
        print(f"{len(missed)} goal(s) missed.", file=sys.stderr)
        return 1 if args.strict else 0
    return 0


def render_readme() -> str:
    """The markdown report of every result file in `bench/results/`."""
    lines = ["# Benchmark results", ""]
    for path in sorted(common.RESULTS_DIR.glob("*.json")):
        result = json.loads(path.read_text())
        lines += render_result(result)
    return "\n".join(lines).rstrip() + "\n"


def render_result(result: dict) -> list[str]:
    machine = result.get("machine", {})
    lines = [
        f"## {result.get('title', result.get('name', '?'))}",
        "",
        f"Run {result.get('started_at', '?')} on {machine.get('cpu_count', '?')} CPUs "
        f"({machine.get('cpu_model', '?')}), Python {machine.get('python_version', '?')}, "
        f"PostgreSQL {machine.get('postgresql_server_version', '?').split()[0]}, "
        f"Django {machine.get('django_version', '?')}, commit {machine.get('git_commit') or '?'}"
        f"{' (with local changes)' if machine.get('git_dirty') else ''}.",
        "",
    ]
    if result.get("command"):
        lines += [f"Command: `{result['command']}`", ""]
    table = result.get("table")
    if table:
        lines += _markdown_table(table["columns"], table["rows"])
    goals = result.get("goals", [])
    if goals:
        lines += _markdown_table(
            ["goal", "actual", "result"],
            [
                [goal["goal"], _format_actual(goal), "pass" if goal["passed"] else "**FAIL**"]
                for goal in goals
            ],
        )
    for note in result.get("notes", []):
        lines.append(f"- {note}")
    if result.get("rss_method"):
        lines.append(f"- Peak memory: {result['rss_method']}.")
    lines.append("")
    return lines


def _format_actual(goal: dict) -> str:
    if goal.get("unit") == "files/s":
        return f"{goal['actual']:,.0f} files/s"
    if goal.get("unit") == "of the bare view":
        return f"{goal['actual']:.1%} of the bare view"
    if isinstance(goal.get("actual"), float) and "relative" in goal.get("unit", ""):
        return f"{goal['actual']:+.1%}"
    return f"{goal.get('actual')} {goal.get('unit', '')}".strip()


def _markdown_table(columns: list[str], rows: list[list]) -> list[str]:
    out = ["| " + " | ".join(columns) + " |", "|" + "|".join(" --- " for _ in columns) + "|"]
    out += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return [*out, ""]


if __name__ == "__main__":
    sys.exit(main())
