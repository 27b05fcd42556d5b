"""Newsletters, their subscribers, the editions sent to them and one delivery per edition and
subscriber.

Sending is built around `Delivery`: one row per edition × subscription (a database constraint),
moved through claimed → sending → sent by conditional updates, so a retried task, a second worker
or a worker restarted after a crash never hands the same edition to the same reader twice.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from newsroom.text import one_line

from .addresses import InvalidAddress, address_key, normalize_email

# The surrogate key of the public pages listing the newsletters (see `newsroom.cache`).
NEWSLETTERS_KEY = "newsletters"


def validate_one_line(value: str) -> None:
    """Refuse what `newsroom.text.one_line` would change: line breaks and control characters.
    Names and subjects go into email headers, where a line break is refused (or, unchecked,
    would start a header of its own)."""
    if value and one_line(value) != value:
        raise ValidationError(
            "Write this on one line, without line breaks or control characters.",
            code="one_line",
        )


class Newsletter(models.Model):
    name = models.CharField(max_length=120, unique=True, validators=[validate_one_line])
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    cadence = models.CharField(
        max_length=80,
        blank=True,
        validators=[validate_one_line],
        help_text="How often it goes out, in readers' words: “Every weekday morning”.",
    )
    is_public = models.BooleanField(
        "public", default=True, help_text="Listed for readers to sign up to."
    )

    class Digest(models.TextChoices):
        OFF = "", "No daily digest"
        REVIEW = "review", "A draft each day, for an editor to send"
        UNATTENDED = "unattended", "Sent each day unattended"

    digest = models.CharField(
        "daily digest",
        max_length=20,
        choices=Digest.choices,
        default=Digest.OFF,
        blank=True,
        help_text="An edition of the day's most read stories, made at the digest time.",
    )
    digest_at = models.TimeField(
        "digest time",
        default=datetime.time(17, 0),
        help_text="When in the day (the site's time) the digest is made, and sent if unattended.",
    )
    digest_size = models.PositiveSmallIntegerField(
        "stories in the digest",
        default=8,
        validators=[MinValueValidator(3), MaxValueValidator(20)],
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class SubscriptionQuerySet(models.QuerySet):
    def confirmed(self):
        """Who may be sent editions: confirmed, never pending or unsubscribed."""
        return self.filter(status=Subscription.Status.CONFIRMED)

    def deliverable(self):
        """Who an edition goes to: confirmed, and not on the suppression list (bounced or
        complained: `Suppression`)."""
        suppressed = Suppression.objects.filter(email_key=Lower(models.OuterRef("email")))
        return self.confirmed().exclude(models.Exists(suppressed))

    def for_email(self, email: str):
        """The subscriptions of `email`'s mailbox, however it is spelt (`address_key`): one
        index lookup, on the expression the unique constraint indexes."""
        return self.alias(email_key=Lower("email")).filter(email_key=address_key(email))


class Subscription(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending confirmation"
        CONFIRMED = "confirmed", "Confirmed"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"

    email = models.EmailField(max_length=254)
    newsletter = models.ForeignKey(
        Newsletter, on_delete=models.CASCADE, related_name="subscriptions"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    consent_at = models.DateTimeField(help_text="When the reader asked to be sent it.")
    source_url = models.CharField(
        max_length=500, blank=True, help_text="The page the reader signed up on."
    )
    confirmed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the reader followed the confirmation link."
    )
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    welcomed_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When its welcome message was sent."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("email"), "newsletter", name="subscription_unique_email_newsletter"
            ),
        ]
        indexes = [
            # Sending walks one newsletter's confirmed readers in primary-key order.
            models.Index(fields=["newsletter", "status", "id"], name="subscription_audience_idx"),
        ]
        permissions = [("export_subscription", "Can export confirmed subscribers as CSV")]

    def __str__(self):
        return f"{self.email} → {self.newsletter}"

    def clean(self):
        # Rows made in the admin get the one spelling that sign-ups store (addresses.py).
        if self.email:
            try:
                self.email = normalize_email(self.email)
            except InvalidAddress as exc:
                raise ValidationError({"email": str(exc)}) from exc


def published_articles():
    """Stories an edition may carry: what readers may see now (`articles.models.visible`)."""
    from articles.models import visible

    return visible()


class EditionQuerySet(models.QuerySet):
    def to_resume(self, *, now=None):
        """Editions a starting worker carries on with: those sending (perhaps left half sent by
        a stopped worker) and those scheduled for a time already passed, oldest first."""
        return self.filter(
            Q(status=Edition.Status.SENDING)
            | Q(status=Edition.Status.SCHEDULED, scheduled_at__lte=now or timezone.now())
        ).order_by("pk")


class Edition(models.Model):
    """One issue of a newsletter: an introduction and an ordered list of published stories."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    newsletter = models.ForeignKey(Newsletter, on_delete=models.PROTECT, related_name="editions")
    subject = models.CharField(max_length=200, validators=[validate_one_line])
    preheader = models.CharField(
        max_length=200,
        blank=True,
        validators=[validate_one_line],
        help_text="The line inboxes show after the subject. Leave empty to use the first story.",
    )
    intro = models.TextField(blank=True, help_text="A few words above the stories. Plain text.")
    stories = models.ManyToManyField(
        "articles.Article", through="EditionStory", related_name="editions", blank=True
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.DRAFT, editable=False
    )
    scheduled_at = models.DateTimeField(null=True, blank=True, editable=False)
    started_at = models.DateTimeField(null=True, blank=True, editable=False)
    sent_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When the last delivery was made."
    )
    recipients_count = models.PositiveIntegerField(
        null=True,
        blank=True,
        editable=False,
        help_text="Confirmed subscribers when sending started; empty until then.",
    )
    sent_count = models.PositiveIntegerField(default=0, editable=False)
    failed_count = models.PositiveIntegerField(default=0, editable=False)
    failure_reason = models.TextField(
        blank=True,
        editable=False,
        help_text="Why sending stopped: its email could not be made. Empty unless it failed.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    digest_of = models.DateField(
        null=True,
        blank=True,
        editable=False,
        help_text="The day whose most read stories it carries, for a daily digest.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = EditionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [("send_edition", "Can send, schedule and test-send editions")]
        constraints = [
            models.UniqueConstraint(
                fields=["newsletter", "digest_of"],
                condition=Q(digest_of__isnull=False),
                name="one_digest_a_day",
            ),
        ]

    def __str__(self):
        return f"{self.newsletter}: {self.subject}"

    @property
    def is_editable(self) -> bool:
        """Whether it may still be changed and sent: a failed edition is, so that what made it
        fail can be fixed (its deliveries keep anyone from being sent it twice)."""
        return self.status in (self.Status.DRAFT, self.Status.SCHEDULED, self.Status.FAILED)


class EditionStory(models.Model):
    edition = models.ForeignKey(Edition, on_delete=models.CASCADE, related_name="edition_stories")
    article = models.ForeignKey(
        "articles.Article",
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to=published_articles,
    )
    position = models.PositiveSmallIntegerField(default=0, help_text="Lower comes first.")

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = "story"
        verbose_name_plural = "stories"
        constraints = [
            models.UniqueConstraint(fields=["edition", "article"], name="edition_story_unique"),
        ]

    def __str__(self):
        return str(self.article_id)


class Delivery(models.Model):
    """An edition for one subscriber.

    pending → claimed (reserved by one worker's batch) → sending (handed to the mail server) →
    sent | failed; back to pending after a transient error; `interrupted` when a worker died while
    handing it over (it may have arrived, so it is never sent again); `skipped` when the reader
    unsubscribed before their turn.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        CLAIMED = "claimed", "Claimed by a worker"
        SENDING = "sending", "Being handed to the mail server"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        INTERRUPTED = "interrupted", "Interrupted (may have arrived; not resent)"
        SKIPPED = "skipped", "Skipped (unsubscribed)"

    edition = models.ForeignKey(Edition, on_delete=models.CASCADE, related_name="deliveries")
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["edition", "subscription"], name="delivery_unique_edition_subscription"
            ),
        ]
        indexes = [
            # Claiming, progress counts and resuming all read one edition's rows by status.
            models.Index(fields=["edition", "status", "id"], name="delivery_progress_idx"),
        ]

    def __str__(self):
        return f"{self.edition_id} → {self.subscription_id} ({self.status})"


class SignupCount(models.Model):
    """A sign-up rate limit's count for one window, kept here only while the cache (Redis) is
    unavailable, so that the limits hold across every web process then too (see ratelimit).
    `key` names the limit, the window and a keyed digest of the address counted, never the
    address itself; rows of past windows are deleted as new ones are counted."""

    key = models.CharField(max_length=120, unique=True)
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return f"{self.key}: {self.count}"


class Suppression(models.Model):
    """An address no edition of any newsletter goes to: it bounced for good, its owner marked an
    edition as spam, or it bounced softly too often. A list, not a deletion: the subscriptions
    and their consent stay on record. Deleting the row lifts it."""

    class Reason(models.TextChoices):
        HARD_BOUNCE = "hard_bounce", "Bounced (the address does not take mail)"
        COMPLAINT = "complaint", "Marked as spam"
        SOFT_BOUNCES = "soft_bounces", "Bounced softly too often"
        MANUAL = "manual", "Suppressed by an editor"

    email = models.EmailField(max_length=254)
    email_key = models.CharField(max_length=254, unique=True, editable=False)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    detail = models.TextField(blank=True, help_text="What the mail server or provider said.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.email

    def save(self, *args, **kwargs):
        self.email_key = address_key(self.email)
        super().save(*args, **kwargs)


class Bounce(models.Model):
    """One bounce or complaint, as it came: from the mail server at send time, a provider's
    webhook or a bounce message in the bounce mailbox."""

    class Kind(models.TextChoices):
        HARD = "hard", "Hard bounce"
        SOFT = "soft", "Soft bounce"
        COMPLAINT = "complaint", "Complaint"

    class Source(models.TextChoices):
        SMTP = "smtp", "Mail server, at send time"
        WEBHOOK = "webhook", "Provider's webhook"
        MAILBOX = "mailbox", "Bounce message"

    email_key = models.CharField(max_length=254, db_index=True)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    source = models.CharField(max_length=12, choices=Source.choices)
    detail = models.TextField(blank=True)
    reference = models.CharField(
        max_length=300, blank=True, help_text="The provider's event id or the message's id."
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at"]
        constraints = [
            models.UniqueConstraint(
                fields=["reference", "email_key"],
                condition=~models.Q(reference=""),
                name="bounce_counted_once",
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.email_key}"
