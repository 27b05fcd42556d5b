"""The editors' dashboard: what an editor needs first, at `/admin/newsroom/`."""

from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils import timezone

from ..models import Article, Correction

Status = Article.Status


def editorial_dashboard(request):
    """What an editor needs first: stories waiting for review, the next scheduled ones and the
    latest corrections."""
    now = timezone.now()
    context = {
        **admin.site.each_context(request),
        "title": "Newsroom",
        "waiting": Article.objects.filter(status=Status.REVIEW)
        .select_related("section", "created_by")
        .order_by("updated_at")[:20],
        "scheduled": Article.objects.filter(status=Status.PUBLISHED, published_at__gt=now)
        .select_related("section")
        .order_by("published_at")[:20],
        "corrections": Correction.objects.select_related("article").order_by("-published_at")[:10],
    }
    return TemplateResponse(request, "admin/editorial_dashboard.html", context)
