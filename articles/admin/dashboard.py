"""The editors' dashboard: what an editor needs first, at `/admin/newsroom/`."""

from django.contrib import admin
from django.template.response import TemplateResponse

from ..models import Article, Correction

Status = Article.Status


def editorial_dashboard(request):
    """What an editor needs first: stories waiting for review, the next scheduled ones and the
    latest corrections."""
    context = {
        **admin.site.each_context(request),
        "title": "Newsroom",
        "waiting": Article.objects.filter(status=Status.REVIEW)
        .select_related("section", "created_by")
        .order_by("updated_at")[:20],
        "scheduled": Article.objects.scheduled()
        .select_related("section")
        .order_by("published_at")[:20],
        "corrections": Correction.objects.select_related("article").order_by("-published_at")[:10],
    }
    return TemplateResponse(request, "admin/editorial_dashboard.html", context)
