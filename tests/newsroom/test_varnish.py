"""Varnish in front of the app, configured by deploy/varnish/newsroom.vcl: Debian's varnishd (with
vmod_xkey from varnish-modules) runs the template rendered for 127.0.0.1, everything it writes
in a temporary directory, in front of pytest-django's live server (which runs in this process)
or of a small stand-in origin whose answers a test chooses. Saves purge it for real: the purge
backend points at its purge listener, and tasks run at once.

Without /usr/sbin/varnishd and vmod_xkey every test here skips with the reason; under CI=true
a skip fails the run (tests/conftest.py), and `make system-packages` installs both, so CI
cannot skip them."""

import html
import http.client
import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.urls import reverse

from articles.models import Article
from articles.services import workflow
from newsroom.purge import PurgeFailed, VarnishPurge
from tests.accounts.factories import UserFactory
from tests.articles.factories import ArticleFactory, SectionFactory
from tests.newsroom.loopback import LoopbackServer, free_port

# Django's live server on the loopback address, where Varnish's backend points (pytest-django's
# default, "localhost", may resolve to ::1 as well).
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

VARNISHD = Path("/usr/sbin/varnishd")
XKEY = next(Path("/usr/lib").glob("*/varnish/vmods/libvmod_xkey.so"), None)
TEMPLATE_DIR = Path(settings.BASE_DIR) / "deploy" / "varnish"
PUBLIC = "public, max-age=60, s-maxage=3600"

pytestmark = pytest.mark.skipif(
    not os.access(VARNISHD, os.X_OK) or XKEY is None,
    reason=f"varnishd ({VARNISHD}) or vmod_xkey is not installed: run `make system-packages`"
    " (as root) for Debian's varnish and varnish-modules",
)


def _render():
    spec = importlib.util.spec_from_file_location("varnish_render", TEMPLATE_DIR / "render.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.render


class Varnish(LoopbackServer):
    """varnishd on 127.0.0.1: readers on `port`, purges on `purge_port`. `get`/`post` return
    (status, lower-cased headers, text)."""

    def __init__(self, port: int, purge_port: int):
        self.port, self.purge_port = port, purge_port

    @property
    def purge_url(self) -> str:
        return f"http://127.0.0.1:{self.purge_port}/"

    def purge(self, keys: str, *, soft=False, port=None):
        """(status, text) of a PURGE of `keys`, on the purge listener unless told otherwise."""
        header = "xkey-softpurge" if soft else "xkey-purge"
        status, _, text = self.request(
            "PURGE", "/", headers={header: keys}, port=port or self.purge_port
        )
        return status, text


def cache(answer) -> str | None:
    """What Varnish did: HIT, STALE (a copy past its lifetime), MISS or PASS."""
    values = answer[1].get("x-cache")
    return values[0] if values else None


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)  # the manager stops its cache process with it
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


@pytest.fixture
def start_varnish():
    """Start a Varnish in front of `backend` ("host:port"), with its own working directory, and
    stop every one started when the test ends."""
    started = []

    def start(backend: str, *, purgers="127.0.0.1,::1", grace="1h", refresh="10s") -> Varnish:
        scratch = Path(tempfile.mkdtemp(prefix="newsroom-varnish-test-"))
        host, backend_port = backend.rsplit(":", 1)
        vcl = scratch / "newsroom.vcl"
        vcl.write_text(
            _render()(
                BACKEND_HOST=host,
                BACKEND_PORT=backend_port,
                PURGERS=purgers,
                GRACE=grace,
                REFRESH_GRACE=refresh,
            )
        )
        port, purge_port = free_port(), free_port()
        # -j none: no separate users for the cache process (root or not, it is this user's).
        # A small log and few threads: the machine is shared.
        command = [
            str(VARNISHD), "-F", "-j", "none", "-n", str(scratch / "work"), "-f", str(vcl),
            "-a", f"127.0.0.1:{port}", "-a", f"purge=127.0.0.1:{purge_port}",
            "-s", "malloc,32m", "-T", "none", "-p", "vsl_space=1M", "-p", "thread_pools=1",
            "-p", "thread_pool_min=10", "-p", "thread_pool_max=100",
        ]  # fmt: skip
        log_path = scratch / "varnishd.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        started.append((process, scratch))
        _wait_for(process, [port, purge_port], log_path)
        return Varnish(port, purge_port)

    yield start
    for process, scratch in started:
        _stop(process)
        shutil.rmtree(scratch, ignore_errors=True)


