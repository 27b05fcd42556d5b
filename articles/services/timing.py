"""When a story may appear and when it leaves: the embargo and the "unpublish at" time.

An embargo is a source's condition ("not before 00:01 on Tuesday"), distinct from scheduling: a
scheduled time is the desk's plan and may be moved; an embargo is a floor nobody publishes under.
The database keeps it too (`article_published_after_embargo`), so a script or a bulk action that
skipped this module cannot put an embargoed story out early. "Unpublish at" ends a story's life on
the site (a licence, an offer): after it the story drops out of every listing, feed and search and
its address answers 410.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

from ..models import Article

Status = Article.Status


def _at(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%H:%M on %d %b %Y")


def check_times(
    article: Article, *, stored: Article | None, to: str, at: datetime | None = None
) -> None:
    """The embargo and the "unpublish at" time, for `article` given status `to` (publication
    time `at`, or the one it has; none: now). An embargo is a floor nobody publishes under:
    "Publish now" waits for it (`Article.mark_published`), a time before it is refused, and a
    story already out cannot be put under one. `ValidationError` by field."""
    now = timezone.now()
    embargo, ends = article.embargo_until, article.unpublish_at
    when = at or article.published_at
    if to == Status.PUBLISHED and embargo is not None and embargo > now:
        if stored is not None and stored.is_visible:
            raise ValidationError(
                {
                    "embargo_until": "This story is already out: an embargo can no longer "
                    "hold it back. Unpublish it first if it must come down."
                }
            )
        if when is not None and now < when < embargo:
            raise ValidationError(
                {
                    "published_at": f"It is embargoed until {_at(embargo)}: schedule it for "
                    "then or later, or change the embargo."
                }
            )
    if ends is None:
        return
    if (stored is None or ends != stored.unpublish_at) and ends <= now:
        raise ValidationError(
            {"unpublish_at": "Give a time still to come, or unpublish the story now."}
        )
    unchanged = stored is not None and stored.status == Status.PUBLISHED
    unchanged = unchanged and (ends, when) == (stored.unpublish_at, stored.published_at)
    if to == Status.PUBLISHED and not unchanged:  # not an ended story's typo fix
        appears = max(when if when is not None and when > now else now, embargo or now)
        if ends <= appears:
            raise ValidationError(
                {
                    "unpublish_at": f"It would leave the site before it appears "
                    f"({_at(appears)}): give a later time."
                }
            )
