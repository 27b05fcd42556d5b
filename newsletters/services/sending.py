"""Sending an edition to its confirmed subscribers, safely repeatable.

`send_edition(edition_id)` is what the task runs, and running it again (a retry, a second
worker, a worker restarted after being killed) is always safe:

1. A due scheduled edition becomes `sending` (a conditional update, so only once).
2. One pending `Delivery` per confirmed subscriber is written, subscribers walked by primary
   key a chunk at a time (never all in memory); the unique constraint makes this idempotent.
3. Batches are claimed (pending → claimed, stamped with a token no other run has). For each
   reader, one UPDATE marks the previous message sent and this one `sending` *before* it is
   handed to the mail server; the mark only succeeds while the claim is still ours.
4. A run that finds claims older than NEWSROOM_NEWSLETTER_CLAIM_TIMEOUT takes them back:
   `claimed` rows were never handed over and go back to pending; a `sending` row may have
   reached the server before its worker died, so it becomes `interrupted` and is not resent.
   At most one message per SMTP connection of a killed worker is in that state: never twice
   beats always once.
5. Transient SMTP errors (4xx, dropped connections) put the delivery back to pending with an
   exponential backoff, up to NEWSROOM_NEWSLETTER_MAX_ATTEMPTS; permanent ones (5xx, a refused
   address) mark it failed with the server's answer. When work is left for later, the task
   enqueues itself for then.

One SMTP connection is used per batch; on PostgreSQL, NEWSROOM_NEWSLETTER_CONNECTIONS batches
are sent at once, each by its own thread. On PostgreSQL the per-message status marks are committed
without waiting for the WAL flush (`synchronous_commit = off`): a killed *worker* loses nothing
it committed; only a crash of the database server itself could lose the last fraction of a
second of marks.
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import connection as db_connection
from django.db import connections, transaction
from django.db.models import Count, Min, Q
from django.utils import timezone

from ..models import Delivery, Edition, Subscription
from .batches import ConnectionDown, SendReport, fast_commits, send_batch
from .emails import PreparedEdition

log = logging.getLogger(__name__)

Status = Delivery.Status
UNFINISHED = (Status.PENDING, Status.CLAIMED, Status.SENDING)
INTERRUPTED_MESSAGE = (
    "The worker stopped while handing this message to the mail server; it may have arrived, "
    "so it was not sent again."
)
AUDIENCE_CHUNK = 5000


# --- the whole edition -------------------------------------------------------------------------


def send_edition(edition_id: int) -> SendReport:
    """Send what is due of edition `edition_id` and return what happened. Does nothing to a
    draft, a sent edition or a scheduled one whose time has not come; idempotent."""
    report = SendReport(edition_id)
    now = timezone.now()
    edition = Edition.objects.select_related("newsletter").filter(pk=edition_id).first()
    if edition is None:
        report.notes.append("no such edition")
        return report
    if edition.status == Edition.Status.SCHEDULED:
        if edition.scheduled_at and edition.scheduled_at > now:
            report.status = edition.status
            report.notes.append("not due yet")
            return report
        Edition.objects.filter(pk=edition.pk, status=Edition.Status.SCHEDULED).update(
            status=Edition.Status.SENDING, started_at=now
        )
        edition.refresh_from_db()
    if edition.status != Edition.Status.SENDING:
        report.status = edition.status
        return report

    if edition.recipients_count is None:
        create_deliveries(edition)
    report.released, report.interrupted = release_stale_claims(edition, now=now)
    prepared = PreparedEdition(edition)
    senders = settings.NEWSROOM_NEWSLETTER_CONNECTIONS
    if senders <= 1 or db_connection.vendor != "postgresql" or db_connection.in_atomic_block:
        _send_pending(prepared, report)
    else:
        _send_in_parallel(prepared, report, senders)
    return finish_edition(edition, report)


def _send_pending(prepared: PreparedEdition, report: SendReport) -> None:
    """Claim and send batches until none is due (or the mail server cannot be reached)."""
    with fast_commits():
        while True:
            token, rows = claim_batch(
                prepared.edition, size=settings.NEWSROOM_NEWSLETTER_BATCH_SIZE
            )
            if not rows:
                break
            try:
                send_batch(prepared, token, rows, report)
            except ConnectionDown as exc:
                report.notes.append(f"mail server unreachable: {exc}")
                report.next_run_at = timezone.now() + timedelta(
                    seconds=settings.NEWSROOM_NEWSLETTER_RETRY_DELAY
                )
                break


def _send_in_parallel(prepared: PreparedEdition, report: SendReport, senders: int) -> None:
    """Run `senders` claim-and-send loops at once, each in a thread with its own database and
    SMTP connections. A sender spends most of its time waiting for the mail server and the
    database, so a few of them overlap those waits; the claims keep them on different readers.
    (PostgreSQL only: SQLite allows one writer at a time.)"""
    reports = [SendReport(report.edition_id) for _ in range(senders)]
    errors: list[BaseException] = []

    def sender(part: SendReport) -> None:
        try:
            _send_pending(prepared, part)
        except BaseException as exc:  # re-raised below, in the task's own thread
            errors.append(exc)
        finally:
            connections.close_all()  # this thread's connections only

    threads = [
        threading.Thread(target=sender, args=(part,), name=f"newsletter-sender-{n}")
        for n, part in enumerate(reports)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for part in reports:
        for name in ("sent", "failed", "retrying", "skipped", "lost_claims"):
            setattr(report, name, getattr(report, name) + getattr(part, name))
        report.notes.extend(part.notes)
        if part.next_run_at and (
            report.next_run_at is None or part.next_run_at < report.next_run_at
        ):
            report.next_run_at = part.next_run_at
    if errors:
        raise errors[0]


def create_deliveries(edition: Edition, *, chunk_size: int = AUDIENCE_CHUNK) -> int:
    """Write one pending delivery per confirmed subscriber of the edition's newsletter and
    record how many there are. Subscribers are read a chunk at a time in primary-key order
    (keyset pagination); rows that already exist are left alone, so running it again after a
    crash finishes the job without duplicates."""
    audience = Subscription.objects.confirmed().filter(newsletter_id=edition.newsletter_id)
    last = 0
    while True:
        ids = list(
            audience.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:chunk_size]
        )
        if not ids:
            break
        Delivery.objects.bulk_create(
            [Delivery(edition_id=edition.pk, subscription_id=pk) for pk in ids],
            ignore_conflicts=True,
        )
        last = ids[-1]
    count = Delivery.objects.filter(edition=edition).count()
    Edition.objects.filter(pk=edition.pk).update(recipients_count=count)
    edition.recipients_count = count
    return count


def release_stale_claims(edition: Edition, *, now: datetime) -> tuple[int, int]:
    """Take back claims older than the claim timeout (their worker is presumed dead): returns
    (claimed rows put back to pending, sending rows marked interrupted)."""
    cutoff = now - timedelta(seconds=settings.NEWSROOM_NEWSLETTER_CLAIM_TIMEOUT)
    stale = Delivery.objects.filter(edition=edition, claimed_at__lte=cutoff)
    released = stale.filter(status=Status.CLAIMED).update(
        status=Status.PENDING, claim_token="", claimed_at=None
    )
    interrupted = stale.filter(status=Status.SENDING).update(
        status=Status.INTERRUPTED, last_error=INTERRUPTED_MESSAGE
    )
    if released or interrupted:
        log.warning(
            "Edition %s: took back %s claimed and %s interrupted deliveries of a stopped worker",
            edition.pk,
            released,
            interrupted,
        )
    return released, interrupted


def claim_batch(edition: Edition, *, size: int) -> tuple[str, list[tuple[int, int, str, str]]]:
    """Reserve up to `size` due pending deliveries for this run. Returns the claim token and
    (delivery id, subscription id, email, subscription status) rows in id order. The update is
    conditional on the row still being pending, so two runs never hold the same delivery (on
    PostgreSQL, SKIP LOCKED also keeps them from waiting for each other)."""
    now = timezone.now()
    token = uuid.uuid4().hex
    due = Delivery.objects.filter(edition=edition, status=Status.PENDING).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    with transaction.atomic():
        ids = list(
            due.order_by("pk")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:size]
        )
        if not ids:
            return token, []
        Delivery.objects.filter(pk__in=ids, status=Status.PENDING).update(
            status=Status.CLAIMED, claim_token=token, claimed_at=now
        )
    rows = list(
        Delivery.objects.filter(edition=edition, status=Status.CLAIMED, claim_token=token)
        .order_by("pk")
        .values_list("pk", "subscription_id", "subscription__email", "subscription__status")
    )
    return token, rows


def finish_edition(edition: Edition, report: SendReport) -> SendReport:
    """Record the counts; mark the edition sent when nothing is left, or enqueue the next run
    for when the earliest retry (or another worker's claim) falls due."""
    counts = delivery_counts(edition)
    Edition.objects.filter(pk=edition.pk).update(
        sent_count=counts[Status.SENT], failed_count=counts[Status.FAILED]
    )
    if not any(counts[status] for status in UNFINISHED):
        Edition.objects.filter(pk=edition.pk, status=Edition.Status.SENDING).update(
            status=Edition.Status.SENT, sent_at=timezone.now()
        )
        report.status = Edition.Status.SENT
        return report

    report.status = Edition.Status.SENDING
    if report.next_run_at is None:
        timeout = timedelta(seconds=settings.NEWSROOM_NEWSLETTER_CLAIM_TIMEOUT)
        waiting = Delivery.objects.filter(edition=edition).aggregate(
            retry=Min("next_attempt_at", filter=Q(status=Status.PENDING)),
            claim=Min("claimed_at", filter=Q(status__in=[Status.CLAIMED, Status.SENDING])),
        )
        moments = [waiting["retry"], waiting["claim"] and waiting["claim"] + timeout]
        report.next_run_at = min((m for m in moments if m), default=timezone.now())
    enqueue_send(edition.pk, at=report.next_run_at)
    return report


def enqueue_send(edition_id: int, *, at: datetime | None = None) -> None:
    """Enqueue a run of the send task, after commit, at `at` when the backend can defer
    (the database backend can; the immediate backend used in tests cannot, so nothing is
    enqueued and the next worker start resumes the edition)."""
    from ..tasks import send_edition_task

    task = send_edition_task
    if at is not None and at > timezone.now():
        if not task.get_backend().supports_defer:
            log.info("Edition %s: run at %s left to the next worker start", edition_id, at)
            return
        task = task.using(run_after=at)
    transaction.on_commit(partial(task.enqueue, edition_id))


def resume_sending() -> list[int]:
    """Enqueue a run for every edition that is sending or due: what a worker does when it
    starts, so an edition a killed worker left half sent carries on. Returns their ids."""
    ids = list(
        Edition.objects.filter(
            Q(status=Edition.Status.SENDING)
            | Q(status=Edition.Status.SCHEDULED, scheduled_at__lte=timezone.now())
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for edition_id in ids:
        enqueue_send(edition_id)
    return ids


def delivery_counts(edition: Edition) -> dict[str, int]:
    """How many of the edition's deliveries are in each status (every status present)."""
    counts = dict.fromkeys(Status.values, 0)
    rows = (
        Delivery.objects.filter(edition=edition)
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts.update(dict(rows))
    return counts
