"""Benchmark: one newsletter edition to N confirmed subscribers, through the real worker, into a
local SMTP sink.

For each size (10,000 and 100,000 by default) it drops and recreates the PostgreSQL database
`newsroom_bench_newsletter` (BENCH_NEWSLETTER_DATABASE_URL names another on the loopback
interface; its name must contain "bench"), migrates it, bulk-creates N confirmed subscribers and
an edition of five published stories, and enqueues the edition with the `send_edition_now`
service (as the admin's "Send now" does). Then it times the worker as a child process,

    manage.py run_worker -- --batch --no-startup-delay --no-reload

which runs the send task and exits when the queue is empty. Its SMTP server is an aiosmtpd sink
on 127.0.0.1 in this process that counts messages and stores none. Afterwards the sink must have
received exactly N messages and the database must show N deliveries sent, or the run fails.

Figures: messages per second over the worker's whole run (start-up and writing the delivery
rows included), the same over the sending phase alone (first to last delivery's `sent_at`), and
the worker's peak resident memory (GNU time's %M when present).

Goals (from the issue): at least 500 messages a second on this 2-core machine, and a peak memory
that does not grow with subscribers (100,000 within 10 % of 10,000).

    .venv/bin/python bench/newsletter_send.py                 # on its own
    .venv/bin/python bench/run.py --only newsletter_send      # through the suite's runner
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import threading
import time
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402

NAME = "newsletter_send"
TITLE = "Newsletter: one edition to N subscribers through the worker into an SMTP sink"
DEFAULT_SIZES = (10_000, 100_000)
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/newsroom_bench_newsletter"
GOAL_MESSAGES_PER_SECOND = 500
WORKER = ["run_worker", "--", "--batch", "--no-startup-delay", "--no-reload"]

SEED = """
from django.utils import timezone
from accounts.models import User
from articles.models import Article, Section
from newsletters.models import Edition, EditionStory, Newsletter, Subscription
from newsletters.services import send_edition_now

n = {size}
now = timezone.now()
newsletter = Newsletter.objects.get(slug="daily")
batch = 5000
for start in range(0, n, batch):
    Subscription.objects.bulk_create(
        Subscription(
            email=f"reader{{i}}@bench.example", newsletter=newsletter, status="confirmed",
            consent_at=now, confirmed_at=now, source_url="/bench/",
        )
        for i in range(start, min(n, start + batch))
    )
section = Section.objects.get_or_create(slug="news", defaults={{"name": "News"}})[0]
edition = Edition.objects.create(
    newsletter=newsletter, subject="Bench: the day's five stories", preheader="Benchmark",
    intro="Good morning.\\n\\nFive stories, one benchmark.",
)
for position in range(5):
    article = Article.objects.create(
        headline=f"Benchmark story number {{position}} shocks the nation",
        standfirst="A standfirst of a sentence or two, as editors write them. " * 2,
        body="<p>Body.</p>", section=section, status="published", published_at=now,
    )
    EditionStory.objects.create(edition=edition, article=article, position=position)
editor = User.objects.create_superuser("bench-editor", "editor@bench.example", "x")
send_edition_now(edition, by=editor)
print(Subscription.objects.count(), edition.pk)
"""


def add_arguments(parser) -> None:
    parser.add_argument(
        "--newsletter-sizes",
        type=_sizes,
        default=DEFAULT_SIZES,
        metavar="N[,N…]",
        help="Confirmed subscribers per run, each in a fresh database (default: 10000,100000).",
    )


def _sizes(text: str) -> tuple[int, ...]:
    sizes = tuple(sorted({int(part.replace("_", "")) for part in text.split(",") if part}))
    if not sizes or min(sizes) < 1:
        raise ValueError("sizes must be positive integers")
    return sizes


def database_url() -> str:
    """The benchmark's own database, refused unless it is on this machine and named *bench*,
    because every run drops it."""
    url = os.environ.get("BENCH_NEWSLETTER_DATABASE_URL") or DEFAULT_DATABASE_URL
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise common.BenchError("BENCH_NEWSLETTER_DATABASE_URL must be a PostgreSQL URL")
    if parts.hostname not in common.LOOPBACK_HOSTS:
        raise common.BenchError(
            f"the benchmark only uses a loopback database, not {parts.hostname}"
        )
    if "bench" not in common.database_name(url):
        raise common.BenchError("refusing to drop a database whose name does not contain 'bench'")
    return url


class CountingSink:
    """An SMTP server on 127.0.0.1 that accepts everything and only counts messages."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.messages = 0
        self.recipients = 0
        self._lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            self.messages += 1
            self.recipients += len(envelope.rcpt_tos)
        return "250 OK"

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc_info):
        self.controller.stop()


