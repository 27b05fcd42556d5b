"""The editorial workflow: who may do what to an article, and the services that do it.

    draft ⇄ in review → published (now, or at a future time: scheduled) → withdrawn
      ↑__________________________________|  (unpublish)          |
      ↑__________________________________________________________|  (restore)

Every rule is checked here, on the server, whatever the admin shows: a Reporter's forged POST
that sets status "published" fails in `transition_article`. Each transition is recorded as a
`Transition` (who, from, to, when); every saved change is kept by django-simple-history.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ..models import Article, Transition

Status = Article.Status
OPEN = (Status.DRAFT, Status.REVIEW)
# Which status may follow which, and the permission each move needs beyond editing rights.
MOVES = {
    (Status.DRAFT, Status.REVIEW): None,
    (Status.REVIEW, Status.DRAFT): None,
    (Status.DRAFT, Status.PUBLISHED): "articles.publish_article",
    (Status.REVIEW, Status.PUBLISHED): "articles.publish_article",
    (Status.PUBLISHED, Status.PUBLISHED): "articles.publish_article",  # reschedule
    (Status.PUBLISHED, Status.DRAFT): "articles.publish_article",
    (Status.PUBLISHED, Status.WITHDRAWN): "articles.publish_article",
    (Status.WITHDRAWN, Status.DRAFT): "articles.publish_article",
}
FLAGS = ("is_breaking", "breaking_until", "is_featured")


class EditConflict(Exception):
    """Someone saved the article after this edit began."""

    def __init__(self, current: Article):
        self.current = current
        editor = current.updated_by
        who = (editor.get_full_name() or editor.get_username()) if editor else "Someone"
        when = timezone.localtime(current.updated_at).strftime("%H:%M on %d %b %Y")
        super().__init__(
            f"{who} saved this article at {when}, after you started editing. Your changes "
            "have not been saved: compare them with theirs below, then save again to keep yours."
        )


def can_edit(user, article: Article) -> bool:
    """Editors edit everything; a Reporter edits only their own stories not yet published."""
    if article.pk is None:
        return user.has_perm("articles.add_article")
    if not user.has_perm("articles.change_article"):
        return False
    if user.has_perm("articles.edit_any_article"):
        return True
    return article.created_by_id == user.pk and article.status in OPEN


def can_delete(user, article: Article) -> bool:
    """Published and withdrawn stories are deleted only by those who may edit any story."""
    if not user.has_perm("articles.delete_article"):
        return False
    if user.has_perm("articles.edit_any_article"):
        return True
    return article.created_by_id == user.pk and article.status in OPEN


def can_move(user, article: Article, to: str) -> bool:
    if (article.status, to) not in MOVES:
        return False
    needed = MOVES[(article.status, to)]
    if needed is not None:
        return user.has_perm(needed)
    return can_edit(user, article)


def allowed_statuses(user, article: Article) -> list[str]:
    """The statuses `user` may give `article` (its current one included)."""
    return [article.status] + [
        to for to in Status.values if can_move(user, article, to) and to != article.status
    ]


@transaction.atomic
def save_article(
    article: Article,
    *,
    by,
    expected_version: int | None,
    substantive: bool = False,
    flags_changed: bool = False,
) -> Article:
    """Save an edit made from `expected_version`. Refuses edits `by` may not make, and edits
    based on a version someone else has since replaced (`EditConflict`). A substantive change to
    a published story sets the "Updated" time readers see."""
    if not can_edit(by, article):
        raise PermissionDenied("You may not edit this article.")
    if flags_changed and not by.has_perm("articles.flag_article"):
        raise PermissionDenied("Only editors can mark stories as breaking or featured.")
    if article.pk is None:
        article.created_by = by
    else:
        # The row lock taken by this UPDATE makes a concurrent save wait, then fail the check.
        claimed = Article.objects.filter(pk=article.pk, version=expected_version).update(
            version=F("version") + 1
        )
        if not claimed:
            raise EditConflict(Article.objects.select_related("updated_by").get(pk=article.pk))
        article.version = expected_version + 1
    if substantive and article.status == Status.PUBLISHED:
        article.revised_at = timezone.now()
    article.updated_by = by
    article.full_clean(exclude=["authors", "related", "tags"], validate_constraints=False)
    article.save()
    return article


@transaction.atomic
def transition_article(
    article: Article,
    *,
    to: str,
    by,
    at: datetime | None = None,
    reason: str = "",
    note: str = "",
) -> Article:
    """Move `article` to status `to`, if `by` may and the workflow allows it. Publishing takes
    `at` (default now; a future time schedules the story); withdrawing takes a `reason`."""
    if to not in Status.values:
        raise ValidationError(f"Unknown status “{to}”.")
    if not can_move(by, article, to):
        raise PermissionDenied(
            f"You may not move this article from {article.get_status_display().lower()} to "
            f"{Status(to).label.lower()}."
        )
    if to == Status.PUBLISHED and article.hero_image and not article.hero_alt.strip():
        raise ValidationError("Describe the hero image (alt text) before publishing.")
    previous = article.status
    article.status = to
    if to == Status.PUBLISHED:
        article.published_at = at or article.published_at or timezone.now()
        article.withdrawn_reason = ""
    elif to == Status.WITHDRAWN:
        article.withdrawn_reason = reason or Article.WithdrawalReason.EDITORIAL
    elif to == Status.DRAFT and previous == Status.WITHDRAWN:
        article.withdrawn_reason = ""
    article.updated_by = by
    article.version = F("version") + 1
    article.save()
    article.refresh_from_db(fields=["version"])
    Transition.objects.create(
        article=article, from_status=previous, to_status=to, by=by, note=note[:300]
    )
    return article


def submit_for_review(article: Article, *, by) -> Article:
    return transition_article(article, to=Status.REVIEW, by=by)


def publish_article(article: Article, *, by, at: datetime | None = None) -> Article:
    """Publish now, or at `at` (a future time schedules it: it appears by itself)."""
    return transition_article(article, to=Status.PUBLISHED, by=by, at=at or timezone.now())


def unpublish_article(article: Article, *, by) -> Article:
    return transition_article(article, to=Status.DRAFT, by=by)


def withdraw_article(article: Article, *, by, legal: bool = False, note: str = "") -> Article:
    """Take a story down: it leaves every listing, feed and sitemap, and its address answers
    410 Gone."""
    reason = Article.WithdrawalReason.LEGAL if legal else Article.WithdrawalReason.EDITORIAL
    return transition_article(article, to=Status.WITHDRAWN, by=by, reason=reason, note=note)


def set_breaking(article: Article, *, by, until: datetime | None = None) -> Article:
    """Flag a published story as breaking news until `until` (or until unflagged)."""
    if not by.has_perm("articles.flag_article"):
        raise PermissionDenied("Only editors can mark stories as breaking.")
    article.is_breaking, article.breaking_until, article.updated_by = True, until, by
    article.version = F("version") + 1
    article.save()
    article.refresh_from_db(fields=["version"])
    return article
