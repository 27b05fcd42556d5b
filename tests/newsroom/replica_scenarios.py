"""What test_replicas.py has the site do against a real streaming replica, one scenario per
process: DATABASE_URL is the test's throwaway primary and DATABASE_REPLICA_URLS its standby, so
Django routes as in production. Each scenario prints what it saw as one line of JSON and the test
judges it. Run with Django set up: `main()` takes the scenario's name and the standby's data
directory and port (to stop and start it).

Where a read went is shown two ways: by query counts per database (the replica checks left
out), and by content: replay is paused on the replica, and a story is published on the primary
with a plain UPDATE (no signal, so the site is not told of a change), so the replica lacks what
the primary has."""

import json
import sys
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from articles.models import Article, Section
from newsroom.routers import RECENT_WRITE_COOKIE
from tests.accounts.factories import UserFactory
from tests.articles.factories import ArticleFactory
from tests.pg_clusters import Cluster

REPLICA = "replica_1"
HELD = "Published while the replica is paused"
CHECKS = ("pg_current_wal_lsn", "pg_is_in_recovery")  # the replica checks' own queries


def sql(alias: str, query: str, params=None):
    with connections[alias].cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchone()


def wait_for(condition, what: str, timeout: float = 30):
    """Replication happens in its own time: ask again until it has (never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"after {timeout} s, still not {what}")
        time.sleep(0.02)


def replayed() -> bool:
    (position,) = sql(DEFAULT_DB_ALIAS, "SELECT pg_current_wal_lsn()")
    return sql(REPLICA, "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [position])[0]


def replica_idle_for() -> float:
    """Seconds since the replica last replayed a transaction."""
    age = sql(REPLICA, "SELECT EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())")[0]
    return float(age or 0)


def pause_replay():
    sql(REPLICA, "SELECT pg_wal_replay_pause()")
    state = "SELECT pg_get_wal_replay_pause_state()"
    wait_for(lambda: sql(REPLICA, state)[0] == "paused", "paused")


def resume_replay():
    sql(REPLICA, "SELECT pg_wal_replay_resume()")
    wait_for(replayed, "replayed")


@contextmanager
def counting():
    """Queries each database was sent (attempts included), the replica checks left out."""
    counts = dict.fromkeys((DEFAULT_DB_ALIAS, REPLICA), 0)

    def counter(alias):
        def count(execute, query, params, many, context):
            if not any(check in query for check in CHECKS):
                counts[alias] += 1
            return execute(query, params, many, context)

        return count

    with (
        connections[DEFAULT_DB_ALIAS].execute_wrapper(counter(DEFAULT_DB_ALIAS)),
        connections[REPLICA].execute_wrapper(counter(REPLICA)),
    ):
        yield counts


def visit(client, url, *, data=None):
    """One request: its status, where its reads went, and whether it shows the held story."""
    with counting() as counts:
        response = client.post(url, data) if data is not None else client.get(url)
    return {
        "status": response.status_code,
        "primary": counts[DEFAULT_DB_ALIAS],
        "replica": counts[REPLICA],
        "shows_held": HELD in response.content.decode(errors="replace"),
        "cookie": RECENT_WRITE_COOKIE in response.cookies,
        "cached": response.get("X-Page-Cache") == "hit",
        **({"json": response.json()} if response.get("Content-Type") == "application/json" else {}),
    }


def stories(name: str):
    """A story every copy has, and one still a draft (published later, on the primary only)."""
    section = Section.objects.create(name=f"{name} desk", slug=name)
    shown = ArticleFactory(section=section, headline=f"Replayed everywhere ({name})")
    held = ArticleFactory(section=section, headline=HELD, draft=True)
    wait_for(replayed, "replayed")
    return shown, held


def settle(client):
    """Until public pages are read from the replica, twice running: the first pages after a
    change (the stories just made, and the first page made under the new content version, which
    notes the time) come from the primary until the replica is known to hold it."""
    attempt, in_a_row = 0, 0

    def read_from_replica():
        nonlocal attempt, in_a_row
        attempt += 1
        in_a_row = in_a_row + 1 if visit(client, f"/?settle={attempt}")["replica"] > 0 else 0
        return in_a_row >= 2

    wait_for(read_from_replica, "read from the replica", timeout=10)


def publish_on_the_primary_only(held):
    """Published by a plain UPDATE: no signal, no content change made known to the site."""
    Article.objects.filter(pk=held.pk).update(
        status=Article.Status.PUBLISHED, published_at=timezone.now() - timedelta(minutes=1)
    )


def editor_client():
    client = Client()
    client.force_login(UserFactory(editor=True))
    return client


def routing(standby):
    shown, held = stories("routing")
    reader = Client()
    settle(reader)
    pause_replay()
    publish_on_the_primary_only(held)
    editor = editor_client()
    out = {
        "story": visit(reader, shown.get_absolute_url()),
        "held": visit(reader, held.get_absolute_url()),
        "feed": visit(reader, "/feeds/rss/"),
        "section": visit(reader, f"/{held.section.slug}/"),
        "editor_story": visit(editor, held.get_absolute_url()),
        "admin": visit(editor, reverse("admin:articles_article_change", args=[held.pk])),
        "preview": visit(editor, reverse("admin:articles_article_preview", args=[held.pk])),
        "signup_page": visit(reader, reverse("newsletters:signup")),
        "signup": visit(reader, reverse("newsletters:signup"), data={"email": "r@example.com"}),
    }
    resume_replay()
    return out


def read_your_writes(standby):
    shown, held = stories("writes")
    reader, someone_else = Client(), Client()
    settle(reader)
    pause_replay()
    publish_on_the_primary_only(held)
    url = held.get_absolute_url()
    out = {"before": visit(reader, url)}
    out["signup"] = visit(reader, reverse("newsletters:signup"), data={"email": "w@example.com"})
    out["after"] = visit(reader, f"{url}?after=signup")
    out["someone_else"] = visit(someone_else, f"{url}?someone-else")
    editor = editor_client()
    out["logout"] = visit(editor, reverse("admin:logout"), data={})
    out["after_logout"] = visit(editor, f"{url}?after=logout")
    resume_replay()
    return out


def replica_down(standby):
    shown, held = stories("down")
    reader = Client()
    settle(reader)
    url = shown.get_absolute_url()
    out = {"before": visit(reader, f"{url}?n=0")}
    attempts = []
    replica = connections[REPLICA]
    plain_connect = replica.get_new_connection

    def connect(params):
        attempts.append(time.monotonic())
        return plain_connect(params)

    replica.get_new_connection = connect
    standby.stop()
    out["during"] = [visit(reader, f"{url}?n={n}") for n in range(1, 6)]
    out["connects_while_down"] = len(attempts)
    out["readyz_down"] = visit(reader, "/readyz")
    standby.start()
    wait_for(lambda: visit(reader, "/readyz")["json"]["status"] == "ok", "ready again", 60)
    out["readyz_again"] = visit(reader, "/readyz")
    out["after"] = visit(reader, f"{url}?n=again")
    return out


def replica_lagging(standby):
    bound = settings.NEWSROOM_REPLICA_MAX_LAG_SECONDS
    shown, held = stories("lagging")
    reader = Client()
    settle(reader)
    # An idle primary: nothing replayed for longer than the bound, yet the replica is current.
    wait_for(lambda: replica_idle_for() > bound + 0.5, "idle past the bound")
    out = {"idle": visit(reader, f"{shown.get_absolute_url()}?idle")}
    pause_replay()
    publish_on_the_primary_only(held)  # the replica is now behind, by more than the bound
    out["lagging"] = visit(reader, held.get_absolute_url())
    out["readyz_lagging"] = visit(reader, "/readyz")
    resume_replay()
    out["caught_up"] = visit(reader, f"{held.get_absolute_url()}?caught-up")
    out["readyz_caught_up"] = visit(reader, "/readyz")
    return out


def published_change(standby):
    shown, held = stories("change")
    reader = Client()
    settle(reader)
    pause_replay()
    held.status, held.published_at = Article.Status.PUBLISHED, timezone.now()
    held.save()  # the site is told: cached pages go stale after the commit
    out = {"held": visit(reader, held.get_absolute_url())}
    out["held_again"] = visit(Client(), held.get_absolute_url())
    resume_replay()
    settle(reader)
    out["after_replay"] = visit(reader, f"{held.get_absolute_url()}?replayed")
    return out


def main():
    scenario, data, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    standby = Cluster(Path(data), port)
    # As in the suite (tests/conftest.py): pages without `collectstatic` having run.
    plain_static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    with override_settings(STORAGES={**settings.STORAGES, "staticfiles": plain_static}):
        out = globals()[scenario](standby)
    sys.stdout.write(json.dumps(out) + "\n")
