"""Unsaved text kept on the server (`StoryDraft`): the story form's script (autosave.js) sends
what is typed every few seconds, and asks for it when the form opens, on whichever device. The
form then offers it back, as it does with the browser's own copy. Only its owner reads or
writes a draft, and only for a story they may edit; saving the story removes it."""

from __future__ import annotations

import json

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone

from ..body import MAX_TEXT_CHARACTERS
from ..models import Article, StoryDraft
from ..services import workflow

FIELDS = ("headline", "standfirst", "body", "seo_headline", "social_headline")
NEW = "new"


def _allowed(user, story: str) -> None:
    if story == NEW:
        if not user.has_perm("articles.add_article"):
            raise PermissionDenied
        return
    if not story.isdigit():
        raise Http404("No such story")
    if not workflow.can_edit(user, get_object_or_404(Article, pk=int(story))):
        raise PermissionDenied


def draft_view(request, story: str):
    """GET: the user's unsaved text of `story` (204 when none: not an error, most forms have
    none). POST (JSON {"values": …}): keep it, replacing the last."""
    _allowed(request.user, story)
    if request.method == "GET":
        found = StoryDraft.objects.filter(user=request.user, story=story).first()
        if found is None:
            return HttpResponse(status=204)
        time = int(found.saved_at.timestamp() * 1000)
        return JsonResponse({"time": time, "values": found.values})
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])
    try:
        values = json.loads(request.body)["values"]
    except (ValueError, KeyError, TypeError):
        return HttpResponse("Send JSON with the form's values.", status=400)
    if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
        return HttpResponse("Send the form's values as text.", status=400)
    kept = {name: values[name][:MAX_TEXT_CHARACTERS] for name in FIELDS if name in values}
    StoryDraft.objects.update_or_create(
        user=request.user, story=story, defaults={"values": kept, "saved_at": timezone.now()}
    )
    return HttpResponse(status=204)


def forget(user, article: Article, *, new: bool) -> None:
    """The story was saved: its unsaved text (and, for a new one, the "new" draft) goes."""
    keys = [str(article.pk), *([NEW] if new else [])]
    StoryDraft.objects.filter(user=user, story__in=keys).delete()
