"""Taking a story down: why (a legal reason or an editorial one) and a note are required and
recorded (`Takedown`, the desk's audit list, beside the workflow's `Transition`). The story
answers 410 Gone at every address it had. A legal takedown also removes from storage every
library picture the story showed that no other story still shows (the others are kept and
named in the record, for the desk to decide), and takes them off the edge at once."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from pictures.services import remove_from_storage

from ..models import Article, Takedown
from . import workflow


@transaction.atomic
def take_down(article: Article, *, by, legal: bool, note: str) -> Takedown:
    """Withdraw `article` (if `by` may: `workflow.withdraw_article`) with its reason and note."""
    note = note.strip()
    if not note:
        raise ValidationError({"note": "Say why the story is taken down: it is kept on record."})
    workflow.withdraw_article(article, by=by, legal=legal, note=note)
    record = Takedown(article=article, legal=legal, note=note, by=by)
    if legal:
        record.pictures_removed, record.pictures_kept = _remove_pictures(article)
    record.save()
    return record


def _remove_pictures(article: Article) -> tuple[list, list]:
    """Remove the story's pictures that no other story (not withdrawn) shows; (removed, kept)
    as [{"id", "caption"}] each."""
    removed, kept = [], []
    others = Article.objects.exclude(pk=article.pk).exclude(status=Article.Status.WITHDRAWN)
    for image in article.pictures.all():
        entry = {"id": image.pk, "caption": image.caption or image.alt_text}
        if others.filter(pictures=image).exists():
            kept.append(entry)
            continue
        remove_from_storage(image, reason=f"Removed by the legal takedown of story {article.pk}.")
        removed.append(entry)
    return removed, kept
