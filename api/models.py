"""Who may use the content API: one `Consumer` per app or partner, each with its own key and
rate limit, so one can be throttled or cut off without touching the others."""

from __future__ import annotations

import hashlib
import secrets

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

KEY_PREFIX = "nrk_"  # recognisable in a leaked config file or a secret scanner's rules


def key_hash(key: str) -> str:
    """The stored form of a key. A plain SHA-256 suffices: keys are 256 random bits, not
    passwords a person chose, so there is no dictionary to slow down."""
    return hashlib.sha256(key.encode()).hexdigest()


class Consumer(models.Model):
    name = models.CharField(max_length=100, unique=True, help_text="The app or partner.")
    contact = models.EmailField(blank=True, help_text="Who to tell when something changes.")
    key_start = models.CharField(
        "key starts with", max_length=12, editable=False, help_text="To tell keys apart."
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    requests_per_minute = models.PositiveIntegerField(
        default=600, help_text="Requests over this in one minute are answered 429."
    )
    is_active = models.BooleanField(
        "active", default=True, help_text="Untick to refuse this key at once."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API consumer"
        ordering = ["name"]

    def __str__(self):
        return self.name

    def new_key(self) -> str:
        """Give the consumer a new key (the old one stops working once saved); the key itself
        is returned to be shown once, never stored."""
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        self.key_start, self.key_hash = key[:12], key_hash(key)
        return key


EVENTS = {
    "story.published": "Published (or a scheduled story appearing)",
    "story.updated": "Updated (its text changed)",
    "story.withdrawn": "Withdrawn (unpublished, taken down or ended)",
    "story.corrected": "Corrected (a correction added)",
}


def new_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` and 24 random bytes in base64."""
    import base64

    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


class Endpoint(models.Model):
    """Where a partner wants to be told of stories' events, signed with its own secret."""

    consumer = models.ForeignKey(
        Consumer, null=True, blank=True, on_delete=models.CASCADE, related_name="endpoints"
    )
    url = models.URLField("address", max_length=500)
    events = models.JSONField(default=list, help_text="Which events are sent here.")
    secret = models.CharField(
        max_length=100, default=new_secret, help_text="Give it to the partner: it checks "
        "each delivery's signature with it (the Standard Webhooks scheme)."
    )  # fmt: skip
    is_active = models.BooleanField("active", default=True)
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(max_length=300, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = "webhook endpoint"

    def __str__(self):
        return self.url


class Delivery(models.Model):
    """One event for one endpoint: sent until the endpoint accepts it, with the same message id
    (the partner's idempotency key) every time, after the earlier events of its story."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        DELIVERED = "delivered", "Delivered"
        DROPPED = "dropped", "Dropped (no longer true when due)"

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40, choices=list(EVENTS.items()))
    story_id = models.PositiveIntegerField(db_index=True)
    message_id = models.CharField(max_length=40, unique=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(default=timezone.now, help_text="When it is next tried.")
    attempts = models.PositiveSmallIntegerField(default=0)
    last_code = models.PositiveSmallIntegerField("last answer", null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    payload = models.JSONField(null=True, blank=True, help_text="As sent.")

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["-pk"]
        indexes = [models.Index(fields=["endpoint", "status", "id"], name="delivery_queue_idx")]

    def __str__(self):
        return f"{self.event} #{self.story_id} → {self.endpoint}"


def new_feed_token() -> str:
    return secrets.token_urlsafe(24)


class PartnerFeed(models.Model):
    """An RSS feed made for one partner or aggregator, at an address with a secret in it (feed
    readers send no keys): which sections, full text or summaries, with pictures or not.
    Sponsored stories, those on legal hold or not for syndication, and stories first published
    elsewhere never go in (`ArticleQuerySet.for_partners`)."""

    name = models.CharField(max_length=100, unique=True, help_text="Who reads it.")
    slug = models.SlugField(max_length=100, unique=True)
    consumer = models.ForeignKey(
        Consumer, null=True, blank=True, on_delete=models.SET_NULL, related_name="feeds"
    )
    sections = models.ManyToManyField(
        "articles.Section", blank=True, help_text="None chosen: every section."
    )
    full_text = models.BooleanField(
        default=False, help_text="The whole story in each item; otherwise its summary."
    )
    pictures = models.BooleanField(default=True, help_text="Pictures as Media RSS, with credit.")
    items = models.PositiveSmallIntegerField(
        default=50, validators=[MinValueValidator(1), MaxValueValidator(200)]
    )
    token = models.CharField(
        max_length=40, default=new_feed_token, help_text="The secret part of its address."
    )
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("partner-feed", args=[self.slug, self.token])


class AppleNewsArticle(models.Model):
    """A story as published to the outlet's Apple News channel: Apple's id for it and the
    revision the next update must name (`api.apple_news_api`)."""

    story = models.OneToOneField(
        "articles.Article", on_delete=models.CASCADE, related_name="apple_news"
    )
    apple_id = models.CharField(max_length=64, blank=True)
    revision = models.CharField(max_length=64, blank=True)
    share_url = models.URLField(blank=True)
    last_error = models.TextField(
        blank=True, help_text="What Apple's API last answered, if not OK."
    )
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "Apple News article"

    def __str__(self):
        return f"{self.story_id} → {self.apple_id or 'not published'}"
