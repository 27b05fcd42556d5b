"""Webhooks: partners told when a story is published, updated, withdrawn or corrected.

Each event is a `Delivery` row per endpoint that asked for it, written in the same transaction
as the change (so an event is never lost to a crash between the two) and sent by a background
task once that commits. A delivery is a POST of a small JSON document, the story as it was when
the event happened (its id, addresses, headline and times; the partner fetches the rest from
the content API; a withdrawal carries only the id and why), signed by the
Standard Webhooks scheme (`webhook-id`, `webhook-timestamp`, `webhook-signature` headers; the
`standardwebhooks` package signs, and verifies in the tests). The message id stays the same on
every attempt: a partner that got a delivery whose answer we never saw (a timeout) recognises it.

Per story, events go in order: a delivery waits while an earlier one of its story is pending.
A failed attempt (no answer in `NEWSROOM_WEBHOOK_TIMEOUT` seconds, a refused connection, any
status outside 2xx) is tried again later, backing off from 30 seconds to an hour; an endpoint
failing for `NEWSROOM_WEBHOOK_DISABLE_AFTER` hours is switched off and the site's admins are
emailed. Nothing pending is dropped then: switched on again, it gets what it missed, in order.
A story scheduled to appear (or to leave, "unpublish at") gets its event due at that moment,
written then; when due, an event no longer true (rescheduled, unpublished meanwhile) is
dropped, not sent. A legal takedown drops its story's events not yet delivered but the
withdrawal: what a court has stopped is not sent on.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.core.mail import mail_admins
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_tasks import task
from standardwebhooks.webhooks import Webhook

from articles.models import Article

from .models import Delivery, Endpoint

log = logging.getLogger(__name__)
BACKOFF = (30, 60, 300, 900, 1800, 3600)  # seconds before attempt 2, 3, …; then hourly
ERROR_LENGTH = 300
# The active endpoints and their events, kept in the shared cache: every story save asks, and
# most outlets have none or a handful. Dropped whenever an endpoint is saved or deleted.
ENDPOINTS_KEY = "api:webhook-endpoints"


def active_endpoints() -> list[tuple[int, list[str]]]:
    found = cache.get(ENDPOINTS_KEY)
    if found is None:
        found = list(Endpoint.objects.filter(is_active=True).values_list("pk", "events"))
        cache.set(ENDPOINTS_KEY, found, timeout=3600)
    return found


def forget_endpoints(**kwargs) -> None:
    cache.delete(ENDPOINTS_KEY)


def announce(event: str, article: Article, *, at: datetime | None = None) -> list[Delivery]:
    """Queue `event` about `article` for every active endpoint that asked for it, due `at`
    (default now), and send it once the current transaction commits."""
    endpoints = [pk for pk, events in active_endpoints() if event in events]
    if not endpoints:
        return []
    later = Delivery.objects.filter(
        story_id=article.pk, event=event, status=Delivery.Status.PENDING, due_at__gt=timezone.now()
    )
    if at is None:  # it happened now: what was due later (a schedule overtaken) would repeat it
        later.update(status=Delivery.Status.DROPPED)
    else:  # each save of a scheduled story announces its time again: once is enough
        queued = set(later.filter(due_at=at).values_list("endpoint_id", flat=True))
        endpoints = [pk for pk in endpoints if pk not in queued]
    if event == "story.withdrawn" and article.withdrawn_reason == Article.WithdrawalReason.LEGAL:
        # What is not yet out about a story taken down for legal reasons stays in: only the
        # withdrawal goes.
        Delivery.objects.filter(story_id=article.pk, status=Delivery.Status.PENDING).exclude(
            event=event
        ).update(status=Delivery.Status.DROPPED)
    # What happened now is sent as it was now; what is due later is written when due.
    document = _document(event, article) if at is None else None
    rows = [
        Delivery(
            endpoint_id=endpoint,
            event=event,
            story_id=article.pk,
            message_id=f"msg_{uuid.uuid4().hex}",
            due_at=at or timezone.now(),
            payload=document,
        )
        for endpoint in endpoints
    ]
    if rows:
        Delivery.objects.bulk_create(rows)
        for endpoint in endpoints:
            _send_later(endpoint, at)
    return rows


def _send_later(endpoint_id: int, at: datetime | None) -> None:
    run = deliver_task
    if at is not None and at > timezone.now():
        if not run.get_backend().supports_defer:
            return  # sent by the next run of the endpoint's task due after it
        run = run.using(run_after=at)
    transaction.on_commit(partial(run.enqueue, endpoint_id))


def payload(delivery: Delivery, story: Article | None) -> dict | None:
    """What is sent for `delivery`: the event as it was when it happened, or for one due later
    (a scheduled publication, an "unpublish at"), the story as it is now; None when that is no
    longer true (a story due out that is not, one due to leave that is still there)."""
    if delivery.payload is not None:
        return delivery.payload
    out = story is not None and story.is_visible
    if (delivery.event == "story.withdrawn") == out:
        return None
    return _document(delivery.event, story, story_id=delivery.story_id)


def _document(event: str, story: Article | None, *, story_id: int | None = None) -> dict:
    if event == "story.withdrawn":
        gone = "ended" if story is not None and story.has_ended else "withdrawn"
        if story is not None and story.withdrawn_reason == Article.WithdrawalReason.LEGAL:
            gone = "legal"
        data = {"id": story.pk if story is not None else story_id, "gone": gone}
    else:
        site = settings.SITE_URL
        data = {
            "id": story.pk,
            "headline": story.headline,
            "url": f"{site}{story.get_absolute_url()}",
            "api_url": f"{site}{reverse('api-v1:story_detail', args=[story.pk])}",
            "published_at": story.published_at.isoformat(),
            "updated_at": story.revised_at.isoformat() if story.revised_at else None,
        }
    return {"type": event, "timestamp": timezone.now().isoformat(), "data": data}


def signed_headers(endpoint: Endpoint, message_id: str, body: str, at: datetime) -> dict:
    signature = Webhook(endpoint.secret).sign(message_id, at, body)
    return {
        "Content-Type": "application/json",
        "User-Agent": f"{settings.SITE_NAME} webhooks",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is the endpoint's mistake to fix, not a reason to resend elsewhere (urllib
    would turn the POST into a GET): it counts as a failed attempt."""

    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(_NoRedirects)


