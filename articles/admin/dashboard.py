"""The desk's front page: what an editor or reporter needs first, at the top of the admin's
home (`/admin/`, through the `desk_dashboard` tag) and on its own at `/admin/newsroom/`."""

from datetime import timedelta

from django.contrib import admin
from django.db.models import Prefetch, Q
from django.template.response import TemplateResponse
from django.utils import timezone

from pictures.models import Image

from ..models import Article, Correction

Status = Article.Status
EXPIRING_DAYS = 14
SHOWN = 20


def dashboard_context(request) -> dict:
    """The user's own drafts, the review queue, the next scheduled stories, those under an
    embargo and those set to leave the site, what was published today, the breaking and live
    stories, the latest corrections and the pictures whose licence runs out soon (with their
    stories). A query each."""
    user, now = request.user, timezone.now()
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    stories = Article.objects.select_related("section", "created_by").defer("search_vector")
    return {
        "mine": stories.filter(created_by=user, status__in=[Status.DRAFT, Status.REVIEW]).order_by(
            "-updated_at"
        )[:SHOWN],
        "waiting": stories.filter(status=Status.REVIEW).order_by("updated_at")[:SHOWN],
        "scheduled": stories.scheduled(now=now).order_by("published_at")[:SHOWN],
        "embargoed": stories.filter(embargo_until__gt=now)
        .exclude(status=Status.WITHDRAWN)
        .order_by("embargo_until")[:SHOWN],
        "leaving": stories.published(now=now)
        .filter(unpublish_at__isnull=False)
        .order_by("unpublish_at")[:SHOWN],
        "today": stories.published(now=now).filter(published_at__gte=today)[:SHOWN],
        "running": stories.published(now=now)
        .filter(Q(is_breaking=True) | Q(live_status=Article.LiveStatus.LIVE))
        .order_by("-published_at")[:SHOWN],
        "corrections": Correction.objects.select_related("article").order_by("-published_at")[:10],
        "expiring_days": EXPIRING_DAYS,
        "expiring": Image.objects.expiring(within=timedelta(days=EXPIRING_DAYS)).prefetch_related(
            Prefetch("stories", queryset=Article.objects.only("headline").order_by("-pk"))
        )[:SHOWN],
    }


def editorial_dashboard(request):
    context = {
        **admin.site.each_context(request),
        "title": "Newsroom",
        **dashboard_context(request),
    }
    return TemplateResponse(request, "admin/editorial_dashboard.html", context)
