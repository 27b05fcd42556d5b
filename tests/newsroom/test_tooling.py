"""The checks the house style names are wired up: djhtml on the templates (in `make lint` and
pre-commit), ruff's unused-noqa rule, and `.env.example` naming every variable read."""

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_templates_are_formatted_by_djhtml():
    pytest.importorskip("djhtml", reason="djhtml is not installed: run `make install`")
    result = subprocess.run(
        [sys.executable, "-m", "djhtml", "--tabwidth", "2", "--check", "templates"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr + "\nRun `make format` to reindent them."


@pytest.mark.skipif(shutil.which("make") is None, reason="no `make` on PATH")
def test_make_lint_checks_template_formatting():
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "lint"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "djhtml --tabwidth 2 --check templates" in result.stdout
    assert "ruff check ." in result.stdout and "ruff format --check ." in result.stdout


def test_pre_commit_runs_ruff_ruff_format_and_djhtml():
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert {"ruff", "ruff-format", "djhtml"} <= hooks.keys()
    assert "--tabwidth 2" in hooks["djhtml"]["entry"]  # the same as `make lint`
    for hook in hooks.values():
        tool = hook["entry"].split()[0]
        assert tool.startswith(".venv/bin/"), "hooks run the versions pyproject.toml installs"


def test_ruff_reports_unused_noqa_comments():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "RUF100" in config["tool"]["ruff"]["lint"]["select"]


VARIABLE = re.compile(r'"((?:DJANGO|NEWSROOM|GUNICORN)_[A-Z0-9_]+|DATABASE_URL|REDIS_URL)"')


@pytest.mark.parametrize("source", ["newsroom/settings.py", "gunicorn.conf.py"])
def test_env_example_lists_every_variable_read(source):
    read = set(VARIABLE.findall((ROOT / source).read_text()))
    listed = set(re.findall(r"^([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read, source
    assert not read - listed, f"read by {source} but missing from .env.example"
