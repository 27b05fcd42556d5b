"""What is kept beside a story: its published corrections, its workflow moves and the addresses
it had before."""

from django.db import models
from django.utils import timezone

from .article import Article, to_the_second
from .queries import CorrectionQuerySet


class Correction(models.Model):
    """A published correction, clarification or update note, shown on the article."""

    class Kind(models.TextChoices):
        CORRECTION = "correction", "Correction"
        CLARIFICATION = "clarification", "Clarification"
        UPDATE = "update", "Update"

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="corrections")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.CORRECTION)
    text = models.TextField(help_text="What was wrong and what is right, in plain words.")
    published_at = models.DateTimeField(default=timezone.now)

    objects = CorrectionQuerySet.as_manager()

    class Meta:
        ordering = ["published_at", "pk"]

    def __str__(self):
        return f"{self.get_kind_display()} to “{self.article}”"

    def save(self, *args, **kwargs):
        """A new correction on a published story gives it the "Updated" time readers see (its
        own time, unless the story was updated since), whoever adds it."""
        adding = self._state.adding
        super().save(*args, **kwargs)
        if adding:
            moment = to_the_second(self.published_at)
            Article.objects.filter(pk=self.article_id, status=Article.Status.PUBLISHED).filter(
                models.Q(revised_at__isnull=True) | models.Q(revised_at__lt=moment)
            ).update(revised_at=moment, updated_at=timezone.now())


class Transition(models.Model):
    """A move between workflow states: who moved the article, from what, to what, when."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=20, choices=Article.Status.choices)
    to_status = models.CharField(max_length=20, choices=Article.Status.choices)
    by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = "status change"
        verbose_name_plural = "status changes"

    def __str__(self):
        return f"{self.get_from_status_display()} → {self.get_to_status_display()}"


class OldAddress(models.Model):
    """An address a published story had before its slug or section changed: it answers with a
    permanent redirect to where the story is now (`articles.views.article_detail`)."""

    path = models.CharField(max_length=600, unique=True)
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="old_addresses")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "old address"
        verbose_name_plural = "old addresses"

    def __str__(self):
        return self.path


class Takedown(models.Model):
    """A story withdrawn from readers, with why and by whom: the desk's audit list. A legal
    takedown also lists the library pictures it removed from storage, and those it kept
    because other stories still show them."""

    article = models.ForeignKey(Article, on_delete=models.PROTECT, related_name="takedowns")
    legal = models.BooleanField("legal reason", default=False)
    note = models.TextField(help_text="Why, in the desk's words: kept for the record.")
    by = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    pictures_removed = models.JSONField(default=list, blank=True)
    pictures_kept = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = "takedown"
        verbose_name_plural = "takedowns (audit)"

    def __str__(self):
        kind = "Legal takedown" if self.legal else "Withdrawal"
        return f"{kind} of “{self.article}”"


class PreviewLink(models.Model):
    """A link to an unpublished story for someone without a login (a lawyer, a partner):
    unguessable, expiring, revocable. Only a hash of its token is kept, so the table alone
    opens nothing (`articles.shared_previews`)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="preview_links")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        "accounts.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    opened = models.PositiveIntegerField(default=0, help_text="How often it was opened.")

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"Preview link to “{self.article}”"

    @property
    def is_open(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class StoryDraft(models.Model):
    """What someone is typing into a story's form, kept on the server every few seconds so it
    follows them to another device (`articles.admin.drafts`). Not the story: no history, no
    version, nothing readers see; gone once the story is saved. `story` is the story's number,
    or "new" for a story not saved yet (one per person)."""

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    story = models.CharField(max_length=20)
    values = models.JSONField(default=dict)
    saved_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "story"], name="one_draft_per_story_and_person")
        ]

    def __str__(self):
        return f"Unsaved text of {self.user} on story {self.story}"
