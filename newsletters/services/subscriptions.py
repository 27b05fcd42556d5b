"""Readers' side of newsletters: asking for them (double opt-in), confirming, unsubscribing and
choosing. Nothing here ever tells the caller whether an address was already subscribed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from newsroom.text import one_line

from .. import ratelimit
from ..addresses import InvalidAddress, address_key, normalize_email
from ..models import Newsletter, Subscription
from ..tokens import (
    InvalidToken,
    address_matches,
    read_confirm_token,
    read_preferences_token,
)

Status = Subscription.Status


def default_newsletters():
    """What the sign-up box on article pages subscribes to: the first public newsletter."""
    return Newsletter.objects.filter(is_public=True).order_by("pk")[:1]


def request_subscription(
    email: str,
    *,
    newsletters: Iterable[Newsletter],
    source_url: str = "",
    now: datetime | None = None,
) -> list[Subscription]:
    """Record a reader's wish to receive `newsletters` and, after commit, email them a
    confirmation link. New, pending and unsubscribed rows become pending with a fresh consent
    time; confirmed ones stay as they are (the email then says so, to the address's owner only).
    Returns the subscriptions now awaiting confirmation.

    The address is stored in its one spelling (`normalize_email`; InvalidAddress if it has
    none). At most NEWSROOM_NEWSLETTER_SIGNUPS_PER_ADDRESS requests per mailbox an hour are
    recorded and emailed, wherever they come from (sign-up, preferences, re-subscribing):
    past that, nothing is done and the caller is told nothing different, so no form can be
    used to flood an inbox. Two requests at once for a new address both succeed: the rows are
    inserted with ON CONFLICT DO NOTHING, so the second waits for the first and finds its
    row."""
    email = normalize_email(email)
    newsletters = list(newsletters)
    if not newsletters:
        return []
    if not ratelimit.allow(
        "email", address_key(email), limit=settings.NEWSROOM_NEWSLETTER_SIGNUPS_PER_ADDRESS
    ):
        return []
    source_url = one_line(source_url)[:500]
    return _record_request(email, newsletters, source_url=source_url, now=now)


@transaction.atomic
def _record_request(
    email: str, newsletters: list[Newsletter], *, source_url: str, now: datetime | None
) -> list[Subscription]:
    now = now or timezone.now()
    Subscription.objects.bulk_create(
        [
            Subscription(email=email, newsletter=n, consent_at=now, source_url=source_url)
            for n in newsletters
        ],
        ignore_conflicts=True,  # an existing row (perhaps another request's, just committed)
    )
    rows = (
        Subscription.objects.for_email(email)
        .filter(newsletter__in=newsletters)
        .exclude(status=Status.CONFIRMED)
        .select_for_update()
        .order_by("pk")
    )
    pending = list(rows)
    Subscription.objects.filter(pk__in=[s.pk for s in pending]).update(
        status=Status.PENDING, consent_at=now, source_url=source_url
    )
    for subscription in pending:
        subscription.status, subscription.consent_at = Status.PENDING, now
        subscription.source_url = source_url
    from ..tasks import send_confirmation_task

    transaction.on_commit(
        partial(send_confirmation_task.enqueue, email, [n.pk for n in newsletters])
    )
    return pending


@dataclass
class Confirmation:
    confirmed: list[Newsletter] = field(default_factory=list)  # by this link, now
    already: list[Newsletter] = field(default_factory=list)  # earlier, by this or another link
    withdrawn: list[Newsletter] = field(default_factory=list)  # unsubscribed since asking


def peek_confirmation(token: str) -> Confirmation:
    """What confirming `token` would do, without doing it. Raises InvalidToken/ExpiredToken."""
    return _confirmation(token, apply=False)


@transaction.atomic
def confirm_subscriptions(token: str, *, now: datetime | None = None) -> Confirmation:
    """Confirm the pending subscriptions a confirmation link stands for. Raises InvalidToken or
    ExpiredToken; confirming twice is harmless (the second time they are `already`)."""
    return _confirmation(token, apply=True, now=now)


def _confirmation(token: str, *, apply: bool, now: datetime | None = None) -> Confirmation:
    link = read_confirm_token(token)
    rows = Subscription.objects.filter(pk__in=link.subscription_ids).select_related("newsletter")
    if apply:
        rows = rows.select_for_update(of=("self",))
    # Only rows still at the address the link was made for (and sent to).
    subscriptions = [
        s for s in rows.order_by("newsletter__name") if address_matches(s.email, link.digest)
    ]
    if not subscriptions:
        raise InvalidToken("no such subscriptions")
    result = Confirmation()
    welcome = []
    for subscription in subscriptions:
        if subscription.status == Status.PENDING:
            if apply:
                subscription.status = Status.CONFIRMED
                subscription.confirmed_at = now or timezone.now()
                subscription.save(update_fields=["status", "confirmed_at"])
                welcome.append(subscription.pk)
            result.confirmed.append(subscription.newsletter)
        elif subscription.status == Status.CONFIRMED:
            result.already.append(subscription.newsletter)
        else:
            result.withdrawn.append(subscription.newsletter)
    if welcome:
        from ..tasks import send_welcome_task

        transaction.on_commit(partial(send_welcome_task.enqueue, welcome))
    return result


def unsubscribe(subscription: Subscription, *, now: datetime | None = None) -> bool:
    """Stop sending `subscription`'s newsletter to its reader (a pending request is withdrawn
    too). Returns whether anything changed; unsubscribing twice is harmless."""
    changed = (
        Subscription.objects.filter(pk=subscription.pk)
        .exclude(status=Status.UNSUBSCRIBED)
        .update(status=Status.UNSUBSCRIBED, unsubscribed_at=now or timezone.now())
    )
    subscription.refresh_from_db()
    return bool(changed)


def preference_choices(email: str):
    """Newsletters a reader may choose on their preferences page: every public one, plus any
    private one they receive (so they can leave it)."""
    from django.db.models import Q

    subscribed = Subscription.objects.for_email(email).exclude(status=Status.UNSUBSCRIBED)
    return Newsletter.objects.filter(
        Q(is_public=True) | Q(pk__in=subscribed.values("newsletter_id"))
    ).order_by("name")


def newsletters_received(email: str, among):
    """Those of the newsletters `among` (a QuerySet) that `email` is confirmed for."""
    confirmed = Subscription.objects.for_email(email).confirmed()
    return among.filter(pk__in=confirmed.values("newsletter_id"))


def read_preferences(token: str) -> str:
    """The address a preferences link stands for: its subscription's, while that still has the
    address the link was made for (or, from a link made before tokens stopped carrying it, the
    address in it). Raises InvalidToken or ExpiredToken."""
    link = read_preferences_token(token)
    if link.legacy_address is not None:
        return link.legacy_address.strip()
    subscription = Subscription.objects.filter(pk__in=link.subscription_ids).first()
    if subscription is None or not address_matches(subscription.email, link.digest):
        raise InvalidToken("no such subscription")
    return subscription.email


@transaction.atomic
def update_preferences(
    email: str, *, chosen: Iterable[Newsletter], now: datetime | None = None
) -> dict[str, list[Newsletter]]:
    """Make `chosen` what `email` receives among the newsletters it may choose. Those unticked
    stop at once ("removed"). One ticked that the address is not confirmed for is asked for as
    at sign-up ("to_confirm": pending, and a confirmation email within the per-address limit):
    whoever holds a preferences link (a forwarded newsletter, say) need not own the address,
    and must not be able to sign it up to anything. Those it is confirmed for stay as they are.
    """
    now = now or timezone.now()
    chosen_ids = {n.pk for n in chosen}
    existing = {
        s.newsletter_id: s.status for s in Subscription.objects.for_email(email).select_for_update()
    }
    changes = {"removed": [], "to_confirm": []}
    for newsletter in preference_choices(email):
        status = existing.get(newsletter.pk)
        if newsletter.pk in chosen_ids:
            if status != Status.CONFIRMED:
                changes["to_confirm"].append(newsletter)
        elif status in (Status.PENDING, Status.CONFIRMED):
            Subscription.objects.for_email(email).filter(newsletter=newsletter).update(
                status=Status.UNSUBSCRIBED, unsubscribed_at=now
            )
            changes["removed"].append(newsletter)
    if changes["to_confirm"]:
        try:
            request_subscription(
                email, newsletters=changes["to_confirm"], source_url="preferences", now=now
            )
        except InvalidAddress:  # a link to an address stored before such ones were refused
            changes["to_confirm"] = []
    return changes


def confirmed_subscriber_rows(newsletters) -> Iterable[tuple]:
    """(email, newsletter slug, consent time, confirmation time, source page) of every confirmed
    subscriber of `newsletters`, streamed from the database in chunks. Unsubscribed and pending
    addresses are never included."""
    return (
        Subscription.objects.confirmed()
        .filter(newsletter__in=newsletters)
        .order_by("newsletter_id", "pk")
        .values_list("email", "newsletter__slug", "consent_at", "confirmed_at", "source_url")
        .iterator(chunk_size=2000)
    )
