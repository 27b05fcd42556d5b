"""What the Makefile's `run` and `system-packages` targets do, run for real against stand-in
commands (a fake virtualenv, fake dpkg), so nothing is installed, migrated or served."""

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


def system_packages(tmp_path: Path, *, installed: set[str], commands: set[str]) -> str:
    """`make system-packages` as a non-root user on a machine with `installed` Debian packages
    and `commands` on PATH (nothing else: the real java, dpkg and apt-get are out of reach)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    packages = " ".join(sorted(installed))
    executable(
        bin_dir / "dpkg",
        f'#!/bin/bash\nfor p in {packages}; do [ "$2" = "$p" ] && exit 0; done; exit 1\n',
    )
    executable(bin_dir / "id", "#!/bin/bash\necho 1000\n")
    for command in commands:
        executable(bin_dir / command, "#!/bin/bash\nexit 0\n")
    result = subprocess.run(
        [MAKE, "--no-print-directory", "system-packages"],
        cwd=ROOT,
        env={**clean_env(), "PATH": str(bin_dir)},
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.stdout


BASE = {"chromium", "fonts-liberation", "nginx-light", "varnish", "varnish-modules", "wrk", "time"}


def test_system_packages_wants_a_java_runtime_for_the_html_checker(tmp_path):
    out = system_packages(tmp_path, installed=BASE, commands=set())
    assert "Missing: default-jre-headless." in out


def test_system_packages_takes_any_java_already_on_path(tmp_path):
    out = system_packages(tmp_path, installed=BASE, commands={"java"})
    assert out.startswith("System packages present:")
    out = system_packages(
        tmp_path / "deb", installed=BASE | {"default-jre-headless"}, commands=set()
    )
    assert out.startswith("System packages present:")
