"""Sending an edition to its confirmed subscribers: several send tasks share it, and each is
safely repeatable.

Starting an edition enqueues NEWSROOM_NEWSLETTER_SENDERS runs of the send task (`start_sending`),
so that many workers send it at once. `send_edition(edition_id)` is what each runs, and running
it again (a retry, another worker, a worker restarted after being killed) is always safe:

1. A due scheduled edition becomes `sending` (a conditional update, so only once). Its email is
   made next; an edition whose email cannot be made (a line break in its subject, say) becomes
   `failed` with the reason, for the admin to show (`fail_edition`), and nothing is claimed.
2. One pending `Delivery` per confirmed subscriber is written, once: the first run to get there
   locks the edition's row and writes them in one transaction, walking the subscribers by
   primary key a chunk at a time (never all in memory); runs that started with it wait for the
   lock and find the rows written. The unique constraint keeps it idempotent all the same.
3. Each run claims batches (pending → claimed, stamped with a token no other run has) until none
   is left; the claims are what keep the runs on different readers. For each reader, one UPDATE
   marks the previous message sent and this one `sending` *before* it is handed to the mail
   server; the mark only succeeds while the claim is still ours.
4. A run that finds claims older than NEWSROOM_NEWSLETTER_CLAIM_TIMEOUT takes them back:
   `claimed` rows were never handed over and go back to pending; a `sending` row may have
   reached the server before its worker died, so it becomes `interrupted` and is not resent.
   At most one message per run a killed worker was making is in that state: never twice beats
   always once.
5. Transient SMTP errors (4xx, dropped connections) put the delivery back to pending with an
   exponential backoff, up to NEWSROOM_NEWSLETTER_MAX_ATTEMPTS; permanent ones (5xx, a refused
   address) mark it failed with the server's answer.
6. A run with nothing left to claim finishes the edition if it can: one conditional UPDATE marks
   it sent, with its counts read from the deliveries in the same statement, only when none is
   unfinished. So the edition is finished, with the right counts, by whichever run ends last, in
   whatever order they end. While work is left (another run's claims, a retry not due yet) the
   run enqueues one more for when that falls due; a run that finds the edition sent does nothing.

On PostgreSQL the per-message status marks are committed without waiting for the WAL flush
(`synchronous_commit = off`): a killed *worker* loses nothing it committed; only a crash of the
database server itself could lose the last fraction of a second of marks.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, Min, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from ..models import Delivery, Edition, Subscription
from .batches import ConnectionDown, SendReport, fast_commits, send_batch
from .emails import PreparedEdition, UnsendableEdition

log = logging.getLogger(__name__)

Status = Delivery.Status
UNFINISHED = (Status.PENDING, Status.CLAIMED, Status.SENDING)
INTERRUPTED_MESSAGE = (
    "The worker stopped while handing this message to the mail server; it may have arrived, "
    "so it was not sent again."
)
AUDIENCE_CHUNK = 5000


def sender_count() -> int:
    """How many send tasks share an edition: NEWSROOM_NEWSLETTER_SENDERS, at least one.

    Each is one worker's worth of sending (one SMTP connection, one database connection), so
    more than the number of worker processes only queues runs that find nothing left to do."""
    return max(1, settings.NEWSROOM_NEWSLETTER_SENDERS)


# --- one run -----------------------------------------------------------------------------------


def send_edition(edition_id: int) -> SendReport:
    """Send what is due of edition `edition_id`, batch by batch until none is left, and return
    what this run did. Does nothing to a draft, a sent edition or a scheduled one whose time has
    not come; idempotent, and safe beside any number of other runs for the same edition."""
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

    try:
        # Made before anything else, so that an edition whose email cannot be made fails
        # with its reason instead of staying `sending`, retried by every worker start.
        prepared = PreparedEdition(edition)
    except UnsendableEdition as exc:
        return fail_edition(edition, str(exc), report)
    if edition.recipients_count is None:
        create_deliveries(edition)
    report.released, report.interrupted = release_stale_claims(edition, now=now)
    with fast_commits():
        while True:
            token, rows = claim_batch(edition, size=settings.NEWSROOM_NEWSLETTER_BATCH_SIZE)
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
    return finish_edition(edition, report)


def fail_edition(edition: Edition, reason: str, report: SendReport) -> SendReport:
    """Stop a sending edition whose email cannot be made: `failed`, with the reason for the
    admin to show. Conditional on it still sending, so concurrent runs record it once. Its
    deliveries stay as they are: sent again once fixed, it carries on from them."""
    if Edition.objects.filter(pk=edition.pk, status=Edition.Status.SENDING).update(
        status=Edition.Status.FAILED, failure_reason=reason
    ):
        log.error("Edition %s: sending stopped: %s", edition.pk, reason)
    report.status = Edition.objects.filter(pk=edition.pk).values_list("status", flat=True).get()
    report.notes.append(reason)
    return report


def create_deliveries(edition: Edition, *, chunk_size: int = AUDIENCE_CHUNK) -> int:
    """Write one pending delivery per confirmed subscriber of the edition's newsletter, record
    how many there are, and return that. Done once per edition: under a lock on the edition's
    row, in one transaction, so a run that arrives meanwhile waits and then finds the count set
    (and a run killed half way leaves nothing, for the next run to write again). Subscribers are
    read a chunk at a time in primary-key order (keyset pagination), never all in memory."""
    audience = Subscription.objects.deliverable().filter(newsletter_id=edition.newsletter_id)
    with transaction.atomic():
        written = (
            Edition.objects.select_for_update()
            .filter(pk=edition.pk)
            .values_list("recipients_count", flat=True)
            .first()
        )
        if written is not None:
            edition.recipients_count = written
            return written
        last = 0
        while True:
            ids = list(
                audience.filter(pk__gt=last)
                .order_by("pk")
                .values_list("pk", flat=True)[:chunk_size]
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


def _deliveries_in(status: str):
    """How many of the outer edition's deliveries are in `status`, as a subquery."""
    rows = (
        Delivery.objects.filter(edition=OuterRef("pk"), status=status)
        .order_by()
        .values("edition")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows), Value(0))


