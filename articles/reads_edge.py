"""Reads counted at the edge: nginx answers the reads beacon itself (204, nothing kept on its
disk) and sends each one on as a syslog line over UDP (deploy/nginx/newsroom.conf, the
`newsroom_reads` log format); this collector (`manage.py collect_reads`) applies the app's own
rules to each (`articles.reads`: robots, Do Not Track and Global Privacy Control, stories
readers can see, where the reader came from) and adds a second's reads to Redis in one round
trip. So a busy day's beacons cost one nginx log line each, and no gunicorn worker.

A line is the beacon's `id`, `from` and `nl` as the page put them in its address (URL-encoded),
then the User-Agent, DNT and Sec-GPC headers, separated by tabs (nginx's JSON escaping leaves
no tab inside a value). A datagram that is not such a line is counted as refused and dropped.
Counts Redis could not take (it was down) are kept for the next flush, up to `MAX_PENDING`
different stories and kinds."""

from __future__ import annotations

import logging
import select
import socket
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from threading import Event
from urllib.parse import unquote_plus

from django.db import DatabaseError, connection
from redis.exceptions import RedisError

from . import reads

logger = logging.getLogger(__name__)
TAG = "newsroom_reads"  # nginx's syslog tag for these lines
FIELDS = 6  # id, from, nl, User-Agent, DNT, Sec-GPC
MAX_PENDING = 100_000
# Bytes of datagrams the kernel may hold while the collector is busy or not scheduled: one a
# datagram is dropped when they are full (at 60,000 reads/s, a second's worth is about 64 MiB
# of kernel buffers). Past net.core.rmem_max only with CAP_NET_ADMIN; else raise that sysctl.
RECEIVE_BUFFER = 64 * 1024 * 1024
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)  # Linux
REPORT_EVERY = 60.0  # seconds between the log lines that say how much was counted


@lru_cache(maxsize=4096)
def _countable(agent: str, dnt: str, gpc: str) -> bool:
    return reads.is_countable({"User-Agent": agent, "DNT": dnt, "Sec-GPC": gpc})


@lru_cache(maxsize=4096)
def _kind(came_from: str, newsletter: bool) -> str:
    return reads.kind_of(unquote_plus(came_from)[:500], newsletter)


def _value(text: str) -> str:
    return "" if text == "-" else text  # nginx writes "-" for a header that was not sent


@dataclass
class Collector:
    """Reads taken from datagrams (`take`), added to Redis by `flush`."""

    pending: Counter = field(default_factory=Counter)
    received: int = 0
    refused: int = 0  # not a beacon line, or no story id
    skipped: int = 0  # robots, and browsers that asked not to be counted
    counted: int = 0

    def take(self, datagram: bytes) -> None:
        self.received += 1
        _, found, line = datagram.decode("utf-8", "replace").partition(f"{TAG}: ")
        parts = line.rstrip("\n").split("\t")
        if not found or len(parts) != FIELDS:
            self.refused += 1
            return
        story, came_from, newsletter, agent, dnt, gpc = map(_value, parts)
        if not story.isdigit() or len(story) > 18:
            self.refused += 1
        elif not _countable(agent, dnt, gpc):
            self.skipped += 1
        else:
            self.pending[int(story), _kind(came_from, newsletter == "1")] += 1

    def flush(self) -> int:
        """Add what is pending to Redis; the number of reads counted (stories readers cannot
        see are not). Kept for the next flush if Redis or the database failed."""
        if not self.pending:
            return 0
        if not reads.can_count():  # Redis failed a moment ago: the cache skips it a while
            return self._keep("Redis is not available")
        try:
            counted = reads.record_many(self.pending)
        except (RedisError, DatabaseError, OSError) as exc:
            if isinstance(exc, DatabaseError):
                connection.close()  # a new connection at the next query
            return self._keep(exc)
        self.pending.clear()
        self.counted += counted
        return counted

    def _keep(self, why) -> int:
        logger.warning("reads kept for the next flush (%s reads): %s", self.total, why)
        if len(self.pending) > MAX_PENDING:
            logger.error("reads dropped: %s pending, over %s", self.total, MAX_PENDING)
            self.pending.clear()
        return 0

    @property
    def total(self) -> int:
        return sum(self.pending.values())


def open_socket(address: str) -> socket.socket:
    """A UDP socket bound to "host:port" (port 0: any free one)."""
    host, _, port = address.rpartition(":")
    family, kind, proto, _, where = socket.getaddrinfo(
        host.strip("[]") or "0.0.0.0", int(port), type=socket.SOCK_DGRAM
    )[0]
    sock = socket.socket(family, kind, proto)
    try:  # past net.core.rmem_max, where the process may (CAP_NET_ADMIN)
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RECEIVE_BUFFER)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    sock.bind(where)
    return sock


def serve(sock: socket.socket, *, stop: Event, flush_every: float = 1.0) -> Collector:
    """Take datagrams from `sock` until `stop` is set, flushing every `flush_every` seconds
    and once more at the end. The socket is read without blocking while datagrams wait (one
    system call each) and waited on only when there are none."""
    collector = Collector()
    sock.setblocking(False)
    wait = min(flush_every, 0.25)
    next_flush = next_report = time.monotonic()
    while not stop.is_set():
        try:
            collector.take(sock.recv(65535))
        except BlockingIOError:
            select.select([sock], [], [], wait)
        now = time.monotonic()
        if now >= next_flush:
            collector.flush()
            next_flush = now + flush_every
        if now >= next_report + REPORT_EVERY:
            logger.info(
                "reads: %s received, %s counted, %s skipped, %s refused",
                collector.received, collector.counted, collector.skipped, collector.refused,
            )  # fmt: skip
            next_report = now
    collector.flush()
    return collector
