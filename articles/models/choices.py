"""A story's workflow states, shared by the model and its queries."""

from django.db import models


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    REVIEW = "review", "In review"
    PUBLISHED = "published", "Published"
    WITHDRAWN = "withdrawn", "Withdrawn"


class WithdrawalReason(models.TextChoices):
    EDITORIAL = "editorial", "Editorial decision"
    LEGAL = "legal", "Legal takedown"


class LiveStatus(models.TextChoices):
    """Whether a story is a live blog, and whether its coverage is running."""

    NONE = "", "Not a live blog"
    LIVE = "live", "Live now"
    ENDED = "ended", "Coverage ended"


class EntryStatus(models.TextChoices):
    PENDING = "pending", "Awaiting approval"
    PUBLISHED = "published", "Published"
    REMOVED = "removed", "Removed"
