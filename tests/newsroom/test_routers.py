"""Where reads go, decided cheaply: the router and its middleware against the test database's
mirror (`replica_1` in tests/conftest.py, a second connection to the test database), and the
replica checks with the database's answers made up. The real streaming replica is in
test_replicas.py.

The mirror is a second connection, so it does not see what a test wrote inside its own
(uncommitted) transaction: a story made by the test is "not replayed yet" there, which shows
where a page was read from as well as a query count does."""

import math
import time
from dataclasses import replace
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.http import Http404, HttpResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import include, path

from articles.models import Section
from newsroom import replicas, routers
from newsroom.cache import public_page
from tests.accounts.factories import UserFactory
from tests.articles.factories import ArticleFactory
from tests.conftest import database_vendor

REPLICA = "replica_1"
ALIASES = [DEFAULT_DB_ALIAS, REPLICA]
on_mirror = pytest.mark.django_db(databases=ALIASES)


@public_page
def writing_page(request):
    """A public page that writes (none of the site's do): its response sets the cookie."""
    Section.objects.create(name="Written on a GET", slug="written-on-a-get")
    return HttpResponse("written")


def missing_page(request):
    raise Http404("nothing here")  # the 404 page reads the navigation, outside the view


# The site's own URLs too: its pages (the 404 page's links) reverse them.
urlpatterns = [
    path("writes/", writing_page),
    path("missing/", missing_page),
    path("", include("newsroom.urls")),
]


@pytest.fixture
def replica(settings):
    """Reads routed to the mirror, judged usable and holding everything (no checks are made)."""
    if database_vendor() != "postgresql":
        pytest.skip("read replicas are PostgreSQL's (set DATABASE_URL=postgres://…)")
    settings.NEWSROOM_REPLICAS = (REPLICA,)
    replicas._states[REPLICA] = usable(fresh_as_of=math.inf)
    yield REPLICA
    replicas._states.clear()
    connections[REPLICA].close()  # else the test database cannot be dropped at the end


def usable(**fields):
    now = time.monotonic()
    return replicas.ReplicaState(REPLICA, replicas.OK, 0.0, checked=now, until=now + 3600, **fields)


def reads_of(client_call):
    """The response and how many queries each database answered for it."""
    with (
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as primary,
        CaptureQueriesContext(connections[REPLICA]) as replica,
    ):
        response = client_call()
    return response, len(primary), len(replica)


# --- the middleware and the router, through the site ---------------------------------------------


@on_mirror
def test_public_pages_and_feeds_read_from_the_replica(client, replica):
    story = ArticleFactory(headline="Only on the primary so far")
    for url in (story.get_absolute_url(), "/feeds/rss/", "/"):
        response, on_primary, on_replica = reads_of(lambda url=url: client.get(url))
        assert on_primary == 0 and on_replica > 0, url
        assert "Only on the primary so far" not in response.content.decode(), url
    assert client.get(story.get_absolute_url()).status_code == 404  # read where it is not yet


@on_mirror
def test_staff_the_admin_and_the_newsletter_pages_read_from_the_primary(client, replica):
    story = ArticleFactory(headline="Only on the primary so far")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    urls = [story.get_absolute_url(), f"/admin/articles/article/{story.pk}/change/"]
    urls.append(f"/admin/articles/article/{story.pk}/preview/")
    for url in urls:
        response, on_primary, on_replica = reads_of(lambda url=url: client.get(url))
        assert response.status_code == 200 and on_replica == 0 and on_primary > 0, url
    reader = Client()
    for url in ("/newsletters/", "/newsletters/sign-up/"):
        response, on_primary, on_replica = reads_of(lambda url=url: reader.get(url))
        assert response.status_code == 200 and on_replica == 0 and on_primary > 0, url


@on_mirror
def test_a_sign_up_reads_and_writes_the_primary_and_the_reader_then_reads_the_primary(
    client, replica
):
    story = ArticleFactory(headline="Only on the primary so far")
    response, _, on_replica = reads_of(
        lambda: client.post("/newsletters/sign-up/", {"email": "reader@example.com"})
    )
    assert response.status_code == 200 and on_replica == 0
    cookie = response.cookies[routers.RECENT_WRITE_COOKIE]
    assert cookie["max-age"] == routers.recent_write_seconds() == 7 and cookie["httponly"]

    response, _, on_replica = reads_of(lambda: client.get(story.get_absolute_url()))
    assert response.status_code == 200 and on_replica == 0  # the reader's own: the primary
    # Anyone else reads the replica (another address: that page is in the page cache now, made
    # from the primary, and may be served to everyone).
    assert Client().get(f"{story.get_absolute_url()}?someone-else").status_code == 404
    with time_machine.travel(timedelta(seconds=routers.recent_write_seconds() + 1)):
        response, _, on_replica = reads_of(lambda: client.get(f"{story.get_absolute_url()}?x"))
    assert response.status_code == 404 and on_replica > 0  # the bound passed: the replica


