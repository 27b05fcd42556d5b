"""Background tasks (Django's Tasks API via the django-tasks backport). Each takes ids, not
objects, and calls one idempotent service."""

from django.core.mail import get_connection
from django_tasks import task

from .services import build_confirmation_email, send_edition


@task()
def send_confirmation_task(email: str, newsletter_ids: list[int]) -> None:
    """Email `email` the confirmation link for what it asked for (or a note that it is
    already subscribed)."""
    get_connection(fail_silently=False).send_messages(
        [build_confirmation_email(email, newsletter_ids)]
    )


@task()
def send_edition_task(edition_id: int) -> dict:
    """One sender of an edition: claims and sends batches until none is due. An edition gets
    NEWSROOM_NEWSLETTER_SENDERS of these at once; safe to run any number of times, in any
    worker."""
    return send_edition(edition_id).as_dict()
