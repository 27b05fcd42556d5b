"""The results: the machine's facts, goals and tables, and `bench/results/NAME.json`, from all of
which `bench/results/README.md` is rendered."""

import json
import os
import platform
import re
import subprocess
from pathlib import Path

import django

from . import RESULTS_DIR, ROOT
from .commands import query

MEMORY_GROWTH_TOLERANCE = 0.10


def machine_facts(url: str, **extra: str) -> dict:
    """What the figures depend on: hardware, interpreter, database server, code version."""
    cpu, memory = Path("/proc/cpuinfo").read_text(), Path("/proc/meminfo").read_text()

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout

    return {
        "cpu_count": os.cpu_count(), "cpu_model": re.search(r"model name\s*: (.*)", cpu)[1],
        "memory_total_mib": int(re.search(r"MemTotal:\s+(\d+)", memory)[1]) // 1024,
        "platform": platform.platform(), "python_version": platform.python_version(),
        "postgresql_server_version": query(url, "SHOW server_version")[0][0],
        "django_version": django.get_version(),
        "git_commit": git("rev-parse", "--short", "HEAD").strip(),
        "git_dirty": bool(git("status", "--porcelain", "--untracked-files=no").strip()), **extra,
    }  # fmt: skip


def goal(text: str, target, actual, unit: str, passed=None, *, most=False, digits=None) -> dict:
    """Met if `passed`, or by default if `actual` ≥ `target` (≤ with `most`); shown to `digits`."""
    passed = (actual <= target if most else actual >= target) if passed is None else passed
    actual = actual if digits is None else round(actual, digits)
    return {"goal": text, "target": target, "actual": actual, "unit": unit, "passed": passed}


def memory_growth_goals(runs: list[dict], noun: str) -> list[dict]:
    """With two runs or more: the last's `peak_rss_mib` within the tolerance of the first's (the
    runs' sizes are their `noun`)."""
    if len(runs) < 2:
        return []
    first, last, limit = runs[0], runs[-1], MEMORY_GROWTH_TOLERANCE
    growth = last["peak_rss_mib"] / first["peak_rss_mib"] - 1
    text = f"peak memory does not grow with {noun} ({last[noun]:,} vs {first[noun]:,} {noun}"
    return [goal(f"{text} within +{limit:.0%})", limit, growth, "relative growth of peak RSS",
                 most=True, digits=4)]  # fmt: skip


def table(columns: list[tuple], entries: list[dict]) -> dict:
    """A result's table: one row per entry, from (heading, function of the entry) pairs."""
    rows = [[cell(entry) for _, cell in columns] for entry in entries]
    return {"columns": [heading for heading, _ in columns], "rows": rows}


def number(value, spec: str = ",.0f") -> str:
    return "–" if value is None else format(value, spec)


def spread(figures: dict, spec: str = "") -> str:
    """`load.percentiles`' figures in seconds: "p50 … s, p99 … s, max … s"."""
    return ", ".join(f"{name} {value:{spec}} s" for name, value in figures.items())


def cells(columns: list[tuple], entry: dict) -> str:
    """An entry as a line of progress: "heading cell, heading cell…"."""
    return ", ".join(f"{heading} {cell(entry)}" for heading, cell in columns)


def write(result: dict) -> str:
    """Write `bench/results/NAME.json`, then `bench/results/README.md` from every result there;
    returns the README."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2, ensure_ascii=False)
    (RESULTS_DIR / f"{result['name']}.json").write_text(text + "\n")
    lines = ["# Benchmark results", ""]
    for path in sorted(RESULTS_DIR.glob("*.json")):
        lines += _section(json.loads(path.read_text()))
    (RESULTS_DIR / "README.md").write_text(text := "\n".join(lines).rstrip() + "\n")
    return text


def _section(result: dict) -> list[str]:
    """A result's section: when and where it ran, method, command, table, goals and notes."""
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
    lines += [result["method"], ""] if result.get("method") else []
    lines += [f"Command: `{result['command']}`", ""] if result.get("command") else []
    if result.get("table"):
        lines += _markdown(result["table"]["columns"], result["table"]["rows"])
    goals = [
        [g["goal"], _actual(g), "pass" if g["passed"] else "**FAIL**"] for g in result["goals"]
    ]
    lines += _markdown(["goal", "actual", "result"], goals) if goals else []
    lines += [f"- {note}" for note in result.get("notes", [])]
    lines += [f"- Peak memory: {result['rss_method']}."] if result.get("rss_method") else []
    return [*lines, ""]


def _actual(goal: dict) -> str:
    unit, actual = goal.get("unit", ""), goal.get("actual")
    spec = {"files/s": ",.0f", "of the bare view": ".1%"}.get(unit)
    spec = spec or ("+.1%" if isinstance(actual, float) and "relative" in unit else "")
    return f"{actual:{spec}}" + ("" if "relative" in unit else f" {unit}".rstrip())


def _markdown(columns: list[str], rows: list[list]) -> list[str]:
    out = ["| " + " | ".join(columns) + " |", "|" + "|".join(" --- " for _ in columns) + "|"]
    return [*out, *("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows), ""]
