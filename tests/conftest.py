"""Suite-wide fixtures and the rule that a skipped test fails the run under CI=true."""

import copy
import os
import uuid

import factory.random
import pytest
from django.conf import settings

IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def pytest_configure(config):
    factory.random.reseed_random("newsroom")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """A read replica, `replica_1`, for the router's tests: a mirror of the test database (a
    second connection to it, as Django gives a mirror no database of its own). Nothing reads
    from it unless a test names it in NEWSROOM_REPLICAS (tests/newsroom/test_routers.py)."""
    from django.db import connections

    databases = connections.settings
    if "replica_1" not in databases:
        replica = copy.deepcopy(databases["default"])
        replica["TEST"] = {**replica.get("TEST", {}), "MIRROR": "default"}
        databases["replica_1"] = replica


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
def _second_factor_on_force_login(request, monkeypatch):
    """`client.force_login(user)` stands for a whole login: for someone who has or needs a
    second factor the session is also marked as having passed it (with an authenticator app
    made for them if they have none), as `accounts.views` does after a right code. Only the
    test client changes; tests of the second factor itself (@pytest.mark.two_factor) get
    Django's force_login as it is, which the admin refuses for such users."""
    if request.node.get_closest_marker("two_factor") is not None:
        return
    from django.test import Client

    plain_force_login = Client.force_login

    def force_login(self, user, backend=None):
        device = _authenticator_for_tests(user)
        plain_force_login(self, user, backend)
        if device is not None:
            from django_otp import DEVICE_ID_SESSION_KEY

            session = self.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()

    monkeypatch.setattr(Client, "force_login", force_login)


def _authenticator_for_tests(user):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts import services

    device = services.authenticator_of(user)
    if device is None and services.second_factor_required(user):
        device = TOTPDevice.objects.create(user=user, name="Test device", confirmed=True)
        # A new device ends the user's sessions (a new security stamp): log in with it.
        user.refresh_from_db(fields=["security_stamp"])
    return device


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # `setup_demo` keeps its logins in a file: the test's own, never the checkout's.
    settings.NEWSROOM_DEMO_LOGINS_FILE = str(tmp_path / "demo-logins.json")


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


@pytest.fixture
def redis_default_cache():
    """The default cache pointed at Redis (REDIS_URL) under a prefix of this test's own, as
    production's backend; only keys with that prefix are removed afterwards (the database
    may be shared). The prefix."""
    from django.core.cache import cache
    from django.test import override_settings

    if not (url := os.environ.get("REDIS_URL")):
        pytest.skip("REDIS_URL is not set (e.g. redis://127.0.0.1:6379/0): Redis test skipped")
    prefix = f"test-page-cache-{uuid.uuid4().hex}"
    backend = "newsroom.cache_backends.ResilientRedisCache"
    caches = {"default": {"BACKEND": backend, "LOCATION": url, "KEY_PREFIX": prefix}}
    with override_settings(CACHES=caches):
        client = cache._cache.get_client(write=True)
        try:
            yield prefix
        finally:
            keys = list(client.scan_iter(match=f"{prefix}:*"))
            if keys:
                client.delete(*keys)
            assert not list(client.scan_iter(match=f"{prefix}:*"))


@pytest.fixture
def reads_redis(redis_default_cache):
    """The shared cache on the real Redis, for the reads counts (articles.reads): the raw
    client, nothing counted yet."""
    from django.core.cache import cache

    from articles import reads

    reads.forget_visible()
    return cache._cache.get_client(write=True)


@pytest.fixture
def redis_commands(monkeypatch):
    """The names of the commands sent to Redis from here on, in order (a list to clear)."""
    import redis

    commands, real = [], redis.Redis.execute_command

    def counted(self, *args, **options):
        commands.append(args[0])
        return real(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", counted)
    return commands


@pytest.fixture(params=["locmem", "redis"])
def any_cache(request):
    """The cache on each backend the site runs on: the local memory cache and Redis."""
    if request.param == "redis":
        request.getfixturevalue("redis_default_cache")
    return request.param


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
