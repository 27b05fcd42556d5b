"""Newsletter services: readers' subscriptions, the newsroom's editions, rendering and sending."""

from .editions import (
    edition_progress,
    schedule_edition,
    send_edition_now,
    send_test_edition,
    unschedule_edition,
)
from .emails import PreparedEdition, build_confirmation_email, render_edition
from .sending import (
    create_deliveries,
    delivery_counts,
    release_stale_claims,
    resume_sending,
    send_edition,
)
from .subscriptions import (
    Confirmation,
    confirm_subscriptions,
    confirmed_subscriber_rows,
    default_newsletters,
    newsletters_received,
    peek_confirmation,
    preference_choices,
    read_preferences,
    request_subscription,
    unsubscribe,
    update_preferences,
)

__all__ = [
    "Confirmation",
    "PreparedEdition",
    "build_confirmation_email",
    "confirm_subscriptions",
    "confirmed_subscriber_rows",
    "create_deliveries",
    "default_newsletters",
    "delivery_counts",
    "edition_progress",
    "newsletters_received",
    "peek_confirmation",
    "preference_choices",
    "read_preferences",
    "release_stale_claims",
    "render_edition",
    "request_subscription",
    "resume_sending",
    "schedule_edition",
    "send_edition",
    "send_edition_now",
    "send_test_edition",
    "unschedule_edition",
    "unsubscribe",
    "update_preferences",
]
