"""Background tasks (Django's Tasks API via the django-tasks backport). Each takes ids, not
objects, and calls one idempotent service."""

import smtplib
from datetime import timedelta

from django.core.mail import get_connection
from django.utils import timezone
from django_tasks import task

from .services import build_confirmation_email, send_edition
from .services.welcome import send_welcome

# Seconds before the welcome message's second, third, … try.
WELCOME_RETRIES = (60, 300, 1800, 3600)


@task()
def send_confirmation_task(email: str, newsletter_ids: list[int]) -> None:
    """Email `email` the confirmation link for what it asked for (or a note that it is
    already subscribed)."""
    get_connection(fail_silently=False).send_messages(
        [build_confirmation_email(email, newsletter_ids)]
    )


@task()
def send_welcome_task(subscription_ids: list[int], attempt: int = 1) -> int:
    """Welcome a reader to the newsletters they just confirmed (once per subscription). A mail
    server that cannot take it now gets it again later, WELCOME_RETRIES times at most."""
    try:
        return send_welcome(subscription_ids)
    except (smtplib.SMTPException, OSError):
        if attempt > len(WELCOME_RETRIES):
            raise
        later = timezone.now() + timedelta(seconds=WELCOME_RETRIES[attempt - 1])
        send_welcome_task.using(run_after=later).enqueue(subscription_ids, attempt + 1)
        return 0


@task()
def send_edition_task(edition_id: int) -> dict:
    """One sender of an edition: claims and sends batches until none is due. An edition gets
    NEWSROOM_NEWSLETTER_SENDERS of these at once; safe to run any number of times, in any
    worker."""
    return send_edition(edition_id).as_dict()
