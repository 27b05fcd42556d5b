"""The welcome message: once a reader confirms, one email saying what they will now receive,
how often, what the newest edition was about, and how to change or stop each newsletter.

Sent once per subscription (`Subscription.welcomed_at`), by a task enqueued when the
confirmation commits. The rows are locked while the message goes, and marked only once the
mail server took it: a worker that dies mid-send leaves them for the task's next run, and two
workers never both send. A suppressed address gets nothing.
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Prefetch
from django.template.loader import render_to_string
from django.utils import timezone

from ..models import Edition, Subscription
from ..tokens import make_preferences_token, make_unsubscribe_token
from .emails import _sender_domain, absolute_url, preferences_url, unsubscribe_url


def build_welcome_email(subscriptions: list[Subscription]) -> EmailMultiAlternatives:
    """One email for the subscriptions one reader has just confirmed (same address)."""
    email_address = subscriptions[0].email
    newsletters = []
    for subscription in subscriptions:
        newsletter = subscription.newsletter
        last = next(iter(newsletter.last_sent), None)
        newsletters.append(
            {
                "name": newsletter.name,
                "description": newsletter.description,
                "cadence": newsletter.cadence,
                "last_subject": last.subject if last else "",
                "unsubscribe_url": unsubscribe_url(make_unsubscribe_token(subscription.pk)),
            }
        )
    context = {
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        "newsletters": newsletters,
        "preferences_url": preferences_url(
            make_preferences_token(subscriptions[0].pk, email_address)
        ),
        "list_url": absolute_url("/newsletters/"),
    }
    names = " and ".join(n["name"] for n in newsletters)
    message = EmailMultiAlternatives(
        subject=f"Welcome to {names}" if len(newsletters) < 3 else "Welcome to your newsletters",
        body=render_to_string("newsletters/email/welcome.txt", context),
        from_email=settings.NEWSROOM_NEWSLETTER_FROM,
        to=[email_address],
        reply_to=[settings.NEWSROOM_NEWSLETTER_REPLY_TO],
        headers={
            # The first newsletter's one-click unsubscribe; the body links each of them.
            "List-Unsubscribe": f"<{newsletters[0]['unsubscribe_url']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": f"{subscriptions[0].newsletter.name} "
            f"<{subscriptions[0].newsletter.slug}.newsletters.{_sender_domain()}>",
        },
    )
    message.attach_alternative(
        render_to_string("newsletters/email/welcome.html", context), "text/html"
    )
    return message


def send_welcome(subscription_ids: list[int]) -> int:
    """Welcome the reader of these subscriptions to those confirmed and not yet welcomed.
    Returns how many were welcomed (0 when there is nothing left to do)."""
    with transaction.atomic():
        rows = list(
            Subscription.objects.deliverable()
            .filter(pk__in=subscription_ids, welcomed_at__isnull=True)
            .select_related("newsletter")
            .prefetch_related(
                Prefetch(
                    "newsletter__editions",
                    Edition.objects.filter(status=Edition.Status.SENT).order_by("-sent_at")[:1],
                    to_attr="last_sent",
                )
            )
            .select_for_update(of=("self",), skip_locked=True)
            .order_by("newsletter__name")
        )
        if not rows:
            return 0
        get_connection(fail_silently=False).send_messages([build_welcome_email(rows)])
        Subscription.objects.filter(pk__in=[s.pk for s in rows]).update(welcomed_at=timezone.now())
    return len(rows)
