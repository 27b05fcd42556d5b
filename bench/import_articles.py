"""Benchmark: `manage.py import_articles` on PostgreSQL, new files and an unchanged re-import.

For 1,000 and 10,000 files (`bench/lib/seedgen.py`, deterministic), each into a recreated
database, the real command (published stories, else its default options) is timed as a child
process: wall time with start-up (files/s after start-up subtracts an empty-directory run), peak
memory of its largest process and of it with its workers, their CPU time, the load average
before. Its summary and the rows are checked; the largest size is imported again, unchanged,
which must write nothing. The largest size's new import runs three times (`--import-rounds`),
the machine's speed varying from one to the next. Goals (from the issue): ≥ 1,000 files/s at the
largest size, the median, start-up included (a small import is bound by the command's start-up,
a second of it), and peak memory at the largest size within 10 % of the smallest's.
"""

import re
import shutil
import tempfile
import time
from pathlib import Path

from bench.lib import MANAGE, PYTHON, BenchError, commands, load, report, seedgen
from bench.lib.commands import RSS_METHOD, database_url, fresh_database

NAME = "import_articles"
TITLE = "Import: manage.py import_articles into PostgreSQL"
GOAL = 1_000  # files a second
SECTION, AUTHOR = "news", "Bench Reporter"
OPTIONS = ["--section", SECTION, "--author", AUTHOR, "--status", "published", "-v", "0"]
COMMAND = f"manage.py import_articles DIR {' '.join(OPTIONS)}".replace(AUTHOR, f'"{AUTHOR}"')
ARGUMENTS = {
    "--sizes": ((1000, 10000), "Files to import, each into a new database (1000,10000)."),
    "--import-rounds": (3, "New imports of the largest size, the median its figure (3)."),
}
SUMMARY = re.compile(
    r"(?P<created>\d+) created, (?P<updated>\d+) updated, (?P<unchanged>\d+) unchanged, "
    r"(?P<failed>\d+) failed \((?P<total>\d+) files?\)"
)


def run(args) -> dict:
    url = database_url()
    fresh_database(url)
    facts = report.machine_facts(url)
    with tempfile.TemporaryDirectory(prefix="newsroom-bench-") as scratch:
        (empty := Path(scratch) / "empty").mkdir()
        runs = [_import(url, empty, created=0, unchanged=0, label="start-up")]
        for size in args.sizes:
            (directory := Path(scratch) / f"files-{size}").mkdir()
            generated, size_bytes = time.monotonic(), seedgen.write_seed_files(directory, size)
            seconds = time.monotonic() - generated
            print(f"  {size:,} files ({size_bytes / 1e6:.1f} MB) in {seconds:.1f} s")
            for _ in range(args.import_rounds if size == max(args.sizes) else 1):
                fresh_database(url)
                runs.append(_import(url, directory, created=size, unchanged=0, label="new"))
                runs[-1]["mean_file_bytes"] = round(size_bytes / size)
                stamp = _check_rows(url, size)
            if size == max(args.sizes):  # the same files again
                runs.append(_import(url, directory, created=0, unchanged=size, label="unchanged"))
                if _check_rows(url, size) != stamp:
                    raise BenchError("the unchanged re-import wrote to the articles")
            shutil.rmtree(directory)  # free the disk before the next size
    startup, largest = runs[0]["wall_seconds"], max(args.sizes)
    for entry in runs:
        files, wall, entry["startup_seconds"] = entry["files"], entry["wall_seconds"], startup
        if files:
            entry["files_per_second"] = round(files / wall, 1)
            after = round(files / (wall - startup), 1) if wall > startup else None
            entry["files_per_second_after_startup"] = after
            entry["ms_per_file"] = round(1000 * wall / files, 3)
    goals = []
    for label in ("new", "unchanged"):  # the median of the largest size's rounds
        rate = load.median([e for e in runs if (e["run"], e["files"]) == (label, largest)],
                           "files_per_second")  # fmt: skip
        text = f"≥ {GOAL:,} files/s ({label}, {largest:,} files{', median' * (label == 'new')})"
        goals.append(report.goal(text, GOAL, rate, "files/s"))
    new = [e for e in runs if e["run"] == "new"]
    peaks = [max((e for e in new if e["files"] == n), key=lambda e: e["peak_rss_mib"])
             for n in (min(args.sizes), largest)]  # fmt: skip
    goals += report.memory_growth_goals(peaks, "files")
    rss = "all processes: the resident memory of the command and its workers, summed from /proc"
    return {
        "command": COMMAND, "database": url.rsplit("/", 1)[-1], "machine": facts,
        "rss_method": f"{rss} every 20 ms, largest sum; largest process: {RSS_METHOD}",
        "settings": {"sizes": list(args.sizes), "seed": seedgen.SEED}, "runs": runs,
        "goals": goals, "table": report.table(COLUMNS, runs),
    }  # fmt: skip


def _import(url: str, directory: Path, *, created: int, unchanged: int, label: str) -> dict:
    """One timed run of the command; it must report exactly the outcomes expected."""
    args = [PYTHON, MANAGE, "import_articles", str(directory), *OPTIONS]
    m = commands.run_measured(args, env=commands.command_env(url), what="import_articles")
    if not (match := SUMMARY.search(m.stdout)):
        raise BenchError(f"no summary from import_articles:\n{m.stdout[-2000:]}{m.stderr[-2000:]}")
    counts = {key: int(value) for key, value in match.groupdict().items()}
    expected = {"created": created, "updated": 0, "unchanged": unchanged, "failed": 0}
    if counts != {**expected, "total": created + unchanged}:
        raise BenchError(f"the command reported {counts}, expected {expected}")
    entry = {"run": label, "files": counts["total"], "outcomes": {k: counts[k] for k in expected}}
    entry |= {"wall_seconds": round(m.wall_seconds, 3), "peak_rss_mib": m.peak_tree_rss_mib}
    entry |= {"peak_rss_largest_process_mib": m.peak_rss_mib, "max_processes": m.max_processes}
    entry["cpu_seconds"] = round(m.cpu_seconds, 2)
    entry["load_average_before"] = round(m.load_before, 2)
    print(f"  {label}: " + report.cells([c for c in COLUMNS[1:] if "/" not in c[0]], entry))
    return entry | {"rss_method": RSS_METHOD}


def _check_rows(url: str, expected: int) -> tuple:
    """One published article per file, in the section, with the byline; the latest change."""
    sql = """SELECT count(*), count(*) FILTER (WHERE s.slug = %s), count(*) FILTER (WHERE
        a.status = 'published' AND a.published_at IS NOT NULL), (SELECT count(*) FROM
        articles_article_authors aa JOIN accounts_author au ON au.id = aa.author_id WHERE
        au.name = %s), max(a.updated_at) FROM articles_article a JOIN articles_section s
        ON s.id = a.section_id"""
    *counts, latest = commands.query(url, sql, (SECTION, AUTHOR))[0]
    found = dict(zip(("articles", "in_section", "published", "bylines"), counts, strict=True))
    if set(found.values()) != {expected}:
        raise BenchError(f"expected {expected} of each in the database, found {found}")
    return latest


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