@on_mirror
def test_readers_without_the_cookie_still_get_cached_pages_and_no_cookie_is_cached(replica):
    reader = Client()
    assert reader.get("/").status_code == 200
    response, on_primary, on_replica = reads_of(lambda: reader.get("/"))
    assert response["X-Page-Cache"] == "hit" and on_primary == on_replica == 0


@on_mirror
@pytest.mark.urls(__name__)
def test_a_response_that_sets_the_cookie_is_not_stored_in_the_page_cache(client, replica):
    first = client.get("/writes/")
    assert routers.RECENT_WRITE_COOKIE in first.cookies
    Section.objects.filter(slug="written-on-a-get").delete()
    second = Client().get("/writes/")  # a reader without the cookie: not served the stored one
    assert "X-Page-Cache" not in second and routers.RECENT_WRITE_COOKIE in second.cookies


def replica_goes_away(execute, sql, params, many, context):
    mirror = connections[REPLICA]
    with mirror.wrap_database_errors:  # as the driver's own error would be
        raise mirror.Database.OperationalError("server closed the connection unexpectedly")


@on_mirror
def test_a_replica_failing_mid_request_has_the_page_read_again_from_the_primary(
    client, replica, caplog
):
    story = ArticleFactory(headline="Only on the primary so far")
    with connections[REPLICA].execute_wrapper(replica_goes_away):
        response = client.get(story.get_absolute_url())
    assert response.status_code == 200 and "Only on the primary so far" in response.content.decode()
    assert REPLICA not in replicas._states  # checked again before its next use
    assert "read replica replica_1 failed" in caplog.text


@on_mirror
@pytest.mark.urls(__name__)
def test_a_replica_failing_outside_the_view_has_the_whole_page_made_again(replica):
    reader = Client(raise_request_exception=False)
    with connections[REPLICA].execute_wrapper(replica_goes_away):
        response = reader.get("/missing/")
    assert response.status_code == 404  # not the 500 the failing error page became
    assert REPLICA not in replicas._states


def test_an_error_that_is_not_the_replicas_is_left_to_django(replica):
    def view(request):
        raise AssertionError("not run again")

    reads = routers.Reads(public=True, chosen=True, replica=REPLICA, view=(view, (), {}))
    token = routers._reads.set(reads)
    try:
        middleware = routers.ReplicaReadsMiddleware(lambda request: None)
        answer = middleware.process_exception(RequestFactory().get("/"), DatabaseError("a bug"))
    finally:
        routers._reads.reset(token)
    assert answer is None  # the replica's connection had no error: Django's error page


@on_mirror
def test_readyz_reports_a_replica_that_is_down_as_degraded_not_unavailable(client, replica):
    assert client.get("/readyz").json()["checks"]["replicas"] == {REPLICA: "ok"}
    replicas._states[REPLICA] = replace(replicas._states[REPLICA], status=replicas.UNAVAILABLE)
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json()["status"] == "degraded"
    assert response.json()["checks"]["replicas"] == {
        REPLICA: "unavailable (its reads go to the primary)"
    }


# --- the decisions, one by one -------------------------------------------------------------------


def request_for(method="get", url="/", **cookies):
    request = getattr(RequestFactory(), method)(url)
    request.COOKIES.update(cookies)
    return request


@pytest.mark.parametrize(
    ("method", "url", "public"),
    [
        ("get", "/", True),
        ("head", "/news/a-story/", True),
        ("get", "/feeds/rss/", True),
        ("post", "/", False),
        ("get", "/admin/", False),
        ("get", "/admin/articles/article/1/preview/", False),
        ("get", "/newsletters/sign-up/", False),
        ("get", "/newsletters/confirm/token/", False),
        ("get", "/newsletters/unsubscribe/token/", False),
        ("get", "/newsletters/preferences/token/", False),
    ],
)
def test_which_requests_are_public_reads(method, url, public):
    assert routers.is_public_read(request_for(method, url)) is public


def signed_write_cookie():
    response = HttpResponse()
    response.set_signed_cookie(routers.RECENT_WRITE_COOKIE, "1", salt=routers.RECENT_WRITE_SALT)
    return response.cookies[routers.RECENT_WRITE_COOKIE].value


def test_a_client_that_wrote_reads_the_primary_until_the_bound_passes():
    cookie = {routers.RECENT_WRITE_COOKIE: signed_write_cookie()}
    assert routers.is_public_read(request_for(**cookie)) is False
    with time_machine.travel(timedelta(seconds=routers.recent_write_seconds() + 1)):
        assert routers.is_public_read(request_for(**cookie)) is True
    forged = {routers.RECENT_WRITE_COOKIE: "1"}
    assert routers.is_public_read(request_for(**forged)) is True  # unsigned: ignored


