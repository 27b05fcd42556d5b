"""nginx in front of the app, configured by deploy/nginx/newsroom.conf: Debian's nginx runs with
the template rendered for 127.0.0.1 (its own prefix, pid file, error log and cache in a
temporary directory) and proxies to pytest-django's live server, which runs in this process.

Without /usr/sbin/nginx every test here skips with the reason; under CI=true a skip fails the
run (tests/conftest.py), and `make system-packages` installs nginx, so CI cannot skip them."""

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
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from django.conf import settings
from django.db import connection as django_connection
from django.utils import timezone

from articles import reads, reads_edge
from articles.services import workflow
from newsroom import cache as page_cache
from tests.accounts.factories import UserFactory
from tests.articles.factories import ArticleFactory, SectionFactory
from tests.newsroom.loopback import LoopbackServer, free_port

# Django's live server on the loopback address, where nginx's upstream points (pytest-django's
# default, "localhost", may resolve to ::1 as well).
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

NGINX = Path("/usr/sbin/nginx")
TEMPLATE_DIR = Path(settings.BASE_DIR) / "deploy" / "nginx"
MIME_TYPES = Path("/etc/nginx/mime.types")
STATIC_FILE = "css/nginx-test.0123456789ab.css"
STATIC_TEXT = "body { color: #c00; } /* served by nginx itself */\n"

pytestmark = [
    pytest.mark.skipif(
        not os.access(NGINX, os.X_OK),
        reason=f"nginx is not installed at {NGINX}: run `make system-packages` (as root)",
    ),
    pytest.mark.django_db(transaction=True),
]


