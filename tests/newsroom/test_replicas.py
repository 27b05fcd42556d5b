"""Read replicas for real: a throwaway PostgreSQL primary and a streaming standby made from it
(`initdb`, `pg_basebackup -R`) on spare loopback ports, the site's schema migrated onto the
primary and replayed onto the standby. Each test runs one scenario of replica_scenarios.py in a
Django process configured as production would be (DATABASE_URL, DATABASE_REPLICA_URLS) and
judges what it saw. The machine's shared PostgreSQL server is never touched.

The cheap, decision-by-decision tests of the router are in test_routers.py."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import pg_clusters

ROOT = Path(__file__).resolve().parents[2]
RUN = (
    "import django; django.setup(); from tests.newsroom import replica_scenarios;"
    " replica_scenarios.main()"
)


def site_env(primary, standby=None, **settings):
    """The environment of a Django process on these clusters (nothing of this one's own)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "NEWSROOM_"))}
    env.pop("REDIS_URL", None)  # a cache of the process's own: nothing left from an earlier run
    env.update(
        DJANGO_SETTINGS_MODULE="newsroom.settings",
        DJANGO_SECRET_KEY="replica-tests",
        DJANGO_ALLOWED_HOSTS="testserver",
        DJANGO_EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        DATABASE_URL=primary.url,
        NEWSROOM_2FA_REQUIRED_ROLES="",  # editors log in with force_login alone here
        NEWSROOM_LOG_FORMAT="text",
    )
    if standby is not None:
        env["DATABASE_REPLICA_URLS"] = standby.url
    env.update({f"NEWSROOM_REPLICA_{name.upper()}": str(value) for name, value in settings.items()})
    return env


@pytest.fixture(scope="module")
def clusters():
    if reason := pg_clusters.unavailable():
        pytest.skip(reason)
    scratch, made = pg_clusters.scratch_dir(), []
    try:
        made.append(pg_clusters.Cluster.create(scratch))
        primary = made[0]
        made.append(primary.standby(scratch))
        migrate = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
            cwd=ROOT,
            env=site_env(primary),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert migrate.returncode == 0, migrate.stderr[-3000:]
        yield made
    finally:
        for cluster in reversed(made):
            cluster.discard()
        shutil.rmtree(scratch, ignore_errors=True)


def scenario(clusters, name, **settings):
    """What the scenario saw (its JSON), after which the standby runs and replays again
    whatever the scenario did to it."""
    primary, standby = clusters
    try:
        result = subprocess.run(
            [sys.executable, "-c", RUN, name, str(standby.data), str(standby.port)],
            cwd=ROOT,
            env=site_env(primary, standby, **settings),
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        if not standby.running():
            standby.start()
        standby.sql("SELECT pg_wal_replay_resume()")
    assert result.returncode == 0, f"{result.stderr[-4000:]}\nstandby log:\n{standby.log()}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_public_pages_and_feeds_read_the_replica_and_the_rest_reads_the_primary(clusters):
    seen = scenario(clusters, "routing", max_lag_seconds=60, check_seconds=60)
    # Readers' pages, the feed and the section listing come from the replica, which lacks the
    # story published on the primary since replay was paused.
    assert seen["story"]["status"] == 200
    for page in ("story", "held", "feed", "section"):
        assert seen[page]["replica"] > 0 and seen[page]["primary"] == 0, page
        assert not seen[page]["shows_held"], page
    assert seen["held"]["status"] == 404
    # An editor's pages, the admin, previews and the newsletter pages read the primary.
    for page in ("editor_story", "admin", "preview", "signup_page", "signup"):
        assert seen[page]["status"] == 200, page
        assert seen[page]["replica"] == 0 and seen[page]["primary"] > 0, page
    for page in ("editor_story", "admin", "preview"):
        assert seen[page]["shows_held"], page


def test_a_client_that_wrote_reads_the_primary_and_everyone_else_the_replica(clusters):
    seen = scenario(clusters, "read_your_writes", max_lag_seconds=60, check_seconds=60)
    assert seen["before"]["status"] == 404 and seen["before"]["replica"] > 0
    # A reader signs up: the answer carries the read-your-writes cookie, and their next page
    # comes from the primary, where the story the replica lacks is.
    assert seen["signup"]["cookie"] and seen["signup"]["replica"] == 0
    assert seen["after"]["status"] == 200 and seen["after"]["shows_held"]
    assert seen["after"]["replica"] == 0
    assert seen["someone_else"]["status"] == 404 and seen["someone_else"]["replica"] > 0
    # An editor who logs out keeps reading the primary for the bound.
    assert seen["logout"]["cookie"]
    assert seen["after_logout"]["status"] == 200 and seen["after_logout"]["replica"] == 0


def test_a_stopped_replica_is_skipped_without_errors_and_readiness_says_degraded(clusters):
    seen = scenario(clusters, "replica_down", check_seconds=60, retry_seconds=3)
    assert seen["before"]["replica"] > 0
    # The first page after the replica went away failed on it and was read again from the
    # primary; the next ones skip it, after one connection attempt, until the retry interval.
    assert [page["status"] for page in seen["during"]] == [200] * 5
    assert all(page["primary"] > 0 for page in seen["during"])
    assert all(page["replica"] == 0 for page in seen["during"][1:])
    assert seen["connects_while_down"] == 1
    down = seen["readyz_down"]
    assert down["status"] == 200 and down["json"]["status"] == "degraded"
    assert down["json"]["checks"]["database"] == "ok"
    assert down["json"]["checks"]["replicas"] == {
        "replica_1": "unavailable (its reads go to the primary)"
    }
    assert seen["readyz_again"]["json"]["checks"]["replicas"] == {"replica_1": "ok"}
    assert seen["after"]["status"] == 200 and seen["after"]["replica"] > 0


def test_a_replica_behind_by_more_than_the_bound_is_skipped_and_an_idle_one_is_not(clusters):
    seen = scenario(clusters, "replica_lagging", max_lag_seconds=1, check_seconds=0)
    # Nothing replayed for longer than the bound, but nothing to replay either: current.
    assert seen["idle"]["replica"] > 0
    # Replay paused with a commit waiting: the story published since is read from the primary.
    assert seen["lagging"]["status"] == 200 and seen["lagging"]["shows_held"]
    assert seen["lagging"]["replica"] == 0
    lagging = seen["readyz_lagging"]["json"]
    assert seen["readyz_lagging"]["status"] == 200 and lagging["status"] == "degraded"
    assert lagging["checks"]["replicas"]["replica_1"].startswith("lagging (")
    assert seen["caught_up"]["status"] == 200 and seen["caught_up"]["shows_held"]
    assert seen["caught_up"]["replica"] > 0
    assert seen["readyz_caught_up"]["json"]["status"] == "ok"


def test_pages_made_after_a_change_are_read_from_a_replica_only_once_it_has_it(clusters):
    """Else the page cache would keep, under the new content version, a page made from a
    replica a moment behind: a withdrawn story back for a whole max-age."""
    seen = scenario(clusters, "published_change", max_lag_seconds=60, check_seconds=60)
    assert seen["held"]["status"] == 200 and seen["held"]["shows_held"]
    assert seen["held"]["replica"] == 0
    assert seen["held_again"]["cached"] and seen["held_again"]["shows_held"]
    assert seen["after_replay"]["status"] == 200 and seen["after_replay"]["replica"] > 0
