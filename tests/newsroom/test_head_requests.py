"""HEAD is answered like GET, headers and all, but never with a body, whatever the status.

Django's test client drops HEAD bodies itself, so these tests call the WSGI application the
way gunicorn does and read every byte it would send."""

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import RequestFactory

from tests.articles.factories import ArticleFactory

pytestmark = pytest.mark.django_db


def wsgi(method: str, path: str) -> tuple[str, dict[str, str], bytes]:
    """(status line, headers, body) of one request through the WSGI application."""
    environ = RequestFactory()._base_environ(PATH_INFO=path, REQUEST_METHOD=method)
    started = {}

    def start_response(status, headers, exc_info=None):
        started["status"], started["headers"] = status, dict(headers)

    # As Django's test client does: the end of a request must not close the connection that
    # holds the test's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        result = WSGIHandler()(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            result.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return started["status"], started["headers"], body


@pytest.fixture
def pages(settings):
    settings.SERVE_MEDIA = True
    story = ArticleFactory(with_hero=True)
    return {
        "article": (story.get_absolute_url(), "200"),
        "home": ("/", "200"),
        "not found": ("/no-such-section/no-such-story/", "404"),
        "gone": (ArticleFactory(withdrawn=True).get_absolute_url(), "410"),
        "redirect": (f"/sport/{story.slug}/", "301"),
        "robots": ("/robots.txt", "200"),
        "favicon": ("/favicon.ico", "200"),
        "media file": (story.hero_image.file.url, "200"),
        "missing media": ("/media/no-such-file.jpg", "404"),
    }


@pytest.mark.parametrize(
    "page",
    [
        "article",
        "home",
        "not found",
        "gone",
        "redirect",
        "robots",
        "favicon",
        "media file",
        "missing media",
    ],
)
def test_head_sends_the_get_headers_and_no_body(pages, page):
    path, status = pages[page]
    get_status, get_headers, get_body = wsgi("GET", path)
    head_status, head_headers, head_body = wsgi("HEAD", path)
    assert get_status.split()[0] == head_status.split()[0] == status
    assert head_body == b""
    assert head_headers["Content-Length"] == get_headers["Content-Length"] == str(len(get_body))
    assert head_headers["Content-Type"] == get_headers["Content-Type"]
