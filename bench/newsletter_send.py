"""Benchmark: one newsletter edition to N confirmed subscribers, through the real task workers,
into an SMTP sink on 127.0.0.1 (aiosmtpd, in this process, counting messages and storing none).

For each size (10,000 and 100,000) the database `newsroom_bench_newsletter` (or
BENCH_NEWSLETTER_DATABASE_URL) is recreated with N subscribers and an edition of five stories,
enqueued by `send_edition_now` as the admin's "Send now" does. Then `--newsletter-workers` (2)
workers start at once, `manage.py run_worker -- --batch --no-startup-delay --no-reload`, and
exit when the queue is empty (one that finds nothing to do just exits: the deliveries' claims
share the work out). The sink must have N messages and the database N deliveries sent.

Figures: messages/s from starting the workers to the last one's exit, the same over the sending
alone (first to last `sent_at`), and the largest worker's peak memory. Goals (from the issue):
≥ 500 messages/s, and peak memory within 10 % at 100,000 subscribers of that at 10,000.
"""

import os
import time
from concurrent.futures import ThreadPoolExecutor

from bench.lib import MANAGE, PYTHON, BenchError, report, sizes
from bench.lib.commands import command_env, manage, run_measured
from bench.lib.database import database_name, database_url, drop_database, fresh_database, query
from bench.lib.servers import SmtpSink

NAME = "newsletter_send"
TITLE = "Newsletter: one edition to N subscribers through the worker into an SMTP sink"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/newsroom_bench_newsletter"
GOAL_MESSAGES_PER_SECOND = 500
WORKER = ["run_worker", "--", "--batch", "--no-startup-delay", "--no-reload"]
SEED = """
from django.utils import timezone
from accounts.models import User
from articles.models import Article, Section
from newsletters.models import Edition, EditionStory, Newsletter, Subscription
from newsletters.services import send_edition_now

n, now, newsletter = {size}, timezone.now(), Newsletter.objects.get(slug="daily")
for start in range(0, n, 5000):
    Subscription.objects.bulk_create(
        Subscription(email=f"reader{{i}}@bench.example", newsletter=newsletter, status="confirmed",
                     consent_at=now, confirmed_at=now, source_url="/bench/")
        for i in range(start, min(n, start + 5000))
    )
section = Section.objects.get_or_create(slug="news", defaults={{"name": "News"}})[0]
edition = Edition.objects.create(newsletter=newsletter, subject="Bench: the day's five stories",
    preheader="Benchmark", intro="Good morning.\\n\\nFive stories, one benchmark.")
for position in range(5):
    article = Article.objects.create(
        headline=f"Benchmark story number {{position}} shocks the nation", body="<p>Body.</p>",
        standfirst="A standfirst of a sentence or two, as editors write them. " * 2,
        section=section, status="published", published_at=now)
    EditionStory.objects.create(edition=edition, article=article, position=position)
send_edition_now(edition, by=User.objects.create_superuser("bench-editor", "e@bench.example", "x"))
print(Subscription.objects.count(), edition.pk)
"""


def add_arguments(group) -> None:
    group.add_argument(
        "--newsletter-sizes", type=sizes, default=(10_000, 100_000), metavar="N[,N…]",
        help="Confirmed subscribers per run, each in a fresh database (default: 10000,100000).",
    )  # fmt: skip
    group.add_argument(
        "--newsletter-workers", type=int, default=2, metavar="N",
        help="Worker processes started at once for each edition (default: 2).",
    )  # fmt: skip


def run(args) -> dict:
    workers = args.newsletter_workers
    if workers < 1:
        raise BenchError("--newsletter-workers must be at least 1")
    url = database_url(variable="BENCH_NEWSLETTER_DATABASE_URL", default=DEFAULT_DATABASE_URL)
    runs, facts = [], None
    try:
        for size in args.newsletter_sizes:
            fresh_database(url)
            facts = facts or report.machine_facts(url)
            seeded = time.monotonic()
            made, edition = manage(command_env(url), "shell", "-c", SEED.format(size=size)).split()[
                -2:
            ]
            if int(made) != size:
                raise BenchError(f"seeded {made} subscribers, expected {size}")
            print(f"  {size:,} subscribers seeded ({time.monotonic() - seeded:.1f} s)")
            runs.append(_send(url, size, int(edition), workers))
    finally:
        drop_database(url)
    goals = [_goal(entry) for entry in runs]
    if len(runs) >= 2:
        goals.append(
            report.memory_growth_goal(runs[0], runs[-1], size="subscribers", noun="subscribers")
        )
    return {
        "command": f"{workers} × manage.py {' '.join(WORKER)} (started at once)",
        "database": database_name(url),
        "machine": facts,
        "settings": {"sizes": list(args.newsletter_sizes), "workers": workers},
        "rss_method": f"the largest worker's, {runs[0]['rss_method']}" if runs else "",
        "runs": runs,
        "goals": goals,
        "table": report.table(COLUMNS, runs),
        "notes": [
            f"{workers} workers started at once; msgs/s (workers' run) is from their start to the "
            "last one's exit: start-up and writing a delivery row per subscriber included; msgs/s "
            "(sending) from the first to the last delivery's sent time. CPU s is all workers'.",
            "The SMTP sink runs in the benchmark's process on the same 2 CPUs as the workers and "
            "PostgreSQL. The machine is shared: the load average before each run is in the table.",
        ],
    }


