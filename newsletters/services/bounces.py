"""Keeping newsletters deliverable: bounces and complaints, from wherever they come, recorded
(`Bounce`) and turned into suppressions (`Suppression`) that every newsletter honours.

- A hard bounce (the address does not exist, the domain takes no mail) or a complaint (the
  reader pressed "spam") suppresses the address at once, for every newsletter.
- Soft bounces (a full mailbox, a server refusing for now) count: NEWSROOM_NEWSLETTER_SOFT_BOUNCES
  of them within NEWSROOM_NEWSLETTER_SOFT_BOUNCE_DAYS suppress it.

They come from three places: the mail server's 5xx answer to RCPT while an edition is sent
(`batches`), a provider's webhook (django-anymail's `tracking` signal, each provider's
signature checked by anymail), and bounce messages (DSNs) in the bounce mailbox, read by
`manage.py process_bounces` with flufl.bounce, the bounce detector Mailman uses. An event with
a reference (a provider's event id, a bounce message's Message-ID) is counted once however often
it is delivered or read."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..addresses import address_key
from ..models import Bounce, Suppression

log = logging.getLogger(__name__)
Kind, Reason = Bounce.Kind, Suppression.Reason


def record_bounce(
    email: str, kind: str, *, source: str, detail: str = "", reference: str = ""
) -> Suppression | None:
    """Record one bounce or complaint of `email`; returns the address's suppression when it is
    (now or already) suppressed, else None."""
    key = address_key(email)
    try:
        with transaction.atomic():
            Bounce.objects.create(
                email_key=key, kind=kind, source=source, detail=detail[:2000],
                reference=reference[:300],
            )  # fmt: skip
    except IntegrityError:  # this very event was counted already
        return Suppression.objects.filter(email_key=key).first()
    reason = {Kind.HARD: Reason.HARD_BOUNCE, Kind.COMPLAINT: Reason.COMPLAINT}.get(kind)
    if reason is None:
        since = timezone.now() - timedelta(days=settings.NEWSROOM_NEWSLETTER_SOFT_BOUNCE_DAYS)
        softs = Bounce.objects.filter(email_key=key, kind=Kind.SOFT, at__gte=since).count()
        if softs < settings.NEWSROOM_NEWSLETTER_SOFT_BOUNCES:
            return Suppression.objects.filter(email_key=key).first()
        reason = Reason.SOFT_BOUNCES
    suppression, created = Suppression.objects.get_or_create(
        email_key=key, defaults={"email": email, "reason": reason, "detail": detail[:2000]}
    )
    if created:
        log.info("Suppressed %s: %s", key, suppression.get_reason_display())
    return suppression


def suppressed_among(addresses) -> set[str]:
    """Which of `addresses` (by their key) are suppressed: one query."""
    keys = {address_key(a) for a in addresses}
    return set(Suppression.objects.filter(email_key__in=keys).values_list("email_key", flat=True))


def from_provider(sender, event, esp_name, **kwargs) -> None:
    """django-anymail's `tracking` signal: a provider's bounce or complaint event."""
    kind = {
        "bounced": Kind.HARD,
        "rejected": Kind.HARD,
        "complained": Kind.COMPLAINT,
    }.get(event.event_type)
    if kind is None or not event.recipient:
        return
    detail = f"{esp_name}: {event.description or event.reject_reason or event.event_type}"
    record_bounce(
        event.recipient, kind, source=Bounce.Source.WEBHOOK, detail=detail,
        reference=f"{esp_name}:{event.event_id}" if event.event_id else "",
    )  # fmt: skip


def from_message(message) -> list[tuple[str, str]]:
    """The (address, kind) a bounce message (an `email.message.Message`) reports, each
    recorded; flufl.bounce tells permanent failures from temporary ones."""
    from flufl.bounce import all_failures

    temporary, permanent = all_failures(message)
    reference = (message.get("Message-ID") or "").strip()
    found = []
    for raw, kind in [*((a, Kind.HARD) for a in permanent), *((a, Kind.SOFT) for a in temporary)]:
        address = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
        record_bounce(
            address, kind, source=Bounce.Source.MAILBOX,
            detail=f"Bounce message: {message.get('Subject', '')}"[:300], reference=reference,
        )  # fmt: skip
        found.append((address, kind))
    return found
