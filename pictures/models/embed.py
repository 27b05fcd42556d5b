"""Embedded posts and videos, kept as snapshots: fetched once by oEmbed when an editor pastes
the link (`pictures.embeds`), shown to readers as the snapshot, and loaded from the provider
only when a reader asks for it."""

from django.db import models
from django.utils import timezone

from newsroom.text import clean_text_fields


class Embed(models.Model):
    """A snapshot of a post or video elsewhere: its link, what the provider said it was, and
    its thumbnail copied into the library. A deleted original leaves the snapshot as it was."""

    url = models.URLField(max_length=500, unique=True, help_text="The link as pasted.")
    provider = models.CharField(max_length=60)
    kind = models.CharField(max_length=20, help_text="oEmbed type: video, rich, photo or link.")
    title = models.CharField(max_length=300, blank=True)
    author_name = models.CharField(max_length=150, blank=True)
    author_url = models.URLField(max_length=500, blank=True)
    player_url = models.URLField(
        max_length=500,
        blank=True,
        help_text="What the reader's click loads in the page (the provider's player).",
    )
    thumbnail = models.OneToOneField(
        "pictures.Image", on_delete=models.PROTECT, related_name="embed"
    )
    fetched_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-fetched_at", "-pk"]

    def __str__(self):
        return f"{self.provider}: {self.title or self.url}"

    def save(self, *args, **kwargs):
        clean_text_fields(self)
        super().save(*args, **kwargs)

    @property
    def player_origin(self) -> str:
        """The scheme and host the player is loaded from (for the page's frame-src)."""
        scheme, _, rest = self.player_url.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}" if rest else ""