def finish_edition(edition: Edition, report: SendReport) -> SendReport:
    """Mark the edition sent if none of its deliveries is unfinished, with its sent and failed
    counts, in one statement: deciding and counting from the same snapshot is what makes the
    counts right whichever run gets here last. Otherwise enqueue a run for when the earliest
    retry, or the claims another run still holds, fall due."""
    unfinished = Delivery.objects.filter(edition=OuterRef("pk"), status__in=UNFINISHED)
    finished = (
        Edition.objects.filter(
            pk=edition.pk, status=Edition.Status.SENDING, recipients_count__isnull=False
        )
        .filter(~Exists(unfinished))
        .update(
            status=Edition.Status.SENT,
            sent_at=timezone.now(),
            sent_count=_deliveries_in(Status.SENT),
            failed_count=_deliveries_in(Status.FAILED),
        )
    )
    if finished:
        report.status = Edition.Status.SENT
        return report
    report.status = Edition.objects.filter(pk=edition.pk).values_list("status", flat=True).get()
    if report.status != Edition.Status.SENDING:
        return report  # another run finished it meanwhile

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


# --- enqueueing --------------------------------------------------------------------------------


def can_defer() -> bool:
    """Whether the task backend can run a task later (the database backend can; the immediate
    backend used in tests cannot)."""
    from ..tasks import send_edition_task

    return send_edition_task.get_backend().supports_defer


def enqueue_send(edition_id: int, *, at: datetime | None = None, runs: int = 1) -> None:
    """Enqueue `runs` runs of the send task, after commit, at `at` when that is in the future.
    When the backend cannot defer, nothing is enqueued for later: the next worker start resumes
    the edition (`resume_sending`)."""
    from ..tasks import send_edition_task

    task = send_edition_task
    if at is not None and at > timezone.now():
        if not can_defer():
            log.info("Edition %s: run at %s left to the next worker start", edition_id, at)
            return
        task = task.using(run_after=at)
    for _ in range(runs):
        transaction.on_commit(partial(task.enqueue, edition_id))


def start_sending(edition_id: int, *, at: datetime | None = None) -> None:
    """Enqueue the edition's send tasks, one per sender (`sender_count`), now or at `at`."""
    enqueue_send(edition_id, at=at, runs=sender_count())


def resume_sending() -> list[int]:
    """Enqueue the send tasks of every edition a starting worker carries on with (see
    `EditionQuerySet.to_resume`), so an edition a killed worker left half sent goes on. Returns
    their ids."""
    ids = list(Edition.objects.to_resume().values_list("pk", flat=True))
    for edition_id in ids:
        start_sending(edition_id)
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
