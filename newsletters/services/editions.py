"""The newsroom's side of editions: testing, sending now, scheduling and watching progress.
Each checks the `newsletters.send_edition` permission (what the "Newsletter editor" role is
given through `newsletters.*`) and the edition's status before changing anything."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import get_connection
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ..models import Delivery, Edition, Subscription
from .emails import (
    PreparedEdition,
    UnsendableEdition,
    absolute_url,
    edition_stories,
    render_edition,
)
from .sending import can_defer, delivery_counts, start_sending

SEND_PERMISSION = "newsletters.send_edition"


def _check(edition: Edition, by) -> None:
    if not by.has_perm(SEND_PERMISSION):
        raise PermissionDenied("Only newsletter editors can send editions.")
    _check_ready(edition)


def _check_ready(edition: Edition) -> None:
    if not edition.is_editable:
        raise ValidationError(f"This edition is already {edition.get_status_display().lower()}.")
    if not edition_stories(edition):
        raise ValidationError("Add at least one published story before sending.")
    _check_sendable(edition)


def _check_sendable(edition: Edition, **kwargs) -> PreparedEdition:
    """The edition made into an email, or ValidationError saying why it cannot be: found out
    here, while the editor is looking, rather than by a send task."""
    try:
        return PreparedEdition(edition, **kwargs)
    except UnsendableEdition as exc:
        raise ValidationError(str(exc)) from exc


def send_test_edition(edition: Edition, *, to: str, by) -> None:
    """Send the edition to `to` (the editor's own address) now, marked as a test; its
    unsubscribe links lead to the newsletters page instead of a reader's."""
    if not by.has_perm(SEND_PERMISSION):
        raise PermissionDenied("Only newsletter editors can send test editions.")
    if not to:
        raise ValidationError("Your account has no email address to send the test to.")
    page = absolute_url(reverse("newsletters:list"))
    rendered = render_edition(edition, unsubscribe=page, preferences=page)
    message = _check_sendable(edition, rendered=rendered).test_message(to)
    get_connection(fail_silently=False).send_messages([message])


@transaction.atomic
def send_edition_now(edition: Edition, *, by) -> Edition:
    """Start sending a draft or scheduled edition to its newsletter's confirmed subscribers:
    the work runs as background send tasks (NEWSROOM_NEWSLETTER_SENDERS of them, sharing it),
    enqueued after commit."""
    edition = Edition.objects.select_for_update().get(pk=edition.pk)
    _check(edition, by)
    return _start(edition)


@transaction.atomic
def send_digest_unattended(edition: Edition) -> Edition:
    """Start sending a daily digest whose newsletter sends it unattended (no editor, so no
    permission to ask): the same checks of the edition as an editor's send."""
    edition = Edition.objects.select_for_update().select_related("newsletter").get(pk=edition.pk)
    if edition.digest_of is None or edition.newsletter.digest != "unattended":
        raise PermissionDenied("Only a newsletter's unattended daily digest sends by itself.")
    _check_ready(edition)
    return _start(edition)


def _start(edition: Edition) -> Edition:
    edition.status = Edition.Status.SENDING
    edition.started_at = timezone.now()
    edition.failure_reason = ""
    edition.save(update_fields=["status", "started_at", "failure_reason", "updated_at"])
    start_sending(edition.pk)
    return edition


@transaction.atomic
def schedule_edition(edition: Edition, *, at: datetime, by) -> Edition:
    """Send the edition at `at` (in the future): its send tasks are enqueued to run then.
    Tasks left from an earlier schedule do nothing while the edition is not due, and are one
    more sender if they run after it started."""
    edition = Edition.objects.select_for_update().get(pk=edition.pk)
    _check(edition, by)
    if at <= timezone.now():
        raise ValidationError("Choose a time in the future, or send it now.")
    if not can_defer():
        raise ValidationError("The task backend cannot run tasks later; send it now instead.")
    edition.status = Edition.Status.SCHEDULED
    edition.scheduled_at = at
    edition.failure_reason = ""
    edition.save(update_fields=["status", "scheduled_at", "failure_reason", "updated_at"])
    start_sending(edition.pk, at=at)
    return edition


@transaction.atomic
def unschedule_edition(edition: Edition, *, by) -> Edition:
    """Turn a scheduled edition back into a draft (its pending task will then do nothing)."""
    if not by.has_perm(SEND_PERMISSION):
        raise PermissionDenied("Only newsletter editors can change a schedule.")
    updated = Edition.objects.filter(pk=edition.pk, status=Edition.Status.SCHEDULED).update(
        status=Edition.Status.DRAFT, scheduled_at=None
    )
    if not updated:
        raise ValidationError("Only a scheduled edition can be unscheduled.")
    edition.refresh_from_db()
    return edition


def edition_progress(edition: Edition) -> dict[str, int]:
    """Sent, failed, remaining and the rest for the admin, in one query. Before sending starts,
    `audience` is how many confirmed subscribers the edition would go to."""
    counts = delivery_counts(edition)
    d = Delivery.Status
    progress = {
        "sent": counts[d.SENT],
        "failed": counts[d.FAILED],
        "remaining": counts[d.PENDING] + counts[d.CLAIMED] + counts[d.SENDING],
        "interrupted": counts[d.INTERRUPTED],
        "skipped": counts[d.SKIPPED],
        "total": sum(counts.values()),
    }
    if edition.recipients_count is None:
        progress["audience"] = (
            Subscription.objects.deliverable().filter(newsletter_id=edition.newsletter_id).count()
        )
    return progress
