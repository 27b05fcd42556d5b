"""Which database each query goes to: a public read to a read replica, everything else to the
primary.

A request is a public read when it is a GET or HEAD, outside `NEWSROOM_PRIMARY_PATHS` (the
admin and its previews; a reader's own newsletter pages, which must show what they just did),
from nobody logged in, and not from a client that wrote a moment ago (read-your-writes, below).
Its reads go to one usable replica (`newsroom.replicas`), the same one for the whole request, so
a page is read from one copy. The primary takes every write, every read inside a transaction,
and every read after the request's own first write. Outside a request (tasks, commands, the
shell) nothing is routed: everything uses the primary.

The router is given no request, so `ReplicaReadsMiddleware` decides once per request and
leaves the decision in a context variable for the router to read.

Read-your-writes: a request that wrote gets a signed cookie, `newsroom_wrote`, honoured for the
lag bound plus the check interval (`recent_write_seconds`), the longest a replica that is still
read may lack the write. Until then that client reads the primary, so a reader who has just
signed up, or an editor who has just saved and logged out, sees what they did. A cookie rather
than a session flag: readers have no session (one would take them off the page cache for as
long as it lived), it expires by itself, and, signed with a timestamp, it cannot be made up or
kept past its time to load the primary. Logged-in staff read the primary anyway.

The page cache (`newsroom.cache`) sits outside this middleware: a hit is served without reading
at all, and a response that sets the cookie is not stored. A client holding the cookie may still
be given a cached page: every change that a public page shows makes the cached pages stale (a
new content version), and the rule below keeps a page made afresh after such a change off any
replica that may not have it yet, so no cached page is older than a change it should show.

Published content is kept fresh for everyone the same way: a public read goes to a replica only
if that replica is known to hold every commit made before the last change to published content
(`CHANGED_AT_KEY`, set when the page cache is made stale). Without this, a reader whose page was
made from a replica a second behind, just after a story was withdrawn, would put the withdrawn
story back in the page cache (and the CDN) under the new content version for a whole max-age.
A replica is asked again within a fraction of a second (`replicas.STALE_RECHECK_SECONDS`), so
only the first pages after a change come from the primary. The comparison is of wall clocks on
two app hosts (the change's and the reader's), so it is as good as their clocks agree (NTP:
milliseconds). While the cache cannot be reached no change is known, and none is needed: no
page is stored then either.

A replica that fails between its checks (stopped, restarted, a query cancelled by replay) must
not turn a reader's page into a 500: the view is run again, once, on the primary (the whole
response, when the failure came outside the view, as in an error page's own reads), and the
replica is checked again before its next use. Public reads are GET and HEAD, which change
nothing, so running the view twice is safe.
"""

import contextvars
import logging
import math
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from . import replicas
from .cache import CHANGED_AT_KEY

logger = logging.getLogger(__name__)

RECENT_WRITE_COOKIE = "newsroom_wrote"
RECENT_WRITE_SALT = "newsroom.routers.recent-write"


@dataclass
class Reads:
    """Where this request's reads may go, filled in as the request runs."""

    public: bool
    # Transactions already open on the primary when the request began: none in production (no
    # ATOMIC_REQUESTS), the test's own under test. Only one the request opens counts as its own.
    atomic_depth: int = 0
    chosen: bool = False  # whether `replica` has been chosen (at the first read)
    replica: str | None = None
    wrote: bool = False
    view: tuple | None = None  # (view, args, kwargs), to run again on the primary


_reads: contextvars.ContextVar[Reads | None] = contextvars.ContextVar("db_reads", default=None)


