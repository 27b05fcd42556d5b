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