def post(endpoint: Endpoint, delivery: Delivery, document: dict) -> tuple[int | None, str]:
    """Send one delivery: (status code or None, error text or "")."""
    body = json.dumps(document, separators=(",", ":"))
    headers = signed_headers(endpoint, delivery.message_id, body, timezone.now())
    request = urllib.request.Request(endpoint.url, body.encode(), headers, method="POST")
    try:
        with OPENER.open(request, timeout=settings.NEWSROOM_WEBHOOK_TIMEOUT) as answer:
            return answer.status, ""
    except urllib.error.HTTPError as error:
        return error.code, f"answered {error.code}"
    except (OSError, ValueError) as error:  # refused, unreachable, timed out, bad address
        return None, str(getattr(error, "reason", error))[:ERROR_LENGTH] or type(error).__name__


@task()
def deliver_task(endpoint_id: int) -> int:
    return deliver_due(endpoint_id)


def deliver_due(endpoint_id: int) -> int:
    """Send what is due to one endpoint, each story's events in order; returns how many were
    delivered. One worker at a time per endpoint (its row is locked; another finding it locked
    leaves it to the first). What remains is sent by a task due when the next one is."""
    delivered = 0
    with transaction.atomic():
        endpoint = Endpoint.objects.select_for_update(skip_locked=True).filter(pk=endpoint_id)
        endpoint = endpoint.first()
        if endpoint is None or not endpoint.is_active:
            return 0
        now, waiting = timezone.now(), set()
        queue = endpoint.deliveries.filter(status=Delivery.Status.PENDING).order_by("pk")
        stories = Article.objects.in_bulk({d.story_id for d in queue})
        for delivery in queue:
            if delivery.story_id in waiting:
                continue  # an earlier event of its story is still to go
            if delivery.due_at > now:
                waiting.add(delivery.story_id)
                continue
            document = payload(delivery, stories.get(delivery.story_id))
            if document is None:
                delivery.status = Delivery.Status.DROPPED
                delivery.save(update_fields=["status"])
                continue
            code, error = post(endpoint, delivery, document)
            delivery.attempts += 1
            delivery.last_code, delivery.last_error, delivery.payload = code, error, document
            if code is not None and 200 <= code < 300:
                delivery.status, delivery.delivered_at = Delivery.Status.DELIVERED, timezone.now()
                delivered += 1
                endpoint.failing_since = None
            else:
                wait = BACKOFF[min(delivery.attempts - 1, len(BACKOFF) - 1)]
                delivery.due_at = timezone.now() + timedelta(seconds=wait)
                waiting.add(delivery.story_id)
                endpoint.failing_since = endpoint.failing_since or now
            delivery.save()
        _disable_if_failing_too_long(endpoint, now)
        endpoint.save(update_fields=["failing_since", "is_active", "disabled_reason"])
        following = queue.filter(status=Delivery.Status.PENDING).order_by("due_at").first()
        if following is not None and endpoint.is_active:
            _send_later(endpoint.pk, max(following.due_at, timezone.now() + timedelta(seconds=1)))
    return delivered


def _disable_if_failing_too_long(endpoint: Endpoint, now: datetime) -> None:
    limit = timedelta(hours=settings.NEWSROOM_WEBHOOK_DISABLE_AFTER)
    if endpoint.failing_since is None or now - endpoint.failing_since < limit:
        return
    endpoint.is_active = False
    endpoint.disabled_reason = (
        f"Switched off at {timezone.localtime(now):%H:%M on %d %b %Y}: every delivery failed "
        f"for {settings.NEWSROOM_WEBHOOK_DISABLE_AFTER} hours. What it missed is kept."
    )
    log.warning("Webhook endpoint %s switched off: failing since %s", endpoint.url, now)
    mail_admins(
        f"Webhook endpoint switched off: {endpoint.url}",
        f"{endpoint.disabled_reason}\nSwitch it on again in the admin (Content API › "
        "Webhook endpoints) once the partner has fixed it.",
    )


def resume(endpoint: Endpoint) -> None:
    """After an endpoint is switched on again: send what it missed at once (what is due later,
    a scheduled publication, stays due then)."""
    Endpoint.objects.filter(pk=endpoint.pk).update(failing_since=None, disabled_reason="")
    missed = endpoint.deliveries.filter(status=Delivery.Status.PENDING, attempts__gt=0)
    missed.update(due_at=timezone.now())
    _send_later(endpoint.pk, None)
