"""What the Makefile's `run` target does, run for real against stand-in commands (a fake
virtualenv), so nothing is installed, migrated or served."""

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAKE = shutil.which("make")
pytestmark = pytest.mark.skipif(
    MAKE is None, reason="no `make` on PATH (Debian: apt-get install make)"
)

RECORDER = """#!/bin/sh
echo "$(basename "$0") $* | site=${NEWSROOM_SITE_URL-} media=${NEWSROOM_SERVE_MEDIA-}" >> "$LOG"
"""


def executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def clean_env(**extra) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSROOM_", "MAKE"))}
    return {**keep, **extra}


def make_run(tmp_path: Path, *args: str, **env) -> list[str]:
    """The commands `make run` starts, each with the site URL and media setting it was given."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    for name in ("python", "gunicorn"):
        executable(venv / "bin" / name, RECORDER)
    (venv / ".installed").touch()  # newer than pyproject.toml: nothing to install
    log = tmp_path / "commands.log"
    subprocess.run(
        [MAKE, "--no-print-directory", "run", f"VENV={venv}", *args],
        cwd=ROOT,
        env=clean_env(LOG=str(log), **env),
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return log.read_text().splitlines()


def served(lines: list[str]) -> str:
    return next(line for line in lines if line.startswith("gunicorn "))


def test_make_run_site_url_and_media_follow_host_and_port(tmp_path):
    lines = make_run(tmp_path, "PORT=8101")
    assert "--bind 127.0.0.1:8101" in served(lines)
    assert served(lines).endswith("| site=http://127.0.0.1:8101 media=1")
    # The demo setup (which prints links) and the worker (which mails them) are told too.
    setup = next(line for line in lines if "manage.py setup_demo" in line)
    assert setup.endswith("| site=http://127.0.0.1:8101 media=1")

    other = make_run(tmp_path / "other", "HOST=localhost", "PORT=9000")
    assert served(other).endswith("| site=http://localhost:9000 media=1")


def test_make_run_keeps_a_site_url_and_media_setting_given_to_it(tmp_path):
    lines = make_run(
        tmp_path, "PORT=8101", NEWSROOM_SITE_URL="https://racket.example", NEWSROOM_SERVE_MEDIA="0"
    )
    assert "--bind 127.0.0.1:8101" in served(lines)
    assert served(lines).endswith("| site=https://racket.example media=0")

