"""Benchmark: a live blog of 500 entries polled by 2,000 readers through Varnish while an
editor posts an entry every 5 s.

The edge as in `bench/edge_cache.py` (200 stories here). The editor's driver makes a visible
story a live blog (`workflow.set_live_status`) with 500 published entries (one insert, before
anything is cached) and posts with `live.post_entry`, each post timed at its commit. 2,000
readers poll the updates fragment (`…/live/updates/`) through Varnish every 10 s from random
phases with `If-None-Match` (the ETag last seen), over 64 threads of one keep-alive connection
each; a probe polls it every 50 ms the same way. After 15 s of readers, 15 entries 5 s apart,
then 15 s more. Freshness: each entry's commit to the probe's first poll showing it, to anyone's,
and to each reader's own (with its 10 s interval). Origin requests per entry: varnishstat's
`MAIN.backend_req` from the first post to the end, over the entries; hit ratio then. The full
page at 500 entries: a GET, then a HIT. Goals (from the issue): a new entry through Varnish
within 3 s (p99, the probe's); origin requests per posted entry ≤ 5.
"""

import heapq
import http.client
import random
import re
import threading
import time
from collections import Counter

from bench.lib import BenchError, load, report
from bench.lib.commands import visible_stories
from bench.lib.load import edge_hit, fetch_ok
from bench.lib.servers import edge_stack, site

NAME = "live_blog"
TITLE = "Live blog: 2,000 readers polling through Varnish while an entry is posted every 5 s"
DATABASE_NAME, STORIES = "newsroom_bench_live", 200
GOALS = {"p99": 3.0, "origin": 5.0}
POLL, PROBE, EVERY, WARM_SECONDS, TAIL_SECONDS = 10.0, 0.05, 5.0, 15.0, 15.0
ARGUMENTS = {"--live-readers": (2000, "Readers (2,000)."),
             "--live-threads": (64, "Their connections (64)."),
             "--live-posts": (15, "Entries posted (15)."),
             "--live-entries": (500, "Entries before (500).")}  # fmt: skip
ENTRY = re.compile(rb'data-entry="(\d+)"')


def run(args) -> dict:
    with site(DATABASE_NAME, stories=STORIES, serve=False) as web:
        pk, path = visible_stories(web.url, 1)[0]
        with edge_stack(web, "keys") as edge:
            made = edge.driver("live", pk, args.live_entries)["entries"]
            if made != args.live_entries:
                raise BenchError(f"the blog has {made} entries, not {args.live_entries}")
            page = _page(edge.varnish.port, path, made)
            figures = _polling(edge.varnish, edge.driver, pk, f"{path}live/updates/", args)
    text = f"a new entry through Varnish within 3 s (p99 of {figures['entries_posted']}, the 50 ms"
    goals = [
        report.goal(f"{text} probe)", GOALS["p99"], figures["edge"]["p99"], "s", most=True),
        report.goal("origin requests per posted entry ≤ 5", GOALS["origin"],
                    figures["origin_requests_per_entry"], "requests", most=True, digits=2),
    ]  # fmt: skip
    return {
        "command": "varnishd -f deploy/varnish/newsroom.vcl (rendered), gunicorn, the edge "
                   "worker, a Python client of 2,000 readers (http.client, keep-alive)",
        **web.described, "page": page, "figures": figures, "goals": goals,
        "table": {"columns": ["measure", "result"], "rows": _rows(page, figures)},
    }  # fmt: skip


def _page(port: int, path: str, entries: int) -> dict:
    """The blog's page through Varnish (a fetch, then its copy) and its fragment, checked."""
    body = edge_hit(port, path)[1]
    headers, fragment = fetch_ok(port, f"{path}live/updates/", "the updates fragment")
    shown = len(ENTRY.findall(fragment))
    if b'data-state="live"' not in fragment or shown != min(20, entries):
        raise BenchError(f"the updates fragment: {shown} entries\n{fragment[:500]}")
    print(f"  page at {entries} entries: 200, {len(body):,} bytes")
    return {"entries": entries, "status": 200, "bytes": len(body), "x_cache": "HIT",
            "fragment_bytes": len(fragment), "fragment_headers": headers}  # fmt: skip


