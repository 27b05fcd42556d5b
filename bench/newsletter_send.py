"""Benchmark: one newsletter edition to N confirmed subscribers, through the real task workers,
into an SMTP sink on 127.0.0.1 (aiosmtpd in this process, counting messages).

For 10,000 and 100,000 subscribers, each in a recreated `newsroom_bench_newsletter`, an edition
of five stories is enqueued by `send_edition_now`; 2 workers (`manage.py run_worker -- --batch
--no-startup-delay --no-reload`) start at once and exit when the queue is empty. The sink must
get N messages and N deliveries be sent. Figures: messages/s from the workers' start to the last
exit, and over the sending alone (first to last `sent_at`); the largest worker's peak memory.
Goals (from the issue): ≥ 500 messages/s, and peak memory at 100,000 within 10 % of 10,000's.
"""

import os
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from bench.lib import MANAGE, PYTHON, BenchError, commands, report
from bench.lib.servers import smtp_sink

NAME = "newsletter_send"
TITLE = "Newsletter: one edition to N subscribers through the worker into an SMTP sink"
DATABASE_NAME, GOAL, WORKERS = "newsroom_bench_newsletter", 500, 2  # messages/s; workers at once
HELP = "Confirmed subscribers per run, each in a fresh database (default: 10000,100000)."
ARGUMENTS = {"--newsletter-sizes": ((10_000, 100_000), HELP)}
WORKER = ["run_worker", "--", "--batch", "--no-startup-delay", "--no-reload"]
SEED = """
from django.utils import timezone
from accounts.models import User
from articles.models import Article, Section
from newsletters.models import Edition, EditionStory, Newsletter, Subscription
from newsletters.services import send_edition_now
now, newsletter = timezone.now(), Newsletter.objects.get(slug="daily")
Subscription.objects.bulk_create([
    Subscription(email=f"reader{{i}}@bench.example", newsletter=newsletter, status="confirmed",
                 consent_at=now, confirmed_at=now, source_url="/bench/") for i in range({size})
], batch_size=5000)
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


def run(args) -> dict:
    url, runs, facts = commands.database_url(DATABASE_NAME), [], None
    try:
        for size in args.newsletter_sizes:
            commands.fresh_database(url)
            facts, seeded = facts or report.machine_facts(url), time.monotonic()
            out = commands.manage(commands.command_env(url), "shell", "-c", SEED.format(size=size))
            if int(out.split()[-2]) != size:
                raise BenchError(f"seeded {out.split()[-2]} subscribers, expected {size}")
            print(f"  {size:,} subscribers seeded ({time.monotonic() - seeded:.1f} s)")
            runs.append(_send(url, size, int(out.split()[-1])))
    finally:
        commands.drop_database(url)
    text = f"≥ {GOAL} messages/s ({{:,}} subscribers, {WORKERS} workers, whole run)"
    rates = [(text.format(e["subscribers"]), e["messages_per_second"]) for e in runs]
    goals = [report.goal(goal, GOAL, rate, "messages/s") for goal, rate in rates]
    goals += report.memory_growth_goals(runs, "subscribers")
    return {
        "command": f"{WORKERS} × manage.py {' '.join(WORKER)} (started at once)",
        "database": DATABASE_NAME, "machine": facts, "runs": runs, "goals": goals,
        "settings": {"sizes": list(args.newsletter_sizes), "workers": WORKERS},
        "rss_method": f"the largest worker's, {commands.RSS_METHOD}",
        "table": report.table(COLUMNS, runs),
    }  # fmt: skip


def _send(url: str, size: int, edition: int) -> dict:
    """Run the workers into a sink; the edition must be sent, every message received."""
    env = commands.command_env(
        url, DJANGO_EMAIL_HOST="127.0.0.1", NEWSROOM_SITE_URL="https://bench.example",
        NEWSROOM_NEWSLETTER_FROM="The Daily Racket <newsletters@bench.example>",
        NEWSROOM_LOG_FORMAT="text", DJANGO_LOG_LEVEL="WARNING",
    )  # fmt: skip
    with smtp_sink() as sink, ThreadPoolExecutor(WORKERS) as pool:
        env["DJANGO_EMAIL_PORT"], command = str(sink.port), [PYTHON, MANAGE, *WORKER]
        load_before, started = os.getloadavg()[0], time.monotonic()
        measure = partial(commands.run_measured, command, env=env, what="a worker")
        measured = list(pool.map(lambda _: measure(), range(WORKERS)))
        wall = time.monotonic() - started
        time.sleep(0.2)  # the sink's last replies
    sql = """SELECT count(*) FILTER (WHERE d.status = 'sent'), e.status, min(d.sent_at),
        max(d.sent_at) FROM newsletters_edition e LEFT JOIN newsletters_delivery d
        ON d.edition_id = e.id WHERE e.id = %s GROUP BY e.status"""
    sent, status, first, last = commands.query(url, sql, (edition,))[0]
    if sink.messages != size or sent != size or status != "sent":
        raise BenchError(f"expected {size:,} messages: the sink got {sink.messages:,}, {sent:,} "
                         f"deliveries are sent and the edition is {status!r}")  # fmt: skip
    sending = max((last - first).total_seconds(), 1e-6)
    entry = {"subscribers": size, "workers": WORKERS, "messages_received": sink.messages}
    entry |= {"wall_seconds": round(wall, 2), "messages_per_second": round(size / wall, 1)}
    entry |= {"sending_seconds": round(sending, 2)}
    entry["sending_messages_per_second"] = round(size / sending, 1)
    entry["peak_rss_mib"] = max(w.peak_rss_mib for w in measured)
    entry["peak_tree_rss_mib"] = max(w.peak_tree_rss_mib for w in measured)
    entry["worker_peak_rss_mib"] = [w.peak_rss_mib for w in measured]
    entry["worker_wall_seconds"] = [round(w.wall_seconds, 2) for w in measured]
    entry["cpu_seconds"] = round(sum(w.cpu_seconds for w in measured), 2)
    entry["load_average_before"] = round(load_before, 2)
    print(f"  {report.cells(COLUMNS, entry)}")
    return entry | {"rss_method": commands.RSS_METHOD}


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
