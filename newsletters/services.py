"""Newsletter services."""

from django.db import transaction
from django.utils import timezone

from .models import Newsletter, Subscription


@transaction.atomic
def request_subscription(email: str, *, newsletters, source_url: str = "") -> None:
    """Record a reader's wish to receive `newsletters` as pending subscriptions. Says nothing
    about whether the address was already subscribed (that would leak who reads us)."""
    email = email.strip()
    for newsletter in newsletters:
        exists = Subscription.objects.filter(email__iexact=email, newsletter=newsletter).exists()
        if not exists:
            Subscription.objects.create(
                email=email,
                newsletter=newsletter,
                consent_at=timezone.now(),
                source_url=source_url[:500],
            )


def default_newsletters():
    return Newsletter.objects.filter(is_public=True).order_by("pk")[:1]
