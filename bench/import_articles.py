"""Benchmark: `manage.py import_articles` on PostgreSQL, new files and an unchanged re-import.

For each size (1,000 and 10,000 files) the benchmark database is recreated, that many seed-format
files are generated (`bench/lib/seedgen.py`, deterministic), and the real command is timed as a
child process, start-up included; its peak memory is taken, and the rows are checked, so that
an import that silently did nothing fails. The largest size is imported again, every file
unchanged, which must write nothing; an empty directory gives the start-up cost.

Goals (from the issue): at least 1,000 files a second, and a peak memory (the command and its
worker processes together) within 10 % at the largest size of that at the smallest.
"""

import re
import shutil
import tempfile
import time
from pathlib import Path

from bench.lib import MANAGE, PYTHON, BenchError, report, seedgen, sizes
from bench.lib.commands import command_env, run_measured
from bench.lib.database import database_name, database_url, fresh_database, query

NAME = "import_articles"
TITLE = "Import: manage.py import_articles into PostgreSQL"
GOAL = 1_000  # files a second
SECTION, AUTHOR = "news", "Bench Reporter"
COMMAND = f'manage.py import_articles DIR --section {SECTION} --author "{AUTHOR}" -v 0'
SUMMARY = re.compile(
    r"(?P<created>\d+) created, (?P<updated>\d+) updated, (?P<unchanged>\d+) unchanged, "
    r"(?P<failed>\d+) failed \((?P<total>\d+) files?\)"
)


def add_arguments(group) -> None:
    group.add_argument(
        "--sizes", type=sizes, default=(1_000, 10_000), metavar="N[,N…]",
        help="Numbers of files to import, each into a fresh database (default: 1000,10000).",
    )  # fmt: skip
    group.add_argument("--seed", type=int, default=2026, help="Seed of the files (default: 2026).")


def run(args) -> dict:
    url = database_url()
    fresh_database(url)
    facts = report.machine_facts(url)
    with tempfile.TemporaryDirectory(prefix="newsroom-bench-") as scratch:
        (Path(scratch) / "empty").mkdir()
        runs = [_import(url, Path(scratch) / "empty", created=0, unchanged=0, label="start-up")]
        for size in args.sizes:
            runs += _import_size(url, Path(scratch) / f"files-{size}", size, args)
    startup = runs[0]["wall_seconds"]
    for entry in runs:
        entry["startup_seconds"] = startup
        if entry["files"]:
            work = entry["wall_seconds"] - startup
            entry["files_per_second"] = round(entry["files"] / entry["wall_seconds"], 1)
            after = round(entry["files"] / work, 1) if work > 0 else None
            entry["files_per_second_after_startup"] = after
            entry["ms_per_file"] = round(1000 * entry["wall_seconds"] / entry["files"], 3)
    return {
        "command": COMMAND,
        "database": database_name(url),
        "machine": facts,
        "settings": {"sizes": list(args.sizes), "seed": args.seed},
        "rss_method": "all processes: the resident memory of the command and its worker "
        "processes, summed from /proc every 20 ms, largest sum; largest process: "
        + runs[0]["rss_method"],
        "runs": runs,
        "goals": _goals(runs),
        "table": report.table(COLUMNS, runs),
        "notes": [
            "Wall time is the whole command, Python start-up and Django set-up included; "
            "files/s after start-up subtracts the empty-directory run.",
            "CPU s is user + system time of the command and its worker processes (not the "
            "database server's); load before is the 1-minute load average when the run "
            "started: other work on the machine slows the figures down.",
            "All-or-nothing per file is a constraint, not a measurement: the command runs "
            "as it is, with its default options (batch size, parse workers).",
        ],
    }


def _import_size(url: str, directory: Path, size: int, args) -> list[dict]:
    """New files into a fresh database; for the largest size, the same files again."""
    fresh_database(url)
    directory.mkdir()
    generated = time.monotonic()
    size_bytes = seedgen.write_seed_files(directory, size, seed=args.seed)
    generated = time.monotonic() - generated
    print(f"  {size:,} files generated ({size_bytes / 1e6:.1f} MB, {generated:.1f} s)")
    first = _import(url, directory, created=size, unchanged=0, label="new")
    first["mean_file_bytes"] = round(size_bytes / size)
    _check_rows(url, size)
    runs = [first]
    if size == max(args.sizes):
        latest = "SELECT max(updated_at), count(*) FROM articles_article"
        stamp = query(url, latest)
        runs.append(_import(url, directory, created=0, unchanged=size, label="unchanged"))
        _check_rows(url, size)
        if query(url, latest) != stamp:
            raise BenchError("the unchanged re-import wrote to the articles")
    shutil.rmtree(directory)  # free the disk before the next size
    return runs


