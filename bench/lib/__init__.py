"""What the benchmarks share: commands and databases (`commands`), requests, wrk and their
figures (`load`), the servers (`servers`), results (`report`), stories (`seedgen`, `stories`)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS_DIR, MANAGE, PYTHON = ROOT / "bench" / "results", str(ROOT / "manage.py"), sys.executable


class BenchError(RuntimeError):
    """The benchmark could not measure what it claims to (a check failed, a command failed)."""
