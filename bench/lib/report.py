"""The results: the facts about the machine every result carries, goals and tables in the shape
the report reads, and the report itself: `bench/results/NAME.json` per benchmark, and
`bench/results/README.md` rendered from all of them (results of benchmarks not run this time
stay in it)."""

import json
import os
import platform
import subprocess
from pathlib import Path

from . import RESULTS_DIR, ROOT
from .commands import gnu_time_available
from .database import query

MEMORY_GROWTH_TOLERANCE = 0.10


def machine_facts(url: str, **extra: str) -> dict:
    """What the figures depend on: hardware, interpreter, database server, code version."""
    import django

    memory = _proc_field("/proc/meminfo", "MemTotal", "")  # "16384000 kB"
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": _proc_field("/proc/cpuinfo", "model name", platform.processor()),
        "memory_total_mib": int(memory.split()[0]) // 1024 if memory else None,
        "platform": platform.platform(),
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "postgresql_server_version": query(url, "SHOW server_version")[0][0],
        "django_version": django.get_version(),
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "gnu_time": gnu_time_available(),
        **extra,
    }


def _proc_field(path: str, name: str, default: str) -> str:
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return default
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith(name)), default)


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    except OSError:
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def options(args, prefix: str, **renames: str) -> dict:
    """A benchmark's own options (`--PREFIX-NAME`) for its result's settings, some renamed."""
    mine = {k[len(prefix) + 1 :]: v for k, v in vars(args).items() if k.startswith(f"{prefix}_")}
    return {renames.get(name, name): value for name, value in mine.items()}


def goal(text: str, target, actual, unit: str, passed: bool) -> dict:
    return {"goal": text, "target": target, "actual": actual, "unit": unit, "passed": passed}


def memory_growth_goal(smallest: dict, largest: dict, *, size: str, noun: str) -> dict:
    """Peak memory does not grow with the input: the largest run's `peak_rss_mib` within
    `MEMORY_GROWTH_TOLERANCE` of the smallest's. `size` names the runs' size field."""
    growth = largest["peak_rss_mib"] / smallest["peak_rss_mib"] - 1
    sizes = f"{largest[size]:,} vs {smallest[size]:,} {noun}"
    text = f"peak memory does not grow with {noun} ({sizes} within +{MEMORY_GROWTH_TOLERANCE:.0%})"
    unit = "relative growth of peak RSS"
    return goal(
        text, MEMORY_GROWTH_TOLERANCE, round(growth, 4), unit, growth <= MEMORY_GROWTH_TOLERANCE
    )


def table(columns: list[tuple], entries: list[dict]) -> dict:
    """A result's table: one row per entry, from (heading, function of the entry) pairs."""
    rows = [[cell(entry) for _, cell in columns] for entry in entries]
    return {"columns": [heading for heading, _ in columns], "rows": rows}


def rounded(value, scale: float, digits: int):
    """`value * scale` rounded, or None when there is no value."""
    return None if value is None else round(value * scale, digits)


def number(value, spec: str = ",.0f") -> str:
    return "–" if value is None else format(value, spec)


def write_result(result: dict) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{result['name']}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return path


def write_readme() -> str:
    """Rewrite `bench/results/README.md` from every result file there; returns its text."""
    lines = ["# Benchmark results", ""]
    for path in sorted(RESULTS_DIR.glob("*.json")):
        lines += render_result(json.loads(path.read_text()))
    text = "\n".join(lines).rstrip() + "\n"
    (RESULTS_DIR / "README.md").write_text(text)
    return text


def render_result(result: dict) -> list[str]:
    facts = result.get("machine") or {}
    lines = [
        f"## {result.get('title', result.get('name', '?'))}",
        "",
        f"Run {result.get('started_at', '?')} on {facts.get('cpu_count', '?')} CPUs "
        f"({facts.get('cpu_model', '?')}), Python {facts.get('python_version', '?')}, "
        f"PostgreSQL {facts.get('postgresql_server_version', '?').split()[0]}, "
        f"Django {facts.get('django_version', '?')}, commit {facts.get('git_commit') or '?'}"
        f"{' (with local changes)' if facts.get('git_dirty') else ''}.",
        "",
    ]
    if result.get("command"):
        lines += [f"Command: `{result['command']}`", ""]
    if result.get("table"):
        lines += _markdown(result["table"]["columns"], result["table"]["rows"])
    if result.get("goals"):
        verdicts = [
            [g["goal"], _actual(g), "pass" if g["passed"] else "**FAIL**"] for g in result["goals"]
        ]
        lines += _markdown(["goal", "actual", "result"], verdicts)
    lines += [f"- {note}" for note in result.get("notes", [])]
    if result.get("rss_method"):
        lines.append(f"- Peak memory: {result['rss_method']}.")
    return [*lines, ""]


def _actual(goal: dict) -> str:
    unit, actual = goal.get("unit", ""), goal.get("actual")
    if unit == "files/s":
        return f"{actual:,.0f} files/s"
    if unit == "of the bare view":
        return f"{actual:.1%} of the bare view"
    if isinstance(actual, float) and "relative" in unit:
        return f"{actual:+.1%}"
    return f"{actual} {unit}".strip()


def _markdown(columns: list[str], rows: list[list]) -> list[str]:
    out = ["| " + " | ".join(columns) + " |", "|" + "|".join(" --- " for _ in columns) + "|"]
    return [*out, *("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows), ""]