class ReplicaRouter:
    """Public reads to the request's replica; writes, and everything else, to the primary."""

    def db_for_read(self, model, **hints):
        reads = _reads.get()
        if reads is None:
            return None  # not a request: Django's default (the primary)
        in_transaction = len(connections[DEFAULT_DB_ALIAS].atomic_blocks) > reads.atomic_depth
        if not reads.public or reads.wrote or in_transaction:
            return DEFAULT_DB_ALIAS
        if not reads.chosen:
            reads.chosen = True
            reads.replica = replicas.choose_replica(holding=cache.get(CHANGED_AT_KEY))
        return reads.replica or DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints):
        reads = _reads.get()
        if reads is not None:
            reads.wrote = True
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        # The replicas hold the primary's rows: an object read from one relates to the others.
        same = {DEFAULT_DB_ALIAS, *replicas.replica_aliases()}
        return True if {obj1._state.db, obj2._state.db} <= same else None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # Only the primary is migrated: a standby is read-only and gets its tables from the
        # primary's write-ahead log.
        return None if db == DEFAULT_DB_ALIAS else False


def recent_write_seconds() -> int:
    """How long a client that wrote reads the primary: the most a replica that is still read
    may lack its write (the lag bound, plus the age of the verdict that let it be read)."""
    return math.ceil(
        settings.NEWSROOM_REPLICA_MAX_LAG_SECONDS + settings.NEWSROOM_REPLICA_CHECK_SECONDS
    )


def wrote_recently(request) -> bool:
    if RECENT_WRITE_COOKIE not in request.COOKIES:
        return False
    value = request.get_signed_cookie(
        RECENT_WRITE_COOKIE, default=None, salt=RECENT_WRITE_SALT, max_age=recent_write_seconds()
    )
    return value is not None


def is_public_read(request) -> bool:
    """Whether the request's reads may come from a replica (the rule in the module docstring).
    Cheapest tests first; a session is only opened when the request carries its cookie."""
    if request.method not in ("GET", "HEAD"):
        return False
    if request.path_info.startswith(tuple(settings.NEWSROOM_PRIMARY_PATHS)):
        return False
    if wrote_recently(request):
        return False
    session = getattr(request, "session", None)
    if settings.SESSION_COOKIE_NAME in request.COOKIES and session is not None:
        return SESSION_KEY not in session  # read from the primary: nothing is routed yet
    return True


class ReplicaReadsMiddleware:
    """Decides where the request reads (after the session is known), gives a client that wrote
    its read-your-writes cookie, and runs a view again on the primary when its replica fails.
    Does nothing without replicas."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not replicas.replica_aliases():
            return self.get_response(request)
        depth = len(connections[DEFAULT_DB_ALIAS].atomic_blocks)
        reads = Reads(public=is_public_read(request), atomic_depth=depth)
        token = _reads.set(reads)
        try:
            response = self.get_response(request)
            if _replica_failed(reads):
                # Outside the view (an error page's own reads), where process_exception does
                # not reach: Django has made it a 500 already. The whole page again.
                response = self.get_response(request)
        finally:
            _reads.reset(token)
        if reads.wrote:
            response.set_signed_cookie(
                RECENT_WRITE_COOKIE,
                "1",
                salt=RECENT_WRITE_SALT,
                max_age=recent_write_seconds(),
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        reads = _reads.get()
        if reads is not None:
            reads.view = (view_func, view_args, view_kwargs)

    def process_exception(self, request, exception):
        reads = _reads.get()
        if reads is None or reads.view is None or not isinstance(exception, DatabaseError):
            return None
        if not _replica_failed(reads, exception):
            return None  # not the replica's failure: Django's ordinary error handling
        view, args, kwargs = reads.view
        reads.view = None  # once
        response = view(request, *args, **kwargs)
        # A failure while a template response rendered comes here too, and Django does not
        # render what this returns then: render it now (rendering twice is a no-op).
        if hasattr(response, "render") and callable(response.render):
            response = response.render()
        return response


def _replica_failed(reads: Reads, cause: Exception | None = None) -> bool:
    """Whether the request's replica has failed; if so, it is checked again before its next
    use and the rest of the request reads from the primary."""
    alias = reads.replica
    if alias is None or not connections[alias].errors_occurred:
        return False
    logger.warning("read replica %s failed (%s): the page is read from the primary", alias, cause)
    replicas.forget(alias)
    try:
        connections[alias].close()
    except DatabaseError:
        pass
    # Dealt with: a later request must not take this failure for one of its own (a closed
    # connection keeps the flag until it connects again).
    connections[alias].errors_occurred = False
    reads.replica = None
    return True
