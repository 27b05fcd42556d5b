"""The reads collector (articles.reads_edge): nginx's beacon lines, as nginx sends them over
UDP, counted into the real Redis by the app's rules; what is not a beacon line is refused, and
reads Redis could not take wait for the next flush. nginx itself sending them is in
tests/newsroom/test_nginx.py."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from articles import reads, reads_edge
from tests.articles.factories import ArticleFactory, SectionFactory
from tests.newsroom.loopback import free_port

pytestmark = pytest.mark.django_db
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
ROOT = Path(settings.BASE_DIR)


def line(story="", came_from="-", nl="-", agent=BROWSER, dnt="-", gpc="-") -> bytes:
    """A datagram as nginx sends it (syslog, `nohostname`, the `newsroom_reads` format)."""
    fields = "\t".join(str(value) for value in (story, came_from, nl, agent, dnt, gpc))
    return f"<190>Dec  7 16:04:05 newsroom_reads: {fields}".encode()


def today(story) -> dict:
    return reads.per_story(story.pk)["days"][0][1]


def test_reads_are_counted_by_where_readers_came_from_in_one_flush(reads_redis):
    story, other = ArticleFactory(), ArticleFactory()
    collector = reads_edge.Collector()
    collector.take(line(story.pk, "https%3A%2F%2Fwww.google.co.uk%2Fsearch%3Fq%3Dpier"))
    collector.take(line(story.pk, "https%3A%2F%2Ft.co%2Fabc"))
    collector.take(line(story.pk, "https%3A%2F%2Ft.co%2Fabc"))
    collector.take(line(story.pk, "", "1"))
    collector.take(line(other.pk))
    assert collector.flush() == 5 and collector.pending == {}
    assert today(story) == {"search": 1, "social": 2, "newsletter": 1, "other": 0, "direct": 0}
    assert today(other)["direct"] == 1
    assert [pk for pk, _ in reads.ranking("most")][:2] == [story.pk, other.pk]


@pytest.mark.parametrize(
    "fields",
    [{"agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"}, {"dnt": "1"}, {"gpc": "1"},
     {"agent": "-"}],
    ids=["robot", "do not track", "global privacy control", "no agent"],
)  # fmt: skip
def test_robots_and_readers_who_asked_not_to_be_counted_are_skipped(reads_redis, fields):
    story = ArticleFactory()
    collector = reads_edge.Collector()
    collector.take(line(story.pk, **fields))
    assert (collector.skipped, collector.flush()) == (1, 0)
    assert sum(today(story).values()) == 0


@pytest.mark.parametrize(
    "datagram",
    [b"", b"\xff\xfe\x00junk", b"<190>Dec  7 16:04:05 sshd: Accepted publickey",
     line("")[:-1], line("13; DROP TABLE"), line("9" * 40), line("-3"),
     line(1) + b"\textra"],
    ids=["empty", "binary", "another program", "fields missing", "not a number", "huge",
         "negative", "a field too many"],
)  # fmt: skip
def test_what_is_not_a_beacon_line_is_refused(reads_redis, datagram):
    collector = reads_edge.Collector()
    collector.take(datagram)
    assert (collector.received, collector.refused, collector.pending) == (1, 1, {})


def test_stories_readers_cannot_see_are_not_counted(reads_redis):
    draft = ArticleFactory(draft=True)
    collector = reads_edge.Collector()
    collector.take(line(draft.pk))
    collector.take(line(987654))
    assert collector.flush() == 0 and sum(today(draft).values()) == 0


def test_reads_redis_could_not_take_wait_for_the_next_flush(reads_redis):
    story = ArticleFactory()
    collector = reads_edge.Collector()
    collector.take(line(story.pk))
    down = {**settings.CACHES["default"], "LOCATION": f"redis://127.0.0.1:{free_port()}/0"}
    with override_settings(CACHES={"default": down}):
        assert collector.flush() == 0
    assert collector.total == 1
    assert collector.flush() == 1 and today(story)["direct"] == 1


@pytest.mark.django_db(transaction=True)  # the collector's thread sees the story
def test_the_collector_serves_a_socket_flushing_as_it_goes_until_stopped(reads_redis):
    SectionFactory(slug="news", name="News")  # transactional tests empty migrations' rows too
    story = ArticleFactory()
    stop, done = threading.Event(), {}
    with reads_edge.open_socket("127.0.0.1:0") as sock:

        def serve():
            try:
                done["collector"] = reads_edge.serve(sock, stop=stop, flush_every=0.05)
            finally:
                connection.close()  # the thread's own

        thread = threading.Thread(target=serve)
        thread.start()
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
                for _ in range(3):
                    sender.sendto(line(story.pk), sock.getsockname())
            deadline = time.monotonic() + 10
            while today(story)["direct"] < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            stop.set()
            thread.join(timeout=10)
    assert today(story)["direct"] == 3
    assert (done["collector"].received, done["collector"].counted) == (3, 3)


def test_the_command_says_what_is_wrong_with_its_options():
    with pytest.raises(CommandError, match="Cannot listen on 'nowhere'"):
        call_command("collect_reads", listen="nowhere")
    with pytest.raises(CommandError, match="--flush-seconds must be more than 0"):
        call_command("collect_reads", flush_seconds=0)


def test_the_command_stops_on_sigterm_and_says_what_it_took():
    env = {**os.environ, "DJANGO_SECRET_KEY": "x", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "manage.py", "collect_reads", "--listen", "127.0.0.1:0"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        first = process.stdout.readline()
        assert first.startswith("Collecting reads on 127.0.0.1:"), first
        port = int(first.split(":")[1].split()[0])
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto(b"not a beacon line", ("127.0.0.1", port))
            sender.sendto(line("x"), ("127.0.0.1", port))
        threading.Event().wait(0.5)
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert out.strip() == "Stopped: 2 received, 0 counted, 0 skipped, 2 refused."
