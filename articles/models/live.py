"""A live blog's entries: timestamped updates under a story whose `live_status` is set.

An entry goes live when it is posted by someone allowed to publish it, or when an editor
approves it (`articles.services.live`). Readers see published entries newest first; a removed
entry keeps its place as a short note, so its permalink still lands somewhere."""

from django.db import models
from django.utils import timezone

from newsroom.text import clean_text_fields

from .. import body as article_body
from .article import Article
from .choices import EntryStatus


class LiveEntryQuerySet(models.QuerySet):
    def shown(self, article_id: int):
        """What readers see of a blog, newest first: published entries and removal notes."""
        return self.filter(
            article_id=article_id, status__in=[EntryStatus.PUBLISHED, EntryStatus.REMOVED]
        ).order_by("-posted_at", "-pk")

    def for_page(self):
        """With the byline, and without the text of removal notes' entries."""
        return self.select_related("author").only(
            "article_id", "title", "body", "author__name", "author__slug", "status",
            "key_event", "posted_at", "edited_at",
        )  # fmt: skip


class LiveEntry(models.Model):
    Status = EntryStatus

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="live_entries")
    title = models.CharField(max_length=200, blank=True, help_text="Optional, in bold.")
    body = models.TextField(
        validators=[article_body.validate_length],
        help_text="Paragraphs as in a story; pictures, galleries and embeds by their markers.",
    )
    author = models.ForeignKey(
        "accounts.Author",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="live_entries",
        help_text="The byline. Empty: the poster's own, when they have one.",
    )
    status = models.CharField(
        max_length=20, choices=EntryStatus.choices, default=EntryStatus.PENDING, db_index=True
    )
    key_event = models.BooleanField(
        "key event", default=False, help_text="Pinned in the blog's key events."
    )
    posted_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When readers first saw it."
    )
    edited_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="The last edit after it went live: readers see “Updated”.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        "accounts.User", null=True, on_delete=models.SET_NULL, editable=False, related_name="+"
    )
    approved_by = models.ForeignKey(
        "accounts.User", null=True, on_delete=models.SET_NULL, editable=False, related_name="+"
    )

    objects = LiveEntryQuerySet.as_manager()

    class Meta:
        verbose_name = "live entry"
        verbose_name_plural = "live entries"
        ordering = ["-posted_at", "-created_at", "-pk"]
        indexes = [
            models.Index(fields=["article", "status", "-posted_at"], name="live_entry_shown_idx")
        ]
        permissions = [
            ("publish_liveentry", "Can publish, approve and remove any live blog entry"),
        ]

    def __str__(self):
        return self.title or article_body.plain_text(self.body)[:60] or f"Entry {self.pk}"

    def save(self, *args, **kwargs):
        clean_text_fields(self)
        self.body = article_body.sanitize(self.body)
        super().save(*args, **kwargs)

    @property
    def anchor(self) -> str:
        return f"entry-{self.pk}"

    @property
    def is_shown(self) -> bool:
        return self.status == EntryStatus.PUBLISHED

    @property
    def version(self) -> str:
        """Changes whenever readers would see the entry differently (`static/js/live.js`)."""
        edited = self.edited_at.timestamp() if self.edited_at else 0
        return f"{self.status[0]}{int(edited)}"
