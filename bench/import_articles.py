"""Benchmark: `manage.py import_articles` on PostgreSQL, new files and an unchanged re-import.

For each size (1,000 and 10,000 files by default) it recreates the benchmark database, migrates
it, writes that many synthetic seed-format files (`seedgen.py`, deterministic) into a temporary
directory and times the real command as a child process:

    manage.py import_articles DIR --section news --author "Bench Reporter" -v 0

It measures the command's wall time (interpreter start-up and Django set-up included; generating
files and migrating are not) and its peak resident memory, then checks the rows in the database
(one article per file, each with the section and byline) so that an import that silently did
nothing fails the benchmark. The largest size is then imported a second time, every file
"unchanged", and timed the same way. A run on an empty directory gives the fixed start-up cost.

Goals (from the issue): at least 1,000 files a second, each file still all-or-nothing (the
command is run as it is, so that holds as far as the importer keeps it), and a peak memory that
does not grow with the number of files (the command and any worker processes it starts,
together, within 10 % at the largest size of the figure at the smallest).
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from pathlib import Path

import common
import seedgen

NAME = "import_articles"
TITLE = "Import: manage.py import_articles into PostgreSQL"
DEFAULT_SIZES = (1_000, 10_000)
GOAL_FILES_PER_SECOND = 1_000
# Peak memory "does not grow" when the largest size stays within this fraction of the smallest.
SECTION = "news"
AUTHOR = "Bench Reporter"
SUMMARY = re.compile(
    r"(?P<created>\d+) created, (?P<updated>\d+) updated, (?P<unchanged>\d+) unchanged, "
    r"(?P<failed>\d+) failed \((?P<total>\d+) files?\)"
)


def add_arguments(parser) -> None:
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=DEFAULT_SIZES,
        metavar="N[,N…]",
        help="Numbers of files to import, each into a fresh database (default: 1000,10000).",
    )
    parser.add_argument(
        "--seed", type=int, default=2026, help="Seed of the generated files (default: 2026)."
    )


def _sizes(text: str) -> tuple[int, ...]:
    sizes = tuple(sorted({int(part.replace("_", "")) for part in text.split(",") if part}))
    if not sizes or min(sizes) < 1:
        raise ValueError("sizes must be positive integers")
    return sizes


def run(args) -> dict:
    url = common.database_url()
    started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    common.recreate_database(url)
    common.manage(url, "migrate", "--noinput", "-v", "0")
    facts = common.machine_facts(url)

    runs = []
    with tempfile.TemporaryDirectory(prefix="newsroom-bench-") as scratch:
        empty = Path(scratch) / "empty"
        empty.mkdir()
        startup = _import(url, empty, expect_created=0, expect_unchanged=0, label="start-up")
        runs.append(startup)

        for size in args.sizes:
            common.recreate_database(url)
            common.manage(url, "migrate", "--noinput", "-v", "0")
            directory = Path(scratch) / f"files-{size}"
            directory.mkdir()
            generated = time.monotonic()
            size_bytes = seedgen.write_seed_files(directory, size, seed=args.seed)
            generated = time.monotonic() - generated
            print(f"  {size:,} files generated ({size_bytes / 1e6:.1f} MB, {generated:.1f} s)")

            first = _import(url, directory, expect_created=size, expect_unchanged=0, label="new")
            first["mean_file_bytes"] = round(size_bytes / size)
            runs.append(first)
            _check_rows(url, size)

            if size == max(args.sizes):
                stamp = _latest_update(url)
                again = _import(
                    url, directory, expect_created=0, expect_unchanged=size, label="unchanged"
                )
                runs.append(again)
                _check_rows(url, size)
                if _latest_update(url) != stamp:
                    raise common.BenchError("the unchanged re-import wrote to the articles")
            shutil.rmtree(directory)  # free the disk before the next size

    startup_seconds = startup["wall_seconds"]
    for entry in runs:
        entry["startup_seconds"] = startup_seconds
        if entry["files"]:
            work = entry["wall_seconds"] - startup_seconds
            entry["files_per_second"] = round(entry["files"] / entry["wall_seconds"], 1)
            entry["files_per_second_after_startup"] = (
                round(entry["files"] / work, 1) if work > 0 else None
            )
            entry["ms_per_file"] = round(1000 * entry["wall_seconds"] / entry["files"], 3)

    return {
        "name": NAME,
        "title": TITLE,
        "started_at": started_at,
        "command": (f'manage.py import_articles DIR --section {SECTION} --author "{AUTHOR}" -v 0'),
        "database": common.database_name(url),
        "machine": facts,
        "settings": {"sizes": list(args.sizes), "seed": args.seed},
        "rss_method": (
            "all processes: the resident memory of the command and its worker processes, "
            "summed from /proc every 20 ms, largest sum; largest process: " + startup["rss_method"]
        ),
        "runs": runs,
        "goals": _goals(runs),
        "table": _table(runs),
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


def _import(url, directory, *, expect_created, expect_unchanged, label) -> dict:
    args = [
        common.PYTHON,
        str(common.MANAGE),
        "import_articles",
        str(directory),
        "--section",
        SECTION,
        "--author",
        AUTHOR,
        "-v",
        "0",
    ]
    measured = common.run_measured(args, env=common.command_env(url))
    if measured.returncode:
        raise common.BenchError(
            f"import_articles exited with {measured.returncode}:\n"
            f"{measured.stdout[-2000:]}{measured.stderr[-2000:]}"
        )
    match = SUMMARY.search(measured.stdout)
    if match is None:
        raise common.BenchError(f"no summary in the command's output: {measured.stdout!r}")
    counts = {key: int(value) for key, value in match.groupdict().items()}
    expected = {
        "created": expect_created,
        "updated": 0,
        "unchanged": expect_unchanged,
        "failed": 0,
        "total": expect_created + expect_unchanged,
    }
    if counts != expected:
        raise common.BenchError(f"the command reported {counts}, expected {expected}")
    files = counts["total"]
    print(
        f"  {label}: {files:,} files in {measured.wall_seconds:.2f} s, peak RSS "
        f"{measured.peak_tree_rss_kib / 1024:.1f} MiB in {measured.max_processes} processes "
        f"(largest process {measured.peak_rss_kib / 1024:.1f} MiB)"
    )
    return {
        "run": label,
        "files": files,
        "outcomes": {key: counts[key] for key in ("created", "updated", "unchanged", "failed")},
        "wall_seconds": round(measured.wall_seconds, 3),
        "peak_rss_mib": round(measured.peak_tree_rss_kib / 1024, 1),
        "peak_rss_largest_process_mib": round(measured.peak_rss_kib / 1024, 1),
        "max_processes": measured.max_processes,
        "cpu_seconds": round(measured.cpu_seconds, 2),
        "load_average_before": round(measured.load_before, 2),
        "rss_method": measured.rss_method,
    }


def _check_rows(url: str, expected: int) -> None:
    """One published article per file, in the section, with the byline: the import happened."""
    (articles, in_section, published, bylines) = common.query(
        url,
        """
        SELECT
            (SELECT count(*) FROM articles_article),
            (SELECT count(*) FROM articles_article a JOIN articles_section s
                ON s.id = a.section_id WHERE s.slug = %s),
            (SELECT count(*) FROM articles_article
                WHERE status = 'published' AND published_at IS NOT NULL),
            (SELECT count(*) FROM articles_article_authors aa JOIN accounts_author au
                ON au.id = aa.author_id WHERE au.name = %s)
        """,
        (SECTION, AUTHOR),
    )[0]
    found = {
        "articles": articles,
        "in_section": in_section,
        "published": published,
        "bylines": bylines,
    }
    if set(found.values()) != {expected}:
        raise common.BenchError(f"expected {expected} of each in the database, found {found}")


def _latest_update(url: str):
    return common.query(url, "SELECT max(updated_at), count(*) FROM articles_article")[0]


def _goals(runs: list[dict]) -> list[dict]:
    goals = []
    for entry in runs:
        if not entry["files"]:
            continue
        goals.append(
            {
                "goal": f"≥ {GOAL_FILES_PER_SECOND:,} files/s ({entry['run']}, "
                f"{entry['files']:,} files)",
                "target": GOAL_FILES_PER_SECOND,
                "actual": entry["files_per_second"],
                "unit": "files/s",
                "passed": entry["files_per_second"] >= GOAL_FILES_PER_SECOND,
            }
        )
    created = [entry for entry in runs if entry["run"] == "new"]
    if len(created) >= 2:
        goals.append(common.memory_growth_goal(created[0], created[-1], size="files", noun="files"))
    return goals


def _table(runs: list[dict]) -> dict:
    columns = [
        "run",
        "files",
        "wall s",
        "files/s",
        "files/s after start-up",
        "ms/file",
        "peak RSS MiB (all processes)",
        "largest process MiB",
        "processes",
        "CPU s",
        "load before",
    ]
    rows = [
        [
            entry["run"],
            f"{entry['files']:,}",
            f"{entry['wall_seconds']:.2f}",
            _number(entry.get("files_per_second")),
            _number(entry.get("files_per_second_after_startup")),
            f"{entry['ms_per_file']:.2f}" if "ms_per_file" in entry else "–",
            f"{entry['peak_rss_mib']:.1f}",
            f"{entry['peak_rss_largest_process_mib']:.1f}",
            str(entry["max_processes"]),
            f"{entry['cpu_seconds']:.1f}",
            f"{entry['load_average_before']:.1f}",
        ]
        for entry in runs
    ]
    return {"columns": columns, "rows": rows}


def _number(value) -> str:
    return "–" if value is None else f"{value:,.0f}"