def _render():
    spec = importlib.util.spec_from_file_location("nginx_render", TEMPLATE_DIR / "render.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.render


class Proxy(LoopbackServer):
    """nginx on 127.0.0.1:port; `get`/`post` return (status, lower-cased headers, text)."""

    def __init__(self, port: int, static_root: Path, reads_socket: socket.socket):
        self.port, self.static_root, self.reads_socket = port, static_root, reads_socket

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def cache_status(headers) -> str | None:
    values = headers.get("x-cache-status")
    return values[0] if values else None


@pytest.fixture
def proxy(live_server, transactional_db):
    """A fresh nginx (empty cache) in front of the live server for each test, stopped after."""
    # transactional_db empties the tables between tests, data migrations' rows included.
    SectionFactory(slug="news", name="News")
    upstream = urlsplit(live_server.url).netloc
    scratch = Path(tempfile.mkdtemp(prefix="newsroom-nginx-test-"))
    # When the tests run as root, nginx's workers are `nobody`: they must reach these files.
    scratch.chmod(0o755)
    static_root = scratch / "static"
    (static_root / "css").mkdir(parents=True)
    (static_root / STATIC_FILE).write_text(STATIC_TEXT)
    (scratch / "media").mkdir()
    (scratch / "tmp").mkdir()
    port = free_port()
    # Where nginx sends the reads beacon's lines: a test that counts them runs the collector.
    reads_socket = reads_edge.open_socket("127.0.0.1:0")
    site = _render()(
        CACHE_DIR=str(scratch / "cache"),
        UPSTREAM=upstream,
        LISTEN=f"127.0.0.1:{port}",
        STATIC_ROOT=str(static_root),
        MEDIA_ROOT=str(scratch / "media"),
        PAGE_CACHE="newsroom_pages",  # nothing else in front: nginx micro-caches pages
        READS_COLLECTOR=f"127.0.0.1:{reads_socket.getsockname()[1]}",
    )
    (scratch / "newsroom.conf").write_text(site)
    temp_paths = "".join(
        f"{kind}_temp_path {scratch}/tmp/{kind}; "
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    mime = f"include {MIME_TYPES}; " if MIME_TYPES.is_file() else ""
    config = scratch / "nginx.conf"
    config.write_text(
        f"daemon off; worker_processes 1; pid {scratch}/nginx.pid; "
        f"error_log {scratch}/error.log warn;\nevents {{}}\n"
        f"http {{ {mime}access_log off; {temp_paths}include {scratch}/newsroom.conf; }}\n"
    )
    command = [str(NGINX), "-p", f"{scratch}/", "-c", str(config), "-e", str(scratch / "error.log")]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        _wait_for(process, port, scratch / "error.log")
        yield Proxy(port, static_root, reads_socket)
    finally:
        reads_socket.close()
        if process.poll() is None:
            os.kill(process.pid, signal.SIGQUIT)  # graceful stop of the master and its worker
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        shutil.rmtree(scratch, ignore_errors=True)


def _wait_for(process, port, error_log, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"nginx exited ({process.returncode}): {_read(error_log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"nginx did not listen on 127.0.0.1:{port}: {_read(error_log)}")


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _poll(check, *, seconds: float, every: float = 0.25):
    """Call `check` until it returns something true or `seconds` pass; the last result."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(every)


def test_a_public_page_is_served_from_nginx_cache_on_the_second_request(proxy):
    article = ArticleFactory(headline="Seagull steals chips from mayor")
    path = article.get_absolute_url()

    first_status, first, first_body = proxy.get(path)
    second_status, second, second_body = proxy.get(path)

    assert (first_status, cache_status(first)) == (200, "MISS")
    assert re.search(r"\bpublic\b.*\bmax-age=\d+", first["cache-control"][0])
    assert (second_status, cache_status(second)) == (200, "HIT")
    assert second_body == first_body and "Seagull steals chips from mayor" in second_body


def test_a_request_with_a_session_cookie_is_never_a_hit_and_never_stored(proxy):
    ArticleFactory()
    session = {"Cookie": "csrftoken=abc; sessionid=not-a-real-session"}

    with_session = [proxy.get("/", headers=session) for _ in range(2)]
    anonymous = [proxy.get("/") for _ in range(2)]
    after = proxy.get("/", headers={"Cookie": "sessionid=not-a-real-session"})

    assert [(s, cache_status(h)) for s, h, _ in with_session] == [(200, "BYPASS")] * 2
    # Nothing was stored for the session requests: the first anonymous one is a miss.
    assert [cache_status(h) for _, h, _ in anonymous] == ["MISS", "HIT"]
    # And a page in the cache is still not given to a request with a session.
    assert cache_status(after[1]) == "BYPASS"


def test_the_admin_login_page_is_never_cached(proxy):
    answers = [proxy.get("/admin/login/") for _ in range(3)]

    assert [(s, cache_status(h)) for s, h, _ in answers] == [(200, "BYPASS")] * 3
    assert all("csrftoken=" in " ".join(h.get("set-cookie", [])) for _, h, _ in answers)


def test_a_newsletter_sign_up_post_is_never_cached(proxy):
    fields = {"email": "reader@example.com", "website": "", "next": "/"}

    answers = [proxy.post("/newsletters/sign-up/", fields) for _ in range(2)]

    assert [s for s, _, _ in answers] == [200, 200]
    assert [cache_status(h) for _, h, _ in answers] == [None, None]  # POSTs are not looked up


def test_the_admin_login_form_posts_through_nginx_on_a_port_other_than_80(proxy):
    """The Host nginx passes on keeps the port the browser used, so Django's CSRF origin check
    (Origin: http://host:port) passes, as it does without nginx in front."""
    UserFactory(username="deskeditor", editor=True)
    status, headers, page = proxy.get("/admin/login/")
    cookie = next(c for c in headers["set-cookie"] if c.startswith("csrftoken="))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)

    status, headers, page = proxy.post(
        "/admin/login/?next=/admin/",
        {"csrfmiddlewaretoken": token, "username": "deskeditor", "password": "wrong password"},
        headers={"Cookie": cookie.split(";")[0], "Origin": proxy.origin},
    )

    assert status == 200, page[:300]  # the form again, with its error; 403 was a CSRF failure
    assert "correct username and password" in page
    assert cache_status(headers) is None  # a POST: not looked up in the cache


def test_the_load_balancers_scheme_and_the_host_with_its_port_reach_the_app(proxy, settings):
    """Behind a TLS-terminating load balancer (DJANGO_HTTPS=true trusts its X-Forwarded-Proto)
    the app must see https, or it redirects every request to https for ever; and the Host keeps
    its port. Pages for http and https are cached apart."""
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    ArticleFactory()

    _, secure, secure_page = proxy.get("/", headers={"X-Forwarded-Proto": "https"})
    _, plain, _ = proxy.get("/")

    secure_origin = proxy.origin.replace("http://", "https://")
    assert f'<link rel="canonical" href="{secure_origin}/">' in secure_page
    assert [cache_status(secure), cache_status(plain)] == ["MISS", "MISS"]


def test_static_files_are_served_by_nginx_from_static_root_for_a_year(proxy, live_server):
    status, headers, body = proxy.get(f"/static/{STATIC_FILE}")

    assert status == 200 and body == STATIC_TEXT
    assert headers["content-type"] == ["text/css"]
    # One Cache-Control, long-lived: a second, contradictory one makes caches doubt both.
    assert headers["cache-control"] == ["public, max-age=31536000, immutable"]
    # nginx answered from the directory: the request never reached the app (which would have
    # added its request id, and does not have this file at all).
    assert "x-request-id" not in headers and cache_status(headers) is None
    app = http.client.HTTPConnection(*urlsplit(live_server.url).netloc.split(":"), timeout=30)
    try:
        app.request("GET", f"/static/{STATIC_FILE}")
        assert app.getresponse().status == 404
    finally:
        app.close()


def test_changes_show_once_nginx_copy_runs_out_and_a_withdrawn_story_answers_410(
    proxy, monkeypatch
):
    """Without purges (no Varnish), nginx keeps a page as long as its max-age, never longer:
    a minute (5 s here, the live server being in this process); a story scheduled a few
    seconds ahead makes the home page's max-age only that long, and not the story page's,
    which it does not change."""
    monkeypatch.setattr(page_cache, "DEFAULT_MAX_AGE", 5)
    editor = UserFactory(editor=True)
    story = ArticleFactory(headline="Pier closed after seagull uprising")
    ArticleFactory(published_at=timezone.now() + timedelta(seconds=3))
    path = story.get_absolute_url()
    first, second = proxy.get(path), proxy.get(path)
    home_first, home_second = proxy.get("/"), proxy.get("/")
    assert [cache_status(r[1]) for r in (first, second, home_first, home_second)] == [
        "MISS",
        "HIT",
        "MISS",
        "HIT",
    ]
    max_age = int(re.search(r"max-age=(\d+)", first[1]["cache-control"][0]).group(1))
    assert max_age == 5
    home_max_age = int(re.search(r"max-age=(\d+)", home_first[1]["cache-control"][0]).group(1))
    assert 0 < home_max_age <= 3

    workflow.withdraw_article(story, by=editor)
    new = ArticleFactory(status="draft", published_at=None, headline="Gull elected to council")
    workflow.publish_article(new, by=editor)

    assert proxy.get(path)[0] == 200  # nginx's copy, still within its max-age
    gone = _poll(lambda: proxy.get(path)[0] == 410, seconds=max_age + 10)
    assert gone, f"{path} still answers {proxy.get(path)[:2]} long after its max-age"

    def home_is_fresh():
        _, _, page = proxy.get("/")
        return html.escape(new.headline) in page and path not in page

    assert _poll(home_is_fresh, seconds=max_age + 10)


def test_the_reads_beacon_is_answered_by_nginx_and_counted_by_the_collector(proxy, reads_redis):
    story = ArticleFactory(headline="Pier collapses in storm")
    stop, finished = threading.Event(), {}

    def collect():
        try:
            finished["collector"] = reads_edge.serve(proxy.reads_socket, stop=stop, flush_every=0.1)
        finally:
            django_connection.close()  # the thread's own, before the test database goes

    thread = threading.Thread(target=collect)
    thread.start()
    browser = {"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X)"}
    searched = urlencode({"id": story.pk, "from": "https://www.google.co.uk/search?q=pier"})
    mailed = urlencode({"id": story.pk, "from": "", "nl": "1"})
    try:
        status, headers, body = proxy.request("POST", f"/reads/?{searched}", headers=browser)
        assert (status, body) == (204, "") and headers["cache-control"] == ["no-store"]
        assert "x-cache-status" not in headers  # answered here, not through the app's location
        proxy.request("POST", f"/reads/?{mailed}", headers=browser)
        proxy.request("POST", f"/reads/?{searched}", headers={"User-Agent": "Googlebot/2.1"})
        proxy.request("POST", f"/reads/?{searched}", headers={**browser, "Sec-GPC": "1"})
        assert proxy.request("GET", f"/reads/?{searched}", headers=browser)[0] == 405

        def today():
            return reads.per_story(story.pk)["days"][0][1]

        assert _poll(lambda: today()["newsletter"] == 1, seconds=10)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert today() == {"search": 1, "social": 0, "newsletter": 1, "other": 0, "direct": 0}
    done = finished["collector"]  # the GET was not passed on; each POST once
    assert (done.received, done.counted, done.skipped, done.refused) == (4, 2, 2, 0)
