"""Read replicas: which of them this process may read from now, and if not, why not.

A replica is a PostgreSQL streaming standby of the primary, named in `DATABASE_REPLICA_URLS`
(database aliases `replica_1`, `replica_2`, …, listed in `NEWSROOM_REPLICAS`). It is usable
when it answers, is still a standby (a promoted one no longer follows the primary), and is at
most `NEWSROOM_REPLICA_MAX_LAG_SECONDS` behind.

How far behind: the primary is asked where its write-ahead log stands, then the replica how far
it has replayed. A replica that has replayed that far holds everything the primary had
committed when it was asked, whatever the clocks say. Otherwise its lag is the age of the last
transaction it replayed (`now() - pg_last_xact_replay_timestamp()`): everything committed
before that is on the replica. That age alone would call the replica of an idle primary hours
late (nothing new to replay), which the comparison with the primary prevents. Comparing the
replica's received position with its replayed one instead (no question to the primary) would
call a replica whose stream from the primary broke current for ever: it has replayed all it
received. A replica with work waiting after a quiet spell is called late until it replays it,
normally within milliseconds: wrong only in the safe direction.

Each verdict also says how fresh the replica was (`fresh_as_of`, a wall-clock time before
which every commit is on it), so the router can keep a request off a replica that may not have
the latest change to published content yet (see `newsroom.routers`).

Each verdict is kept in the process: a usable or late replica is checked again after
`NEWSROOM_REPLICA_CHECK_SECONDS` (one query on the primary and one on the replica, well under a
millisecond each on a local network), one that did not answer is left alone for
`NEWSROOM_REPLICA_RETRY_SECONDS`, so a host that has gone away costs its connect timeout once
per retry, not on every page. A replica that fails between checks is handled by
`newsroom.routers`, which calls `forget()`.
"""

import logging
import random
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

logger = logging.getLogger(__name__)

OK, LAGGING, UNAVAILABLE, NOT_A_REPLICA, UNKNOWN = (
    "ok",
    "lagging",
    "unavailable",
    "not a replica",
    "unknown",
)
# A usable replica that may lack the latest change is asked again this soon, not after the
# whole check interval: it has normally replayed the change within milliseconds, and until it
# is asked every page made afresh after the change is read from the primary.
STALE_RECHECK_SECONDS = 0.25

PRIMARY_POSITION = "SELECT pg_current_wal_lsn()"
REPLICA_POSITION = (
    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn() >= %s::pg_lsn,"
    " EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())"
)


@dataclass(frozen=True)
class ReplicaState:
    """One replica as this process last saw it. `checked` and `until` (when to look again) are
    monotonic times; `fresh_as_of` is a wall-clock time before which every commit is on it."""

    alias: str
    status: str
    lag: float | None = None  # seconds behind, when known
    fresh_as_of: float = 0.0
    checked: float = 0.0
    until: float = 0.0

    @property
    def usable(self) -> bool:
        return self.status == OK

    def describe(self) -> str:
        """What `/readyz` says: the state, never where the replica lives."""
        if self.status == LAGGING:
            behind = "how far is not known" if self.lag is None else f"{self.lag:.1f} s behind"
            return f"lagging ({behind}; its reads go to the primary)"
        if self.status in (UNAVAILABLE, NOT_A_REPLICA):
            return f"{self.status} (its reads go to the primary)"
        if self.status == UNKNOWN:
            return "unknown (the primary did not answer)"
        return self.status


# Per process, by alias: each gunicorn worker judges for itself, and a verdict is only a cache
# of what a check would say (nothing here assumes there is a single process).
_states: dict[str, ReplicaState] = {}


def replica_aliases() -> tuple[str, ...]:
    return tuple(settings.NEWSROOM_REPLICAS)


def replica_state(alias: str, *, holding: float | None = None) -> ReplicaState:
    """The replica's verdict, checked again first when it is due, or sooner when it is usable
    but not known to hold what was committed before `holding` (a wall-clock time)."""
    state = _states.get(alias)
    now = time.monotonic()
    due = state is None or now >= state.until
    if not due and holding is not None and state.usable and state.fresh_as_of < holding:
        due = now >= state.checked + STALE_RECHECK_SECONDS
    if due:
        previous, state = state, _check(alias)
        _states[alias] = state
        if previous is None or previous.status != state.status:
            log = logger.info if state.usable else logger.warning
            log("read replica %s: %s", alias, state.describe())
    return state


def choose_replica(*, holding: float | None = None) -> str | None:
    """A usable replica for one request's reads, or None for the primary. With `holding`, only
    one known to hold every commit made before that wall-clock time. Chosen at random among
    those that qualify: every process spreads its requests without knowing of the others."""
    usable = []
    for alias in replica_aliases():
        state = replica_state(alias, holding=holding)
        if state.usable and (holding is None or state.fresh_as_of >= holding):
            usable.append(alias)
    return random.choice(usable) if usable else None


def forget(alias: str) -> None:
    """Check the replica again before its next use (it failed a query since its last check)."""
    _states.pop(alias, None)


def _check(alias: str) -> ReplicaState:
    now, asked_at = time.monotonic(), time.time()
    check_again = now + settings.NEWSROOM_REPLICA_CHECK_SECONDS
    try:
        (position,) = _fetch(DEFAULT_DB_ALIAS, PRIMARY_POSITION)
    except DatabaseError as exc:
        logger.warning("read replica %s: cannot ask the primary where it stands: %s", alias, exc)
        return ReplicaState(alias, UNKNOWN, checked=now, until=check_again)
    try:
        recovering, caught_up, age = _fetch(alias, REPLICA_POSITION, [position])
    except DatabaseError as exc:
        logger.warning("read replica %s does not answer: %s", alias, exc)  # details in the log
        retry = now + settings.NEWSROOM_REPLICA_RETRY_SECONDS
        return ReplicaState(alias, UNAVAILABLE, checked=now, until=retry)
    if not recovering:
        retry = now + settings.NEWSROOM_REPLICA_RETRY_SECONDS
        return ReplicaState(alias, NOT_A_REPLICA, checked=now, until=retry)
    if caught_up:
        lag, fresh_as_of = 0.0, asked_at
    elif age is None:  # nothing replayed since it started, and behind: how far is not known
        lag, fresh_as_of = None, 0.0
    else:
        lag = max(0.0, float(age))
        fresh_as_of = time.time() - lag
    late = lag is None or lag > settings.NEWSROOM_REPLICA_MAX_LAG_SECONDS
    return ReplicaState(
        alias, LAGGING if late else OK, lag, fresh_as_of, checked=now, until=check_again
    )


def _fetch(alias: str, sql: str, params=None) -> tuple:
    connection = connections[alias]
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    except DatabaseError:
        try:
            connection.close()  # a fresh connection next time, not the broken one
        except DatabaseError:
            pass
        raise
