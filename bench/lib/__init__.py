"""What the benchmarks share: commands and databases (`commands`), requests, wrk and their
figures (`load`), the servers (`servers`), results (`report`), stories (`seedgen`, `stories`)."""

import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent.parent
ROOT, RESULTS_DIR = BENCH_DIR.parent, BENCH_DIR / "results"
MANAGE, PYTHON = str(ROOT / "manage.py"), sys.executable  # make bench runs .venv/bin/python
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


class BenchError(RuntimeError):
    """The benchmark could not measure what it claims to (a check failed, a command failed)."""
