"""The desk told of moves, by email and a chat webhook: the Editors when a story is submitted
for review; its reporter when it is returned (with the editor's note) or published.

Sent by a background task once the move commits (`notify_task`), so a save never waits on a
mail server or a chat service; a failed webhook is logged, never retried into a flood. The
webhook (`NEWSROOM_DESK_WEBHOOK_URL`, for Slack, Mattermost, Teams or similar) gets a JSON
`{"text": …}` message, the shape those tools' incoming webhooks take."""

from __future__ import annotations

import json
import logging
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django_tasks import task

from accounts import roles
from accounts.models import User

from .models import Article, Transition

logger = logging.getLogger(__name__)
Status = Article.Status
WEBHOOK_TIMEOUT = 5


@dataclass(frozen=True)
class Notice:
    subject: str
    text: str
    to: tuple[str, ...]


def notice_for(move: Transition) -> Notice | None:
    """What to say about `move`, and to whom (None: nothing worth telling)."""
    story, by = move.article, move.by.display_name if move.by else "Someone"
    link = f"{settings.SITE_URL}{reverse('admin:articles_article_change', args=[story.pk])}"
    writer = story.created_by
    own = (writer.email,) if writer is not None and writer.email and writer != move.by else ()
    if move.to_status == Status.REVIEW:
        editors = User.objects.filter(groups__name=roles.EDITOR, is_active=True).exclude(email="")
        to = tuple(sorted({u.email for u in editors if u != move.by}))
        return Notice(
            f"For review: {story.headline}", f"{by} sent “{story.headline}” for review.\n{link}", to
        )
    if move.from_status == Status.REVIEW and move.to_status == Status.DRAFT:
        note = f"\n\nTheir note: {move.note}" if move.note else ""
        return Notice(
            f"Returned to you: {story.headline}",
            f"{by} returned “{story.headline}” to you.{note}\n{link}",
            own,
        )
    if move.to_status == Status.PUBLISHED:
        when = "scheduled" if story.is_scheduled else "published"
        return Notice(
            f"{when.title()}: {story.headline}", f"{by} {when} “{story.headline}”.\n{link}", own
        )
    return None


@task()
def notify_task(transition_id: int) -> dict:
    """Tell the desk of one move: mail to whom it concerns, and the webhook."""
    move = Transition.objects.select_related("article", "by", "article__created_by").filter(
        pk=transition_id
    )
    move = move.first()
    notice = notice_for(move) if move is not None else None
    if notice is None:
        return {"mailed": 0, "webhook": False}
    mailed = 0
    if notice.to:
        mailed = send_mail(notice.subject, notice.text, None, list(notice.to))
    return {"mailed": mailed, "webhook": _post_webhook(notice)}


def _post_webhook(notice: Notice) -> bool:
    url = settings.NEWSROOM_DESK_WEBHOOK_URL
    if not url:
        return False
    body = json.dumps({"text": f"{notice.subject}\n{notice.text}"}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as answer:
            return 200 <= answer.status < 300
    except (OSError, ValueError) as error:
        logger.warning("desk webhook failed: %s", error)
        return False
