"""manage.py without the settings it needs says what to set, in one line, instead of a
traceback; asking it for help needs nothing."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("command", [["migrate"], ["import_articles", "x.txt"], ["shell"]])
def test_a_command_without_a_secret_key_says_what_to_set_in_one_line(command):
    result = manage(*command)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"manage.py {command[0]}: Set DJANGO_SECRET_KEY")
    assert "export DJANGO_SECRET_KEY=" in lines[0]


@pytest.mark.parametrize("args", [[], ["--help"], ["help"], ["--version"]])
def test_help_and_version_need_no_secret_key(args):
    result = manage(*args)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "DJANGO_SECRET_KEY" not in result.stderr
    if args != ["--version"]:
        assert "import_articles" in result.stdout  # the project's own commands are listed