class Readers:
    """`count` readers polling `path` every `every` s from random phases over `threads` keep-alive
    connections; `seen`: (reader, entry, when), each entry new to a reader after its first GET."""

    def __init__(self, port: int, path: str, count: int, threads: int, every: float):
        self.port, self.path, self.every, self.stop = port, path, every, threading.Event()
        self.seen, self.statuses, self.errors = [], Counter(), Counter()
        self.started, rng = time.time() + 0.5, random.Random(count)
        due = [(self.started + rng.uniform(0, every), r) for r in range(count)]
        self.threads = [threading.Thread(target=self._poll, args=(due[t::threads],), daemon=True)
                        for t in range(threads)]  # fmt: skip

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()
        self.seconds = time.time() - self.started

    def _poll(self, due: list) -> None:
        heapq.heapify(due)
        tags, last, connection = {}, {}, None
        while due:
            when, reader = heapq.heappop(due)
            if self.stop.wait(max(0.0, when - time.time())):
                break
            headers = {"If-None-Match": tags[reader]} if reader in tags else {}
            try:
                if connection is None:
                    connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                connection.request("GET", self.path, headers=headers)
                response = connection.getresponse()
                body, at = response.read(), time.time()
            except (OSError, http.client.HTTPException) as exc:
                self.errors[type(exc).__name__] += 1
                connection = connection.close()  # None: a new one next time
            else:
                self.statuses[response.status] += 1
                if response.status == 200:
                    tags[reader] = response.getheader("ETag")
                    ids = [int(pk) for pk in ENTRY.findall(body)]
                    if reader in last:
                        self.seen.extend((reader, pk, at) for pk in ids if pk > last[reader])
                    last[reader] = max([*ids, last.get(reader, 0)])
            heapq.heappush(due, (when + self.every, reader))


def _first(seen: list, posted: dict, ended: float) -> dict:
    """Each entry's commit to its first sighting in `seen` (else the run's end, a lower bound)."""
    first = {}
    for _, pk, at in seen:
        first[pk] = min(at, first.get(pk, at))
    return {pk: first.get(pk, ended) - at for pk, at in posted.items()}


def _polling(varnish, driver, pk: int, path: str, args) -> dict:
    """Readers and the probe polling, an entry every EVERY s after WARM_SECONDS: the figures."""
    posted = {}
    readers = Readers(varnish.port, path, args.live_readers, args.live_threads, POLL)
    with readers, Readers(varnish.port, path, 1, 1, PROBE) as probe:
        time.sleep(WARM_SECONDS)
        before, started = varnish.counters(), time.time()
        for number in range(args.live_posts):
            time.sleep(max(0.0, started + number * EVERY - time.time()))
            done = driver("post", pk, number)
            posted[done["pk"]] = done["post_at"]
        time.sleep(TAIL_SECONDS)
        counted, ended = varnish.since(before), time.time()
    edge, everyone = _first(probe.seen, posted, ended), probe.seen + readers.seen
    views = [at - posted[pk] for _, pk, at in readers.seen if pk in posted]
    requests, statuses = sum(readers.statuses.values()), readers.statuses
    return {
        "entries_posted": len(posted), "edge": load.percentiles(list(edge.values()), 3),
        "edge_seconds_each": {pk: round(s, 3) for pk, s in edge.items()},
        "edge_missed": len(set(posted) - {pk for _, pk, _ in probe.seen}),
        "any_poll": load.percentiles(list(_first(everyone, posted, ended).values()), 3),
        "readers_view_incl_poll_interval": load.percentiles(views, 2),
        "reader_sightings": len(views), "sightings_expected": len(posted) * args.live_readers,
        "origin_requests": counted["backend_req"],
        "origin_requests_per_entry": counted["backend_req"] / len(posted),
        "hit_ratio": counted["hit_ratio"],
        "reader_requests": requests, "reader_requests_per_second": requests / readers.seconds,
        "reader_statuses": dict(statuses), "share_304": statuses[304] / max(1, requests),
        "reader_errors": dict(readers.errors), "probe_errors": dict(probe.errors),
        "errors": sum(readers.errors.values()) + requests - statuses[200] - statuses[304],
    }  # fmt: skip


def _rows(page: dict, f: dict) -> list[list]:
    spread = report.spread
    return [
        [f"{f['entries_posted']} entries: commit to the 50 ms probe's poll through Varnish",
         spread(f["edge"]) + (f", {f['edge_missed']} never seen" if f["edge_missed"] else "")],
        ["commit to the first poll of anyone through Varnish", spread(f["any_poll"])],
        ["commit to each reader's sight of it (includes their 10 s poll interval)",
         f"{spread(f['readers_view_incl_poll_interval'])} ({f['reader_sightings']:,} of "
         f"{f['sightings_expected']:,})"],
        ["origin requests (Varnish to gunicorn) per posted entry",
         f"{f['origin_requests_per_entry']:.2f} ({f['origin_requests']} in all)"],
        ["readers' polls", f"{f['reader_requests_per_second']:,.0f} req/s, "
         f"{f['share_304']:.1%} 304, {f['errors']} errors or other statuses"],
        ["edge hit ratio while posting", f"{f['hit_ratio']:.2%}"],
        [f"full page at {page['entries']} entries through Varnish",
         f"{page['status']}, {page['bytes']:,} bytes ({page['x_cache']})"],
    ]  # fmt: skip
