"""Shareable previews: a link that shows an unpublished story as readers will see it, to
someone without a login (a lawyer checking a story, a partner before an embargo).

The link carries a random token (32 bytes); the database keeps only its SHA-256, so the link
is shown once, when it is made. It expires (a day by default, a week at most), can be
revoked, and its page is `noindex`, `no-store` and sends no referrer, so the token does not
leak to the sites it links to. Whoever may preview the story (`workflow.can_preview`) may
share it."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from .models import Article, PreviewLink
from .services import workflow
from .views import render_article

LIFETIMES = {1: "a day", 3: "three days", 7: "a week"}  # days: what an editor may choose


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def share(article: Article, *, by, days: int = 1) -> tuple[PreviewLink, str]:
    """A new link to `article` for `days`; returns it and its address (path), shown once."""
    if not workflow.can_preview(by, article):
        raise PermissionDenied("You may not share a preview of this story.")
    if days not in LIFETIMES:
        raise ValidationError(f"A preview link lasts {', '.join(map(str, LIFETIMES))} days.")
    token = secrets.token_urlsafe(32)
    link = PreviewLink.objects.create(
        article=article,
        token_hash=_hash(token),
        created_by=by,
        expires_at=timezone.now() + timedelta(days=days),
    )
    return link, reverse("articles:shared-preview", args=[token])


def revoke(link: PreviewLink, *, by) -> None:
    if not workflow.can_preview(by, link.article):
        raise PermissionDenied("You may not revoke this link.")
    PreviewLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def shared_preview(request, token):
    """The story behind a link still open, as readers will see it; else 404."""
    link = PreviewLink.objects.filter(token_hash=_hash(token)).select_related("article").first()
    if link is None or not link.is_open:
        raise Http404("This preview link has expired or been revoked.")
    article = Article.objects.detail(pk=link.article_id)
    if article is None or article.status == Article.Status.WITHDRAWN:
        raise Http404("No such story")
    PreviewLink.objects.filter(pk=link.pk).update(opened=F("opened") + 1)
    if article.published_at is None:
        article.published_at = timezone.now()  # as the admin's preview shows it
    response = render_article(request, article, preview=True)
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response