def _send(url: str, size: int, edition: int, workers: int) -> dict:
    """Run the workers into a sink; the edition must be sent, every message received."""
    with SmtpSink() as sink:
        load_before, started = os.getloadavg()[0], time.monotonic()
        measured = _run_workers(url, sink.port, workers)
        wall = time.monotonic() - started
        time.sleep(0.2)  # the sink's last replies
    failed = [worker for worker in measured if worker.returncode]
    if failed:
        raise BenchError(
            f"a worker exited with {failed[0].returncode}:\n{failed[0].stderr[-3000:]}"
        )
    sql = """SELECT count(*) FILTER (WHERE d.status = 'sent'), e.status, min(d.sent_at),
        max(d.sent_at) FROM newsletters_edition e LEFT JOIN newsletters_delivery d
        ON d.edition_id = e.id WHERE e.id = %s GROUP BY e.status"""
    sent, status, first, last = query(url, sql, (edition,))[0]
    if sink.messages != size or sent != size or status != "sent":
        raise BenchError(
            f"expected {size:,} messages: the sink got {sink.messages:,}, {sent:,} "
            f"deliveries are sent and the edition is {status!r}"
        )
    sending = max((last - first).total_seconds(), 1e-6)
    entry = {
        "subscribers": size,
        "workers": workers,
        "messages_received": sink.messages,
        "wall_seconds": round(wall, 2),
        "messages_per_second": round(size / wall, 1),
        "sending_seconds": round(sending, 2),
        "sending_messages_per_second": round(size / sending, 1),
        "peak_rss_mib": round(max(w.peak_rss_kib for w in measured) / 1024, 1),
        "peak_tree_rss_mib": round(max(w.peak_tree_rss_kib for w in measured) / 1024, 1),
        "worker_peak_rss_mib": [round(w.peak_rss_kib / 1024, 1) for w in measured],
        "worker_wall_seconds": [round(w.wall_seconds, 2) for w in measured],
        "cpu_seconds": round(sum(w.cpu_seconds for w in measured), 2),
        "load_average_before": round(load_before, 2),
        "rss_method": measured[0].rss_method,
    }
    print(
        f"  {size:,} messages in {entry['wall_seconds']} s by {workers} workers: "
        f"{entry['messages_per_second']:,} msgs/s over their run, "
        f"{entry['sending_messages_per_second']:,} while sending; peak RSS "
        f"{entry['worker_peak_rss_mib']} MiB (load before {entry['load_average_before']})"
    )
    return entry


def _run_workers(url: str, smtp_port: int, workers: int) -> list:
    """Start `workers` workers at once, a thread waiting for each; their measurements."""
    env = command_env(
        url, DJANGO_EMAIL_HOST="127.0.0.1", DJANGO_EMAIL_PORT=str(smtp_port),
        NEWSROOM_SITE_URL="https://bench.example", NEWSROOM_LOG_FORMAT="text",
        NEWSROOM_NEWSLETTER_FROM="The Daily Racket <newsletters@bench.example>",
        DJANGO_LOG_LEVEL="WARNING",
    )  # fmt: skip
    with ThreadPoolExecutor(workers) as pool:
        jobs = [
            pool.submit(run_measured, [PYTHON, MANAGE, *WORKER], env=env) for _ in range(workers)
        ]
        return [job.result() for job in jobs]


def _goal(entry: dict) -> dict:
    rate = entry["messages_per_second"]
    text = f"≥ {GOAL_MESSAGES_PER_SECOND} messages/s ({entry['subscribers']:,} subscribers, "
    text += f"{entry['workers']} workers, whole run)"
    return report.goal(
        text, GOAL_MESSAGES_PER_SECOND, rate, "messages/s", rate >= GOAL_MESSAGES_PER_SECOND
    )


COLUMNS = [
    ("subscribers", lambda r: f"{r['subscribers']:,}"),
    ("workers", lambda r: r["workers"]),
    ("received", lambda r: f"{r['messages_received']:,}"),
    ("wall s", lambda r: r["wall_seconds"]),
    ("msgs/s (workers' run)", lambda r: f"{r['messages_per_second']:,.0f}"),
    ("msgs/s (sending)", lambda r: f"{r['sending_messages_per_second']:,.0f}"),
    ("largest worker's peak RSS MiB", lambda r: r["peak_rss_mib"]),
    ("CPU s", lambda r: r["cpu_seconds"]),
    ("load before", lambda r: r["load_average_before"]),
]
