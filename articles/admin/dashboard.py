"""The editors' dashboard: what an editor needs first, at `/admin/newsroom/`."""

from datetime import timedelta

from django.contrib import admin
from django.db.models import Prefetch
from django.template.response import TemplateResponse

from pictures.models import Image

from ..models import Article, Correction

Status = Article.Status
EXPIRING_DAYS = 14


def editorial_dashboard(request):
    """What an editor needs first: stories waiting for review, the next scheduled ones, the
    latest corrections and the pictures whose licence runs out soon (with their stories)."""
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
        "expiring_days": EXPIRING_DAYS,
        "expiring": Image.objects.expiring(within=timedelta(days=EXPIRING_DAYS)).prefetch_related(
            Prefetch("stories", queryset=Article.objects.only("headline").order_by("-pk"))
        )[:20],
    }
    return TemplateResponse(request, "admin/editorial_dashboard.html", context)