def _wait_for(process, ports, log_path, timeout=60.0):
    deadline = time.monotonic() + timeout
    waiting = list(ports)
    while waiting and time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"varnishd exited ({process.returncode}): {_read(log_path)}")
        try:
            with socket.create_connection(("127.0.0.1", waiting[0]), timeout=1):
                waiting.pop(0)
        except OSError:
            time.sleep(0.1)
    if waiting:
        pytest.fail(f"varnishd did not listen on 127.0.0.1:{waiting[0]}: {_read(log_path)}")


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-4000:]
    except OSError:
        return ""


def _poll(check, *, seconds: float, every: float = 0.05):
    """Call `check` until it returns something true or `seconds` pass; the last result."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(every)


# --- a stand-in origin ---------------------------------------------------------------------------


class Origin:
    """An HTTP server on 127.0.0.1 answering each path as `answers` says (status, headers,
    body), after `delay` seconds; it counts the requests for each path and keeps the last
    one's headers. /readyz (Varnish's probe) always answers 200 and is not counted."""

    def __init__(self):
        self.answers: dict[str, tuple[int, dict, str]] = {}
        self.delay = 0.0
        self.seen: Counter = Counter()
        self.last_headers: dict[str, str] = {}
        origin = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.0: each connection closes after its answer, so once stopped, nothing
            # (no connection Varnish keeps open) answers any more.
            def do_GET(self):
                if self.path == "/readyz":
                    status, headers, body = 200, {}, '{"status": "ok"}'
                else:
                    origin.seen[self.path] += 1
                    origin.last_headers = dict(self.headers.items())
                    time.sleep(origin.delay)
                    status, headers, body = origin.answers.get(self.path, (404, {}, "Not here"))
                data = body.encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.running = True

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def page(self, path, body, *, cache_control=PUBLIC, keys="all", status=200, **headers):
        fields = {"Cache-Control": cache_control, "xkey": keys, **headers}
        self.answers[path] = (status, {k: v for k, v in fields.items() if v is not None}, body)

    def stop(self):
        """Stop answering: the port is closed, a connection to it is refused."""
        if self.running:
            self.server.shutdown()
            self.server.server_close()
            self.running = False


@pytest.fixture
def origin():
    server = Origin()
    yield server
    server.stop()


# --- what is stored and what is not -------------------------------------------------------------


def test_a_response_the_origin_marks_public_is_stored_for_its_s_maxage(origin, start_varnish):
    varnish = start_varnish(origin.address)
    origin.page("/page", "first copy", keys="all page")

    answers = [varnish.get("/page") for _ in range(3)]

    assert [(a[0], cache(a), a[2]) for a in answers] == [
        (200, "MISS", "first copy"),
        (200, "HIT", "first copy"),
        (200, "HIT", "first copy"),
    ]
    assert origin.seen["/page"] == 1


@pytest.mark.parametrize(
    "cache_control, extra",
    [
        pytest.param(None, {}, id="no Cache-Control"),
        pytest.param("max-age=60", {}, id="not marked public"),
        pytest.param("private, max-age=60", {}, id="private"),
        pytest.param("max-age=0, no-cache, no-store, must-revalidate, private", {}, id="never"),
        pytest.param("public, max-age=0, s-maxage=0", {}, id="public for no time"),
        pytest.param(PUBLIC, {"Set-Cookie": "csrftoken=abc; Path=/"}, id="public, sets a cookie"),
        pytest.param(PUBLIC, {"Vary": "*"}, id="varies on everything"),
    ],
)
def test_what_is_not_marked_public_or_sets_a_cookie_is_never_stored(
    origin, start_varnish, cache_control, extra
):
    varnish = start_varnish(origin.address)
    origin.page("/page", "for this reader", cache_control=cache_control, **extra)

    answers = [varnish.get("/page") for _ in range(3)]

    assert [(a[0], cache(a)) for a in answers] == [(200, "MISS")] * 3
    assert origin.seen["/page"] == 3
    if "Set-Cookie" in extra:  # each reader gets their own cookie, none is kept
        assert all(a[1]["set-cookie"] == ["csrftoken=abc; Path=/"] for a in answers)


def test_an_error_page_without_cache_control_is_not_stored_by_default(origin, start_varnish):
    """Varnish on its own keeps a 404 or a 410 two minutes; here only what the app marks."""
    varnish = start_varnish(origin.address)
    origin.page("/gone", "Gone", status=410, cache_control=None, keys=None)

    answers = [varnish.get("/gone") for _ in range(2)]
    assert [(a[0], cache(a)) for a in answers] == [(410, "MISS")] * 2
    assert [varnish.get("/missing")[0] for _ in range(2)] == [404, 404]
    assert origin.seen["/gone"] == origin.seen["/missing"] == 2


def test_readers_asking_for_a_page_being_fetched_wait_for_that_one_fetch(origin, start_varnish):
    varnish = start_varnish(origin.address)
    origin.page("/slow", "made once")
    origin.delay = 1.0
    answers = []

    def read():
        answers.append(varnish.get("/slow"))

    readers = [threading.Thread(target=read) for _ in range(6)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(timeout=30)

    assert [(a[0], a[2]) for a in answers] == [(200, "made once")] * 6
    assert origin.seen["/slow"] == 1
    assert sorted(cache(a) for a in answers) == ["HIT"] * 5 + ["MISS"]


def test_varnish_adds_its_peer_to_x_forwarded_for(origin, start_varnish):
    """So behind nginx two proxies append to the header (compose.yaml's NEWSROOM_PROXY_COUNT)."""
    varnish = start_varnish(origin.address)
    origin.page("/page", "hello")

    varnish.get("/page", headers={"X-Forwarded-For": "203.0.113.7"})

    assert origin.last_headers["X-Forwarded-For"] == "203.0.113.7, 127.0.0.1"


# --- purging --------------------------------------------------------------------------------------


def test_a_hard_purge_forgets_the_pages_with_a_key_and_only_those(origin, start_varnish):
    varnish = start_varnish(origin.address)
    origin.page("/one", "one, first", keys="all a1 home")
    origin.page("/two", "two, first", keys="all a2")
    for path in ("/one", "/two"):
        assert [cache(varnish.get(path)) for _ in range(2)] == ["MISS", "HIT"]
    origin.page("/one", "one, second", keys="all a1 home")
    origin.page("/two", "two, second", keys="all a2")

    status, text = varnish.purge("a1 a9")

    assert (status, "Purged 1" in text) == (200, True)
    one, two = varnish.get("/one"), varnish.get("/two")
    assert (cache(one), one[2]) == ("MISS", "one, second")
    assert (cache(two), two[2]) == ("HIT", "two, first")


def test_a_soft_purge_gives_the_old_copy_while_one_fetch_makes_the_new(origin, start_varnish):
    varnish = start_varnish(origin.address)
    origin.page("/one", "one, first", keys="all a1")
    assert [cache(varnish.get("/one")) for _ in range(2)] == ["MISS", "HIT"]
    origin.page("/one", "one, second", keys="all a1")

    status, text = varnish.purge("a1", soft=True)

    assert (status, "Purged 1" in text) == (200, True)
    stale = varnish.get("/one")
    assert (stale[0], cache(stale), stale[2]) == (200, "STALE", "one, first")
    fresh = _poll(lambda: (a := varnish.get("/one"))[2] == "one, second" and a, seconds=2)
    assert fresh and cache(fresh) == "HIT"
    assert origin.seen["/one"] == 2  # the first fetch and the one refresh


def test_the_app_purges_through_its_varnish_backend_and_is_refused_by_others(origin, start_varnish):
    allowed = start_varnish(origin.address)
    refused = start_varnish(origin.address, purgers="192.0.2.0/24")  # not this machine
    origin.page("/one", "one", keys="all a1")
    for varnish in (allowed, refused):
        assert [cache(varnish.get("/one")) for _ in range(2)] == ["MISS", "HIT"]

    assert VarnishPurge(urls=[allowed.purge_url]).purge(["a1"], soft=False) == 1
    with pytest.raises(PurgeFailed, match="403"):
        VarnishPurge(urls=[refused.purge_url]).purge(["a1"], soft=False)

    assert cache(allowed.get("/one")) == "MISS"
    assert cache(refused.get("/one")) == "HIT"  # the refused purge changed nothing


def test_purges_are_taken_on_the_purge_listener_only(origin, start_varnish):
    """nginx forwards readers to the other listener, and nginx is on an allowed network: a
    PURGE a reader sends through it must not be taken."""
    varnish = start_varnish(origin.address)
    origin.page("/one", "one", keys="all a1")
    assert [cache(varnish.get("/one")) for _ in range(2)] == ["MISS", "HIT"]

    assert varnish.purge("a1", port=varnish.port)[0] == 405
    assert varnish.get("/one", port=varnish.purge_port)[0] == 405  # and it serves no pages
    assert varnish.request("PURGE", "/", port=varnish.purge_port)[0] == 400  # no keys named

    assert cache(varnish.get("/one")) == "HIT"


# --- when the origin fails ------------------------------------------------------------------------


def test_a_copy_is_served_stale_while_the_origin_is_down_within_the_grace_bound(
    origin, start_varnish
):
    # No grace for refreshing (refresh=0s): what is served stale here is served because the
    # origin failed, not because a refresh was under way.
    varnish = start_varnish(origin.address, grace="3s", refresh="0s")
    origin.page("/kept", "kept copy", keys="all kept")
    origin.page("/dropped", "dropped copy", keys="all dropped")
    for path in ("/kept", "/dropped"):
        assert [cache(varnish.get(path)) for _ in range(2)] == ["MISS", "HIT"]
    origin.stop()

    assert varnish.purge("kept", soft=True)[0] == 200
    assert varnish.purge("dropped")[0] == 200  # hard: nothing is left to serve

    stale = varnish.get("/kept")
    assert (stale[0], cache(stale), stale[2]) == (200, "STALE", "kept copy")
    down = varnish.get("/dropped")
    assert down[0] == 503 and "Back in a moment" in down[2] and down[1]["retry-after"] == ["30"]
    # Past the grace bound the copy is gone too.
    started = time.monotonic()
    gone = _poll(lambda: varnish.get("/kept")[0] == 503, seconds=10, every=0.25)
    assert gone and time.monotonic() - started <= 6


def test_a_copy_is_served_stale_when_the_origin_answers_an_error(origin, start_varnish):
    varnish = start_varnish(origin.address, refresh="0s")
    origin.page("/page", "good copy", keys="all page")
    assert [cache(varnish.get("/page")) for _ in range(2)] == ["MISS", "HIT"]
    origin.page("/page", "Server Error", status=500, cache_control=None, keys=None)

    assert varnish.purge("page", soft=True)[0] == 200
    stale = varnish.get("/page")

    assert (stale[0], cache(stale), stale[2]) == (200, "STALE", "good copy")
    assert origin.seen["/page"] >= 2  # the origin was asked, and failed


# --- in front of the app ------------------------------------------------------------------------


@pytest.fixture
def edge(live_server, transactional_db, settings, start_varnish):
    """A fresh Varnish (empty cache) in front of the live server; saves purge it at once."""
    # transactional_db empties the tables between tests, data migrations' rows included.
    SectionFactory(slug="news", name="News")
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    varnish = start_varnish(urlsplit(live_server.url).netloc)
    settings.NEWSROOM_PURGE_BACKENDS = [
        {"BACKEND": "newsroom.purge.VarnishPurge", "URLS": [varnish.purge_url]}
    ]
    return varnish


def _app_get(live_server, path):
    netloc = urlsplit(live_server.url).netloc
    connection = http.client.HTTPConnection(netloc, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return {name.lower(): value for name, value in response.getheaders()}
    finally:
        connection.close()


def test_a_story_is_a_miss_then_a_hit_and_readers_get_a_browser_lifetime_only(edge, live_server):
    story = ArticleFactory(headline="Seagull steals chips from mayor")
    path = story.get_absolute_url()

    first, second = edge.get(path), edge.get(path)

    assert [(a[0], cache(a)) for a in (first, second)] == [(200, "MISS"), (200, "HIT")]
    assert second[2] == first[2] and "Seagull steals chips from mayor" in second[2]
    # The app gave the edge an hour and named what the page shows ...
    sent = _app_get(live_server, path)
    assert "s-maxage=3600" in sent["cache-control"]
    assert {"all", f"a{story.pk}"} <= set(sent["xkey"].split())
    # ... and readers see neither: a minute for their browser, no keys, no Age.
    for answer in (first, second):
        control = answer[1]["cache-control"][0]
        assert "s-maxage" not in control and "public" in control
        assert 0 < int(re.search(r"max-age=(\d+)", control).group(1)) <= 60
        assert "xkey" not in answer[1] and "age" not in answer[1]


def test_a_request_with_a_session_cookie_is_passed_so_staff_see_the_page_as_it_is(edge):
    story = ArticleFactory(headline="Pier reopens")
    path = story.get_absolute_url()
    assert [cache(edge.get(path)) for _ in range(2)] == ["MISS", "HIT"]
    # A change nobody purged (an update bypasses the signals): the cached copy is out of date.
    Article.objects.filter(pk=story.pk).update(headline="Pier reopens, then closes again")
    session = {"Cookie": "csrftoken=abc; sessionid=not-a-real-session"}

    staff = [edge.get(path, headers=session) for _ in range(2)]
    reader = edge.get(path)

    assert [(a[0], cache(a)) for a in staff] == [(200, "PASS")] * 2
    assert all("Pier reopens, then closes again" in a[2] for a in staff)
    # Nothing the session requests fetched was stored for readers.
    assert cache(reader) == "HIT" and "closes again" not in reader[2]


def test_cookies_other_than_the_session_do_not_stop_caching(edge):
    ArticleFactory()
    first = edge.get("/", headers={"Cookie": "csrftoken=abc; _ga=GA1.2.3"})
    second = edge.get("/", headers={"Cookie": "_ga=GA1.2.4"})
    assert [cache(first), cache(second)] == ["MISS", "HIT"]


def test_the_admin_a_preview_and_posts_are_never_cached(edge):
    draft = ArticleFactory(draft=True)
    preview = reverse("admin:articles_article_preview", args=[draft.pk])
    fields = {"email": "reader@example.com", "website": "", "next": "/"}

    logins = [edge.get("/admin/login/") for _ in range(2)]
    previews = [edge.get(preview) for _ in range(2)]
    posts = [edge.post("/newsletters/sign-up/", fields) for _ in range(2)]

    assert [(a[0], cache(a)) for a in logins] == [(200, "PASS")] * 2
    assert all("csrftoken=" in " ".join(a[1]["set-cookie"]) for a in logins)
    assert [(a[0], cache(a)) for a in previews] == [(302, "PASS")] * 2  # to the login
    assert [(a[0], cache(a)) for a in posts] == [(200, "PASS")] * 2


def test_a_404_is_not_cached_so_a_story_published_at_its_address_shows_at_once(edge):
    editor = UserFactory(editor=True)
    draft = ArticleFactory(draft=True, headline="Gull elected to council")
    path = draft.get_absolute_url()
    assert [(a[0], cache(a)) for a in (edge.get(path), edge.get(path))] == [(404, "MISS")] * 2

    workflow.publish_article(draft, by=editor)

    now, then = edge.get(path), edge.get(path)
    assert (now[0], cache(now), cache(then)) == (200, "MISS", "HIT")
    assert "Gull elected to council" in now[2]


def test_a_withdrawal_purges_the_story_and_its_listings_at_once_and_nothing_else(edge):
    editor = UserFactory(editor=True)
    story = ArticleFactory(headline="Mayor denies chip theft")
    other = ArticleFactory(section=SectionFactory(slug="sport", name="Sport"))
    pages = [story.get_absolute_url(), "/", other.get_absolute_url()]
    for path in pages:
        assert [cache(edge.get(path)) for _ in range(2)] == ["MISS", "HIT"]

    workflow.withdraw_article(story, by=editor)  # a takedown: a hard purge

    gone, home, unrelated = (edge.get(path) for path in pages)
    assert (gone[0], cache(gone)) == (410, "MISS")
    assert cache(home) == "MISS" and pages[0] not in home[2]
    assert cache(unrelated) == "HIT"


def test_an_edit_shows_within_a_second_through_a_soft_purge(edge):
    editor = UserFactory(editor=True)
    story = ArticleFactory(headline="Pier closed after seagull uprising")
    other = ArticleFactory(section=SectionFactory(slug="sport", name="Sport"))
    pages = [story.get_absolute_url(), "/", other.get_absolute_url()]
    for path in pages:
        assert [cache(edge.get(path)) for _ in range(2)] == ["MISS", "HIT"]
    new = "Pier reopened after seagull truce"

    story.headline = new
    workflow.save_article(story, by=editor)
    edited = time.monotonic()

    # The first reader gets the old copy while one fetch refreshes it (soft); within a second
    # every reader gets the new one, from the cache again.
    for path in pages[:2]:
        first = edge.get(path)
        assert cache(first) == "STALE" and html.escape(new) not in first[2], path

        def fresh(path=path):
            answer = edge.get(path)
            return html.escape(new) in answer[2] and cache(answer) == "HIT" and answer

        assert _poll(fresh, seconds=1), f"{path} does not show the edit"
    assert time.monotonic() - edited < 2
    assert cache(edge.get(pages[2])) == "HIT"


def test_the_compose_vcl_compiles(tmp_path):
    """default.vcl names the compose host `web`, which only resolves there: the same template
    rendered for loopback is what varnishd compiles here (test_production checks the file is
    the template's compose rendering)."""
    vcl = tmp_path / "newsroom.vcl"
    vcl.write_text(
        _render()(
            BACKEND_HOST="127.0.0.1",
            BACKEND_PORT="9",
            PURGERS="127.0.0.1,::1,10.0.0.0/8",
            GRACE="1h",
            REFRESH_GRACE="10s",
        )
    )
    result = subprocess.run(
        [str(VARNISHD), "-C", "-j", "none", "-n", str(tmp_path / "work"), "-f", str(vcl)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
