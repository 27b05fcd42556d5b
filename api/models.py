"""Who may use the content API: one `Consumer` per app or partner, each with its own key and
rate limit, so one can be throttled or cut off without touching the others."""

from __future__ import annotations

import hashlib
import secrets

from django.db import models
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
