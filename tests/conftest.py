"""Suite-wide fixtures and the rule that a skipped test fails the run under CI=true."""

import os

import factory.random
import pytest
from django.conf import settings

IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def pytest_configure(config):
    factory.random.reseed_random("newsroom")


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    # Tests do not depend on `collectstatic` having run; hashed names are checked separately.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _cheap_passwords(settings):
    # Staff accounts are made in most tests; the real hasher costs a third of a second each.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_login_lockout(request, settings):
    # django-axes refuses `client.login()` (it needs a request to track failures); tests of the
    # lockout itself ask for it with @pytest.mark.lockout.
    settings.AXES_ENABLED = request.node.get_closest_marker("lockout") is not None


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _private_cache(settings):
    # Each test gets an empty cache of its own in memory: cached pages must not leak from one
    # test into another, and clearing a cache on the machine's shared Redis would wipe other
    # people's keys. The Redis tests (tests/test_cache.py, tests/test_production.py) point
    # CACHES at the real Redis with a key prefix of their own.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "newsroom-tests",
        }
    }
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def pytest_sessionfinish(session, exitstatus):
    """Locally a test may skip when a component (PostgreSQL, Redis, Chromium) is missing, with
    its reason shown by -ra. In CI every component is there, so a skip is a failure."""
    if not IN_CI:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(
            f"CI=true: {len(skipped)} test(s) skipped; in CI every component must be present.",
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def database_vendor():
    return settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
