"""The reads beacon in a real browser (Chromium and the live server): a story on screen for a
moment sends one empty POST with its fields in the address (as nginx needs them, see
tests/newsroom/test_nginx.py), counted into the real Redis; a browser asking not to be tracked
sends nothing."""

import time
from urllib.parse import parse_qs, urlsplit

import pytest

from articles import reads
from tests.e2e.conftest import PHONE

pytestmark = pytest.mark.e2e
# Headless Chromium says "HeadlessChrome", which the counter rightly takes for a robot.
READER = "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 Chrome/156.0 Mobile"


def is_beacon(request) -> bool:
    return request.method == "POST" and urlsplit(request.url).path == "/reads/"


def test_a_story_read_for_a_moment_is_counted_once(site, new_page, reads_redis):
    page = new_page(viewport=PHONE, user_agent=READER)
    story = site.article
    page.goto(f"{site.base_url}{story.get_absolute_url()}?utm_medium=email")
    sent = page.wait_for_event("request", predicate=is_beacon, timeout=15_000)
    fields = parse_qs(urlsplit(sent.url).query, keep_blank_values=True)
    assert fields == {"id": [str(story.pk)], "from": [""], "nl": ["1"]}
    assert not sent.post_data  # nothing in the body: nginx would not read it
    deadline = time.monotonic() + 10
    while not (counted := reads.per_story(story.pk)["days"][0][1]["newsletter"]):
        assert time.monotonic() < deadline, "the beacon was sent but not counted"
        page.wait_for_timeout(100)
    page.wait_for_timeout(4_000)  # a while later: still the one
    assert sum(1 for url in site.requests if urlsplit(url).path == "/reads/") == 1
    assert counted == 1 and reads.per_story(story.pk)["days"][0][1]["newsletter"] == 1


def test_a_browser_asking_not_to_be_tracked_sends_no_beacon(site, new_page, reads_redis):
    page = new_page(user_agent=READER, extra_http_headers={"DNT": "1"})
    page.add_init_script("Object.defineProperty(navigator, 'doNotTrack', {get: () => '1'})")
    page.goto(f"{site.base_url}{site.article.get_absolute_url()}")
    page.wait_for_timeout(4_500)  # past the moment a beacon would go
    assert not [url for url in site.requests if urlsplit(url).path == "/reads/"]
    assert sum(reads.per_story(site.article.pk)["days"][0][1].values()) == 0