def test_a_logged_in_session_reads_the_primary_and_an_anonymous_one_the_replica(settings):
    request = request_for(**{settings.SESSION_COOKIE_NAME: "abc"})
    request.session, request.user = {"_auth_user_id": "1"}, AnonymousUser()
    assert routers.is_public_read(request) is False
    request.session = {"some-reader-state": 1}
    assert routers.is_public_read(request) is True


@pytest.mark.django_db
def test_the_router_sends_writes_transactions_and_reads_after_a_write_to_the_primary(
    monkeypatch,
):
    router = routers.ReplicaRouter()
    assert router.db_for_read(Section) is None  # no request (a task, a command): the default
    monkeypatch.setattr(replicas, "choose_replica", lambda holding=None: REPLICA)
    reads = routers.Reads(public=True, atomic_depth=len(connections["default"].atomic_blocks))
    token = routers._reads.set(reads)
    try:
        with transaction.atomic():
            assert router.db_for_read(Section) == DEFAULT_DB_ALIAS
        assert router.db_for_read(Section) == REPLICA
        assert router.db_for_write(Section) == DEFAULT_DB_ALIAS
        assert reads.wrote and router.db_for_read(Section) == DEFAULT_DB_ALIAS
    finally:
        routers._reads.reset(token)
    assert router.allow_migrate(REPLICA, "articles") is False
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "articles") is None


# --- replica checks ------------------------------------------------------------------------------


@pytest.fixture
def answers(monkeypatch, settings):
    """Replica checks answered by `answers[alias]` (a row, or an exception to raise)."""
    settings.NEWSROOM_REPLICAS = (REPLICA,)
    settings.NEWSROOM_REPLICA_MAX_LAG_SECONDS = 5
    given = {DEFAULT_DB_ALIAS: ("0/3000000",), REPLICA: (True, True, 0.001)}
    asked = []

    def fetch(alias, sql, params=None):
        asked.append(alias)
        if isinstance(given[alias], Exception):
            raise given[alias]
        return given[alias]

    monkeypatch.setattr(replicas, "_fetch", fetch)
    replicas._states.clear()
    given["asked"] = asked
    yield given
    replicas._states.clear()


@pytest.mark.parametrize(
    ("row", "status", "lag"),
    [
        ((True, True, 0.2), replicas.OK, 0.0),  # replayed all the primary had: current
        ((True, True, 7200.0), replicas.OK, 0.0),  # an idle primary: old but current
        ((True, False, 2.0), replicas.OK, 2.0),
        ((True, False, 9.0), replicas.LAGGING, 9.0),
        ((True, False, None), replicas.LAGGING, None),  # behind, by how much unknown
        ((False, None, None), replicas.NOT_A_REPLICA, None),  # promoted
    ],
)
def test_a_replica_is_judged_by_where_the_primary_stands(answers, row, status, lag):
    answers[REPLICA] = row
    state = replicas.replica_state(REPLICA)
    assert (state.status, state.lag) == (status, lag)


def test_a_replica_that_does_not_answer_is_left_alone_until_the_retry_interval(answers, settings):
    settings.NEWSROOM_REPLICA_RETRY_SECONDS = 30
    answers[REPLICA] = DatabaseError("connection refused")
    assert replicas.choose_replica() is None
    for _ in range(5):
        assert replicas.choose_replica() is None
    assert answers["asked"].count(REPLICA) == 1  # one connection attempt, not one per page
    state = replicas._states[REPLICA]
    assert state.until - state.checked == pytest.approx(30)  # floats of the monotonic clock
    answers[REPLICA] = (True, True, 0.0)
    replicas._states[REPLICA] = replace(state, until=0)  # the retry interval has passed
    assert replicas.choose_replica() == REPLICA


def test_a_primary_that_does_not_answer_makes_the_replica_unknown(answers):
    answers[DEFAULT_DB_ALIAS] = DatabaseError("connection refused")
    assert replicas.replica_state(REPLICA).describe() == "unknown (the primary did not answer)"


def test_a_replica_not_known_to_hold_the_latest_change_is_asked_again_soon(answers):
    answers[REPLICA] = (True, False, 1.0)  # a second behind, within the bound
    state = replicas.replica_state(REPLICA)
    assert state.usable and state.fresh_as_of == pytest.approx(time.time() - 1.0, abs=0.5)
    changed = time.time()  # a change after the replica's freshness: not read from it...
    assert replicas.choose_replica(holding=changed) is None
    assert answers["asked"].count(REPLICA) == 1  # ...and not asked again at once
    answers[REPLICA] = (True, True, 0.0)  # it has replayed the change since
    replicas._states[REPLICA] = replace(
        replicas._states[REPLICA], checked=time.monotonic() - replicas.STALE_RECHECK_SECONDS
    )
    assert replicas.choose_replica(holding=changed) == REPLICA
    assert replicas.choose_replica(holding=None) == REPLICA
