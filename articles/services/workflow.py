"""The editorial workflow: who may do what to a story, and the services that do it.

    draft ⇄ in review → published (now, or at a future time: scheduled) → withdrawn
      ↑__________________________________|  (unpublish)          |
      ↑__________________________________________________________|  (restore)

Every rule is checked here, on the server, against the row as it is in the database at that
moment (locked with SELECT … FOR UPDATE), whatever the caller loaded earlier: a Reporter's forged
POST that sets status "published" fails in `check_edit`, and a bulk action working from a list
loaded minutes ago cannot re-publish a story someone has since withdrawn.

Two kinds of write, each one UPDATE, one history record (with its reason) and, for a move, one
`Transition`:

- `save_article`: an edit of the whole story (the admin's form), based on the version the editor
  opened (`EditConflict` otherwise), optionally moving it to another status;
- `transition_article` and `set_flags`: a status or flag change alone, which writes only the
  columns it changes, so an edit saved meanwhile by someone else is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from ..models import ARTICLE_HISTORY, Article, Transition, to_the_second
from . import media
from .timing import check_times

Status = Article.Status
Live = Article.LiveStatus
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
LIVE_SETTINGS = ("live_status", "live_reporters_publish")  # an Editor's, as the flags are
# Fields only those who may publish set: a Reporter's form does not show them, and a Reporter's
# history revert must not bring back older values of them.
PUBLICATION_FIELDS = ("published_at", "revised_at", "unpublish_at")
# What each move is called in the history.
REASONS = {
    Status.DRAFT: "Moved to draft",
    Status.REVIEW: "Submitted for review",
    Status.PUBLISHED: "Published",
    Status.WITHDRAWN: "Withdrawn",
}
NOT_VALIDATED = ["authors", "related", "tags", "section", "created_by", "updated_by"]
# Columns a move writes (besides the version and who saved).
MOVE_FIELDS = ["status", "published_at", "withdrawn_reason"]


class EditConflict(Exception):
    """Someone saved the article after this edit began."""

    def __init__(self, current: Article):
        self.current = current
        who = current.updated_by.display_name if current.updated_by else "Someone"
        when = timezone.localtime(current.updated_at).strftime("%H:%M on %d %b %Y")
        super().__init__(
            f"{who} saved this article at {when}, after you started editing. Your changes "
            "have not been saved: compare them with theirs below, then save again to keep yours."
        )


class MoveRefused(PermissionDenied):
    """The user may not give the story that status."""


# --- the rules -----------------------------------------------------------------------------------


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


def can_preview(user, article: Article) -> bool:
    """Who may see a story before readers do: its own writer and Editors. An unpublished story
    can be legally sensitive (an embargo, a story being checked by lawyers), so seeing one is
    not granted by the mere right to view the story list."""
    if not user.has_perm("articles.view_article"):
        return False
    if article.is_visible or article.created_by_id == user.pk:
        return True
    return user.has_perm("articles.edit_any_article")


def can_move(user, article: Article, to: str) -> bool:
    """Whether `user` may move `article` (as stored; a new story counts as a draft) to `to`."""
    start = article.status if article.pk else Status.DRAFT
    if (start, to) not in MOVES:
        return False
    needed = MOVES[(start, to)]
    if needed is not None:
        return user.has_perm(needed)
    return can_edit(user, article)


def allowed_statuses(user, article: Article) -> list[str]:
    """The statuses `user` may give `article` (its current one included)."""
    current = article.status if article.pk else Status.DRAFT
    return [current] + [to for to in Status.values if to != current and can_move(user, article, to)]


def check_edit(
    article: Article,
    *,
    stored: Article | None,
    by,
    to: str,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> None:
    """Raise unless `by` may save `article` as edited over `stored` (the row as it is now, or
    None for a new story) and give it status `to` (publication time `at`, or the one it has):
    `EditConflict` when the edit began from an older version, `PermissionDenied` for what `by`
    may not do, `ValidationError` (by field) for what the story lacks. The admin's form asks
    this for early errors; the services ask it again under the row lock."""
    if stored is not None and expected_version is not None and stored.version != expected_version:
        raise EditConflict(stored)
    current = stored if stored is not None else article
    if not can_edit(by, current):
        raise PermissionDenied("You may not edit this article.")
    if to not in Status.values:
        raise ValidationError({"status": f"Unknown status “{to}”."})
    start = stored.status if stored is not None else Status.DRAFT
    moving = to != start or (
        to == Status.PUBLISHED
        and stored is not None
        and article.published_at != stored.published_at
    )
    if moving and not can_move(by, current, to):
        raise MoveRefused(
            f"You may not move this article from {Status(start).label.lower()} to "
            f"{Status(to).label.lower()}."
        )
    raised = _changed(article, stored, FLAGS)
    if raised and not by.has_perm("articles.flag_article"):
        raise PermissionDenied("Only editors can mark stories as breaking or featured.")
    check_flags(article, to=to, changed=raised)
    if _changed(article, stored, LIVE_SETTINGS) and not by.has_perm("articles.flag_article"):
        raise PermissionDenied("Only editors start, end and set up live coverage.")
    if _changed(article, stored, ["unpublish_at"]) and not by.has_perm("articles.publish_article"):
        raise PermissionDenied("Only editors set when a story leaves the site.")
    media.check_media(article)
    check_times(article, stored=stored, to=to, at=at)
    if to == Status.PUBLISHED:
        check_publishable(article)


def check_publishable(article: Article) -> None:
    """What a story needs before readers may see it: every picture described (alt text).
    What it should have is `media.publishing_warnings` (a wide enough picture)."""
    media.check_alt_texts(article)


def check_flags(article: Article, *, to: str, changed) -> None:
    """Breaking and featured are for stories readers see (or will, when scheduled)."""
    raised = [name for name in ("is_breaking", "is_featured") if name in changed]
    if to != Status.PUBLISHED and any(getattr(article, name) for name in raised):
        raise ValidationError("Only a published or scheduled story can be breaking or featured.")


def _changed(article: Article, stored: Article | None, fields) -> list[str]:
    if stored is None:
        default = Article()
        return [f for f in fields if getattr(article, f) != getattr(default, f)]
    return [f for f in fields if getattr(article, f) != getattr(stored, f)]


# --- the services --------------------------------------------------------------------------------


@transaction.atomic
def save_article(
    article: Article,
    *,
    by,
    expected_version: int | None = None,
    to: str | None = None,
    at: datetime | None = None,
    substantive: bool = False,
    related: Callable[[], None] | None = None,
    note: str = "",
) -> Article:
    """Save an edit of `article` made from `expected_version` (default: the version it was
    loaded at), moving it to status `to` (default: where it is) with publication time `at`.
    `related` saves what hangs off the row (bylines, tags, corrections) once the row exists,
    before the history records the result. A substantive change to a published story sets the
    "Updated" time readers see. One UPDATE (or INSERT), one history record, one `Transition`
    when the status changes."""
    stored = _locked(article.pk) if article.pk else None
    if stored is not None and expected_version is None:
        expected_version = article.version
    start = stored.status if stored is not None else Status.DRAFT
    target = to or start
    check_edit(article, stored=stored, by=by, to=target, expected_version=expected_version, at=at)

    article.status = start
    when = at or article.published_at
    if target == Status.PUBLISHED and (target != start or when != stored.published_at):
        article.mark_published(when)  # published, or given another time (rescheduled)
    elif target != start:
        _move(article, target)
    if stored is None:
        article.created_by = by
    else:
        article.version = stored.version + 1
    if substantive and target == Status.PUBLISHED and start == Status.PUBLISHED:
        article.revised_at = to_the_second(timezone.now())
    article.updated_by = by
    # Relations are the database's to check (a foreign key it refuses is a programming error,
    # not an editor's); the form has validated what an editor chose.
    article.full_clean(exclude=NOT_VALIDATED, validate_constraints=False)
    reason = REASONS[target] if target != start else ("Created" if stored is None else "Edited")
    with ARTICLE_HISTORY.recorded(article, by=by, reason=reason):
        article.save()
        if related is not None:
            related()
        media.sync_pictures(article)
    if target != start:
        _record_move(article, start, target, by=by, note=note)
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
    """Move `article` to status `to`, if `by` may and the workflow allows it from the status the
    row has now. Publishing takes `at` (default now; a future time schedules the story; a story
    already out is left as it is); withdrawing takes a `reason`. Only the move's columns are
    written; `article` is updated to the row as saved."""
    if to not in Status.values:
        raise ValidationError(f"Unknown status “{to}”.")
    row = _locked(article.pk)
    start = row.status
    if not can_move(by, row, to):
        raise MoveRefused(
            f"You may not move this article from {row.get_status_display().lower()} to "
            f"{Status(to).label.lower()}."
        )
    if to == Status.PUBLISHED:
        if row.is_visible and (at is None or at <= timezone.now()):
            raise ValidationError("It is already published.")
        try:
            check_times(row, stored=row, to=to, at=at)
            check_publishable(row)
        except ValidationError as error:
            raise ValidationError(error.messages) from None
        row.mark_published(at or timezone.now())
    else:
        _move(row, to, reason=reason)
    _save_only(row, MOVE_FIELDS, by=by, reason=REASONS[to])
    _record_move(row, start, to, by=by, note=note)
    _copy(row, article, MOVE_FIELDS)
    return article


@transaction.atomic
def set_flags(article: Article, *, by, **flags) -> Article:
    """Set the breaking and featured flags (`is_breaking`, `breaking_until`, `is_featured`) of a
    published or scheduled story that `by` may edit; nothing else of the row is written."""
    unknown = set(flags) - set(FLAGS)
    if unknown:
        raise TypeError(f"not a flag: {', '.join(sorted(unknown))}")
    if not by.has_perm("articles.flag_article"):
        raise PermissionDenied("Only editors can mark stories as breaking or featured.")
    row = _locked(article.pk)
    if not can_edit(by, row):
        raise PermissionDenied("You may not edit this article.")
    for name, value in flags.items():
        setattr(row, name, value)
    check_flags(row, to=row.status, changed=flags)
    _save_only(row, list(flags), by=by, reason="Flags changed")
    _copy(row, article, list(flags))
    return article


@transaction.atomic
def set_live_status(article: Article, status: str, *, by) -> Article:
    """Make `article` a live blog, end or resume its coverage, or make it a story again."""
    if status not in Live.values:
        raise ValidationError(f"Unknown live blog status “{status}”.")
    if not by.has_perm("articles.flag_article"):
        raise PermissionDenied("Only editors start, end and set up live coverage.")
    row = _locked(article.pk)
    if not can_edit(by, row):
        raise PermissionDenied("You may not edit this article.")
    row.live_status = status
    row.refresh_coverage_times()
    fields = ["live_status", "coverage_started_at", "coverage_ended_at"]
    labels = {Live.LIVE: "Live coverage started", Live.ENDED: "Live coverage ended"}
    _save_only(row, fields, by=by, reason=labels.get(status, "No longer a live blog"))
    _copy(row, article, fields)
    return article


def submit_for_review(article: Article, *, by) -> Article:
    return transition_article(article, to=Status.REVIEW, by=by)


def publish_article(article: Article, *, by, at: datetime | None = None) -> Article:
    """Publish now, or at `at` (a future time schedules it: it appears by itself)."""
    return transition_article(article, to=Status.PUBLISHED, by=by, at=at)


def unpublish_article(article: Article, *, by) -> Article:
    return transition_article(article, to=Status.DRAFT, by=by)


def withdraw_article(article: Article, *, by, legal: bool = False, note: str = "") -> Article:
    """Take a story down: it leaves every listing, feed and sitemap, and its address answers
    410 Gone."""
    reason = Article.WithdrawalReason.LEGAL if legal else Article.WithdrawalReason.EDITORIAL
    return transition_article(article, to=Status.WITHDRAWN, by=by, reason=reason, note=note)


def set_breaking(article: Article, *, by, until: datetime | None = None) -> Article:
    """Flag a published story as breaking news until `until` (or until unflagged)."""
    return set_flags(article, by=by, is_breaking=True, breaking_until=until)


# --- writing -------------------------------------------------------------------------------------


def _locked(pk: int) -> Article:
    """The row as it is now, locked until the transaction ends: a concurrent save waits."""
    rows = Article.objects.select_for_update(of=("self",)).select_related("updated_by")
    return rows.defer("search_vector").get(pk=pk)


def _move(article: Article, to: str, *, reason: str = "") -> None:
    """Set the status and what goes with it, for a move other than publishing."""
    if to == Status.WITHDRAWN:
        article.withdrawn_reason = reason or Article.WithdrawalReason.EDITORIAL
    elif article.status == Status.WITHDRAWN:
        article.withdrawn_reason = ""
    article.status = to


def _save_only(row: Article, fields: list[str], *, by, reason: str) -> None:
    row.version += 1
    row.updated_by = by
    with ARTICLE_HISTORY.recorded(row, by=by, reason=reason):
        row.save(update_fields=[*fields, "version", "updated_by", "updated_at"])


def _record_move(article: Article, start: str, to: str, *, by, note: str) -> None:
    Transition.objects.create(
        article=article, from_status=start, to_status=to, by=by, note=note[:300]
    )


def _copy(source: Article, target: Article, fields: list[str]) -> None:
    if source is not target:
        for name in [*fields, "version", "updated_by", "updated_at"]:
            setattr(target, name, getattr(source, name))
