"""The story page's action bar: the moves the user's role allows from where the story is,
named as a newsroom names them (Save draft, Submit for review, Return to reporter, Publish
now, Schedule, Update, Unpublish, Withdraw…), and the publishing checklist beside them. Each
button posts `_move` (see `forms.MOVES`); the workflow checks the move on the server."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils import timezone

from ..models import Article, Transition
from ..services import workflow
from ..services.checklist import publishing_checklist

Status = Article.Status
PUBLISH_WARNING = "Publish this story now? Readers see it at once."


@dataclass(frozen=True)
class Move:
    value: str
    label: str
    primary: bool = False
    confirm: str = ""


def moves(user, article: Article | None) -> list[Move]:
    """The buttons for `user` on `article` (None: a new story)."""
    story = article if article is not None else Article()
    start = story.status if story.pk else Status.DRAFT
    allowed = (
        set(workflow.allowed_statuses(user, story)) if workflow.can_edit(user, story) else set()
    )
    if not allowed:
        return []
    out = []
    publish = Move("publish", "Publish now", confirm=PUBLISH_WARNING)
    if story.is_embargoed:  # "Publish now" waits for the embargo (`Article.mark_published`)
        when = timezone.localtime(story.embargo_until).strftime("%H:%M on %d %b")
        publish = Move(
            "publish",
            "Publish when the embargo lifts",
            confirm=f"Publish this story at {when}, when its embargo lifts?",
        )
    if start in workflow.OPEN:
        out.append(Move("save", "Save draft" if start == Status.DRAFT else "Save", True))
        if start == Status.DRAFT and Status.REVIEW in allowed:
            out.append(Move("review", "Submit for review"))
        if start == Status.REVIEW and Status.DRAFT in allowed:
            out.append(Move("return", "Return to reporter"))
        if Status.PUBLISHED in allowed:
            out.append(publish)
            out.append(Move("schedule", "Schedule"))
    elif start == Status.PUBLISHED:
        out.append(Move("save", "Update", True))
        if story.is_scheduled and Status.PUBLISHED in allowed and not story.is_embargoed:
            out.append(publish)
            out.append(Move("schedule", "Reschedule"))
        if Status.DRAFT in allowed:
            out.append(Move("unpublish", "Unpublish", confirm="Take this story off the site?"))
    elif start == Status.WITHDRAWN:
        out.append(Move("save", "Save", True))
        if Status.DRAFT in allowed:
            out.append(Move("restore", "Restore as a draft"))
    return out


def context(request, form, original) -> dict:
    user = request.user
    article = form.instance if form is not None else original
    withdraw = None
    if original is not None and original.pk and original.status == Status.PUBLISHED:
        if workflow.can_move(user, original, Status.WITHDRAWN):
            withdraw = reverse("admin:articles_article_withdraw", args=[original.pk])
    found = moves(user, original if original is not None and original.pk else None)
    checks = publishing_checklist(article) if article is not None else []
    return {
        "desk_returned": returned(original),
        "checklist": checks,
        "checklist_blocking": sum(1 for c in checks if not c.ok and c.blocking),
        "checklist_warnings": sum(1 for c in checks if not c.ok and not c.blocking),
        "desk_moves": found,
        "desk_withdraw_url": withdraw,
        "desk_can_return": any(m.value == "return" for m in found),
    }


def returned(article: Article | None) -> Transition | None:
    """The move that sent a draft back to its reporter, with the editor's note, while it is
    still the story's last move: what the reporter is asked to fix. One query, for drafts."""
    if article is None or not article.pk or article.status != Status.DRAFT:
        return None
    last = article.transitions.select_related("by").order_by("-at", "-pk").first()
    back = last is not None and (last.from_status, last.to_status) == (Status.REVIEW, Status.DRAFT)
    return last if back else None
