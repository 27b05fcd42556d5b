"""Shareable preview links on a story's admin page: make one (its address shown once) or
revoke one. The rules are `articles.shared_previews`'s."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse

from .. import shared_previews
from ..models import Article, PreviewLink
from ..services import workflow


def preview_context(request, article: Article) -> dict:
    if not workflow.can_preview(request.user, article):
        return {}
    return {
        "preview_links": article.preview_links.select_related("created_by")[:10],
        "preview_lifetimes": shared_previews.LIFETIMES,
    }


def preview_links_view(model_admin, request, pk):
    """Make a shareable preview link (shown once, here) or revoke one."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    article = get_object_or_404(Article, pk=pk)
    back = redirect(reverse("admin:articles_article_change", args=[pk]) + "#preview-links")
    if "revoke" in request.POST:
        number = request.POST["revoke"]
        if not number.isdigit():
            raise Http404("No such link")
        link = get_object_or_404(PreviewLink, pk=number, article=article)
        shared_previews.revoke(link, by=request.user)
        model_admin.message_user(request, "Preview link revoked: it no longer opens.")
        return back
    try:
        days = int(request.POST.get("days", "1"))
        _link, path = shared_previews.share(article, by=request.user, days=days)
    except (ValueError, ValidationError) as error:
        model_admin.message_user(request, f"No link made: {error}", messages.ERROR)
        return back
    address = request.build_absolute_uri(path)
    model_admin.message_user(
        request,
        f"Preview link, valid {shared_previews.LIFETIMES[days]} (copy it now: it is shown "
        f"only once): {address}",
        messages.SUCCESS,
    )
    return back