def _import(url: str, directory: Path, *, created: int, unchanged: int, label: str) -> dict:
    """One timed run of the command; it must report exactly the outcomes expected."""
    args = [PYTHON, MANAGE, "import_articles", str(directory), "--section", SECTION]
    measured = run_measured([*args, "--author", AUTHOR, "-v", "0"], env=command_env(url))
    if measured.returncode:
        raise BenchError(
            f"import_articles exited with {measured.returncode}:\n"
            f"{measured.stdout[-2000:]}{measured.stderr[-2000:]}"
        )
    match = SUMMARY.search(measured.stdout)
    if match is None:
        raise BenchError(f"no summary in the command's output: {measured.stdout!r}")
    counts = {key: int(value) for key, value in match.groupdict().items()}
    expected = {"created": created, "updated": 0, "unchanged": unchanged, "failed": 0}
    if counts != {**expected, "total": created + unchanged}:
        raise BenchError(f"the command reported {counts}, expected {expected}")
    entry = {
        "run": label,
        "files": counts["total"],
        "outcomes": {key: counts[key] for key in expected},
        "wall_seconds": round(measured.wall_seconds, 3),
        "peak_rss_mib": round(measured.peak_tree_rss_kib / 1024, 1),
        "peak_rss_largest_process_mib": round(measured.peak_rss_kib / 1024, 1),
        "max_processes": measured.max_processes,
        "cpu_seconds": round(measured.cpu_seconds, 2),
        "load_average_before": round(measured.load_before, 2),
        "rss_method": measured.rss_method,
    }
    print(
        f"  {label}: {entry['files']:,} files in {measured.wall_seconds:.2f} s, peak RSS "
        f"{entry['peak_rss_mib']:.1f} MiB in {entry['max_processes']} processes "
        f"(largest process {entry['peak_rss_largest_process_mib']:.1f} MiB)"
    )
    return entry


def _check_rows(url: str, expected: int) -> None:
    """One published article per file, in the section, with the byline: the import happened."""
    sql = """
        SELECT (SELECT count(*) FROM articles_article),
            (SELECT count(*) FROM articles_article a JOIN articles_section s
                ON s.id = a.section_id WHERE s.slug = %s),
            (SELECT count(*) FROM articles_article
                WHERE status = 'published' AND published_at IS NOT NULL),
            (SELECT count(*) FROM articles_article_authors aa JOIN accounts_author au
                ON au.id = aa.author_id WHERE au.name = %s)
    """
    counts = query(url, sql, (SECTION, AUTHOR))[0]
    found = dict(zip(("articles", "in_section", "published", "bylines"), counts, strict=True))
    if set(found.values()) != {expected}:
        raise BenchError(f"expected {expected} of each in the database, found {found}")


def _goals(runs: list[dict]) -> list[dict]:
    goals = []
    for entry in (entry for entry in runs if entry["files"]):
        text, rate = (
            f"≥ {GOAL:,} files/s ({entry['run']}, {entry['files']:,} files)",
            entry["files_per_second"],
        )
        goals.append(report.goal(text, GOAL, rate, "files/s", rate >= GOAL))
    created = [entry for entry in runs if entry["run"] == "new"]
    if len(created) >= 2:
        goals.append(report.memory_growth_goal(created[0], created[-1], size="files", noun="files"))
    return goals


COLUMNS = [
    ("run", lambda e: e["run"]),
    ("files", lambda e: f"{e['files']:,}"),
    ("wall s", lambda e: f"{e['wall_seconds']:.2f}"),
    ("files/s", lambda e: report.number(e.get("files_per_second"))),
    ("files/s after start-up", lambda e: report.number(e.get("files_per_second_after_startup"))),
    ("ms/file", lambda e: report.number(e.get("ms_per_file"), ".2f")),
    ("peak RSS MiB (all processes)", lambda e: f"{e['peak_rss_mib']:.1f}"),
    ("largest process MiB", lambda e: f"{e['peak_rss_largest_process_mib']:.1f}"),
    ("processes", lambda e: str(e["max_processes"])),
    ("CPU s", lambda e: f"{e['cpu_seconds']:.1f}"),
    ("load before", lambda e: f"{e['load_average_before']:.1f}"),
]
