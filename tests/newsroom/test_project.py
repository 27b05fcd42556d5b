"""Project-wide checks: settings from the environment, migrations, CI's database."""

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


def settings_value(expression: str, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    return subprocess.run(
        [sys.executable, "-c", f"from newsroom import settings as s; print({expression})"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_debug_is_off_and_sqlite_is_the_default_without_environment():
    result = settings_value("s.DEBUG, s.DATABASES['default']['ENGINE']", DJANGO_SECRET_KEY="x")
    assert result.stdout.strip() == "False django.db.backends.sqlite3"


def test_a_secret_key_is_required_unless_debugging():
    assert "Set DJANGO_SECRET_KEY" in settings_value("1").stderr
    assert settings_value("s.DEBUG", DJANGO_DEBUG="true").stdout.strip() == "True"


def test_database_url_selects_postgresql():
    result = settings_value(
        "s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME']",
        DJANGO_SECRET_KEY="x",
        DATABASE_URL="postgres://u@127.0.0.1:5432/paper",
    )
    assert result.stdout.strip() == "django.db.backends.postgresql paper"


@pytest.mark.django_db
def test_models_and_migrations_agree():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_ci_runs_against_postgresql():
    if os.environ.get("CI", "").lower() != "true":
        pytest.skip("only meaningful under CI=true, where DATABASE_URL names PostgreSQL")
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def test_custom_user_model_is_in_the_first_migration():
    first = (ROOT / "accounts" / "migrations" / "0001_initial.py").read_text()
    assert settings.AUTH_USER_MODEL == "accounts.User"
    assert "name='User'" in first


def test_a_named_bucket_puts_media_on_s3_compatible_storage():
    result = settings_value(
        "s.STORAGES['default']['BACKEND'], s.STORAGES['default']['OPTIONS']['bucket_name']",
        DJANGO_SECRET_KEY="x",
        NEWSROOM_S3_BUCKET="racket-media",
        NEWSROOM_S3_ENDPOINT_URL="http://127.0.0.1:9000",
    )
    assert result.stdout.strip() == "storages.backends.s3.S3Storage racket-media"
    local = settings_value("s.STORAGES['default']['BACKEND']", DJANGO_SECRET_KEY="x")
    assert local.stdout.strip() == "django.core.files.storage.FileSystemStorage"


LOG_SCRIPT = """
import django
django.setup()
from django.test import Client
Client().post("/robots.txt", HTTP_X_REQUEST_ID="req-4242-abcd")
"""


@pytest.mark.django_db
def test_logs_are_json_lines_carrying_the_request_id(tmp_path):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env = {
        **clean,
        "DJANGO_SECRET_KEY": "x",
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "DJANGO_SETTINGS_MODULE": "newsroom.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=300
    )
    result = subprocess.run(
        [sys.executable, "-c", LOG_SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    records = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    refused = [r for r in records if r.get("logger") == "django.request"]
    assert refused, result.stderr
    assert refused[0]["level"] == "WARNING"
    assert refused[0]["request_id"] == "req-4242-abcd"
    assert "Method Not Allowed (POST): /robots.txt" in refused[0]["message"]


def test_inspection_commands_run_without_a_secret_key_and_others_do_not():
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    check = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0 and "No changes detected" in check.stdout
    other = subprocess.run(
        [sys.executable, "manage.py", "run_worker", "--help"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert other.returncode != 0 and "Set DJANGO_SECRET_KEY" in other.stderr


def test_earlier_secret_keys_can_be_kept_for_links_already_sent():
    result = settings_value(
        "s.SECRET_KEY_FALLBACKS", DJANGO_SECRET_KEY="new", DJANGO_SECRET_KEY_FALLBACKS="old, older"
    )
    assert result.stdout.strip() == "['old', 'older']"
    assert settings_value("s.SECRET_KEY_FALLBACKS", DJANGO_SECRET_KEY="x").stdout.strip() == "[]"