def run(args) -> dict:
    url = database_url()
    started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    runs = []
    facts = None
    try:
        for size in args.newsletter_sizes:
            common.recreate_database(url)
            common.manage(url, "migrate", "--noinput", "-v", "0")
            facts = facts or common.machine_facts(url)
            seeded = time.monotonic()
            out = common.manage(url, "shell", "-c", SEED.format(size=size)).stdout.split()
            if int(out[-2]) != size:
                raise common.BenchError(f"seeded {out[-2]} subscribers, expected {size}")
            print(f"  {size:,} subscribers seeded ({time.monotonic() - seeded:.1f} s)")
            runs.append(_send(url, size, edition_id=int(out[-1])))
    finally:
        common.drop_database(url)
    return {
        "name": NAME,
        "title": TITLE,
        "started_at": started_at,
        "command": "manage.py " + " ".join(WORKER),
        "database": common.database_name(url),
        "machine": facts,
        "settings": {"sizes": list(args.newsletter_sizes)},
        "rss_method": runs[0]["rss_method"] if runs else "",
        "runs": runs,
        "goals": _goals(runs),
        "table": _table(runs),
        "notes": [
            "Worker msgs/s is over the worker's whole run: Python and Django start-up and "
            "writing one delivery row per subscriber included. Sending msgs/s is from the "
            "first to the last delivery's sent time.",
            "The SMTP sink runs in the benchmark's own process on the same 2 CPUs as the "
            "worker and PostgreSQL; it counts messages and stores none.",
            "The machine is shared: the load average before each run is in the table.",
        ],
    }


def _send(url: str, size: int, *, edition_id: int) -> dict:
    with CountingSink() as sink:
        env = common.command_env(url)
        env.update(
            DJANGO_EMAIL_HOST="127.0.0.1",
            DJANGO_EMAIL_PORT=str(sink.port),
            NEWSROOM_SITE_URL="https://bench.example",
            NEWSROOM_NEWSLETTER_FROM="The Daily Racket <newsletters@bench.example>",
            NEWSROOM_LOG_FORMAT="text",
            DJANGO_LOG_LEVEL="WARNING",
        )
        measured = common.run_measured([common.PYTHON, str(common.MANAGE), *WORKER], env=env)
        time.sleep(0.2)  # the sink's last replies
        received = sink.messages
    if measured.returncode:
        raise common.BenchError(
            f"the worker exited with {measured.returncode}:\n{measured.stderr[-3000:]}"
        )
    (sent, status, first, last) = common.query(
        url,
        """
        SELECT
            (SELECT count(*) FROM newsletters_delivery WHERE edition_id = %s AND status = 'sent'),
            (SELECT status FROM newsletters_edition WHERE id = %s),
            (SELECT min(sent_at) FROM newsletters_delivery WHERE edition_id = %s),
            (SELECT max(sent_at) FROM newsletters_delivery WHERE edition_id = %s)
        """,
        (edition_id, edition_id, edition_id, edition_id),
    )[0]
    if received != size or sent != size or status != "sent":
        raise common.BenchError(
            f"expected {size:,} messages: the sink got {received:,}, {sent:,} deliveries are "
            f"sent and the edition is {status!r}"
        )
    sending_seconds = max((last - first).total_seconds(), 1e-6)
    entry = {
        "subscribers": size,
        "messages_received": received,
        "wall_seconds": round(measured.wall_seconds, 2),
        "messages_per_second": round(size / measured.wall_seconds, 1),
        "sending_seconds": round(sending_seconds, 2),
        "sending_messages_per_second": round(size / sending_seconds, 1),
        "peak_rss_mib": round(measured.peak_rss_kib / 1024, 1),
        "peak_tree_rss_mib": round(measured.peak_tree_rss_kib / 1024, 1),
        "cpu_seconds": round(measured.cpu_seconds, 2),
        "load_average_before": round(measured.load_before, 2),
        "rss_method": measured.rss_method,
    }
    print(
        f"  {size:,} messages in {entry['wall_seconds']} s: {entry['messages_per_second']:,} "
        f"msgs/s over the worker's run, {entry['sending_messages_per_second']:,} while sending; "
        f"peak RSS {entry['peak_rss_mib']} MiB (load before {entry['load_average_before']})"
    )
    return entry


def _goals(runs: list[dict]) -> list[dict]:
    goals = [
        {
            "goal": f"≥ {GOAL_MESSAGES_PER_SECOND} messages/s ({entry['subscribers']:,} "
            "subscribers, worker's whole run)",
            "target": GOAL_MESSAGES_PER_SECOND,
            "actual": entry["messages_per_second"],
            "unit": "messages/s",
            "passed": entry["messages_per_second"] >= GOAL_MESSAGES_PER_SECOND,
        }
        for entry in runs
    ]
    if len(runs) >= 2:
        goals.append(
            common.memory_growth_goal(runs[0], runs[-1], size="subscribers", noun="subscribers")
        )
    return goals


def _table(runs: list[dict]) -> dict:
    return {
        "columns": [
            "subscribers",
            "received",
            "worker wall s",
            "msgs/s (worker run)",
            "msgs/s (sending)",
            "worker peak RSS MiB",
            "CPU s",
            "load before",
        ],
        "rows": [
            [
                f"{r['subscribers']:,}",
                f"{r['messages_received']:,}",
                r["wall_seconds"],
                f"{r['messages_per_second']:,.0f}",
                f"{r['sending_messages_per_second']:,.0f}",
                r["peak_rss_mib"],
                r["cpu_seconds"],
                r["load_average_before"],
            ]
            for r in runs
        ],
    }


def main(argv: list[str] | None = None) -> int:
    import run as runner

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        result = run(args)
    except common.BenchError as exc:
        print(f"BENCHMARK FAILED: {NAME}: {exc}", file=sys.stderr)
        return 1
    result["benchmark_seconds"] = round(time.monotonic() - started, 1)
    common.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = common.RESULTS_DIR / f"{NAME}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"  wrote {path.relative_to(common.ROOT)}")
    print()
    print("\n".join(runner.render_result(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
