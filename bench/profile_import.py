"""Profile of one import, for finding where `import_articles` spends its time (not run by
`make bench`): the command runs in this process under cProfile, on the benchmark database
(recreated), with every SQL statement counted by kind, first on new files, then again on the
same files (all unchanged). Parsing runs in this process unless `--parse-workers` says
otherwise, because cProfile does not see into worker processes.

    .venv/bin/python bench/profile_import.py --files 2000

Prints the top functions by cumulative and by own time and the statements per file, and
writes `bench/results/profile_import_{new,unchanged}.prof` (open with `python -m pstats` or
snakeviz) and `bench/results/profile_import.txt`.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import common
import seedgen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000, help="Files to import (default 2000).")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--top", type=int, default=30, help="Functions listed (default 30).")
    parser.add_argument(
        "--parse-workers",
        type=int,
        default=0,
        help="Passed to the command (default 0: parse in this process, so it is profiled).",
    )
    args = parser.parse_args(argv)

    url = common.database_url()
    common.recreate_database(url)
    common.manage(url, "migrate", "--noinput", "-v", "0")
    os.environ.update(common.command_env(url))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings")
    sys.path.insert(0, str(common.ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    report = io.StringIO()
    common.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="newsroom-profile-") as scratch:
        seedgen.write_seed_files(Path(scratch), args.files, seed=args.seed)
        for label in ("new", "unchanged"):
            statements: Counter[str] = Counter()

            def count(execute, sql, params, many, context, statements=statements):
                statements[sql.split(None, 1)[0].upper()] += 1
                return execute(sql, params, many, context)

            profile = cProfile.Profile()
            started = time.monotonic()
            with connection.execute_wrapper(count):
                profile.runcall(
                    call_command,
                    "import_articles",
                    scratch,
                    section="news",
                    authors=["Bench Reporter"],
                    verbosity=0,
                    parse_workers=args.parse_workers,
                    stdout=io.StringIO(),
                )
            wall = time.monotonic() - started
            profile.dump_stats(common.RESULTS_DIR / f"profile_import_{label}.prof")

            total = sum(statements.values())
            print(f"## {label}: {args.files:,} files in {wall:.2f} s under cProfile", file=report)
            print(
                f"SQL statements: {total:,} ({total / args.files:.2f} per file): "
                + ", ".join(
                    f"{kind} {n:,} ({n / args.files:.2f}/file)"
                    for kind, n in statements.most_common()
                ),
                file=report,
            )
            for sort in ("cumulative", "tottime"):
                print(f"\nTop {args.top} by {sort}:", file=report)
                stats = pstats.Stats(profile, stream=report)
                stats.sort_stats(sort).print_stats(args.top)

    text = report.getvalue()
    (common.RESULTS_DIR / "profile_import.txt").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
