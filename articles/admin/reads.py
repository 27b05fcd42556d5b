"""A story's reads for the desk: each of the last 24 hours, and each of the last seven days by
where readers came from (search, social, newsletter, elsewhere, direct). See `articles.reads`."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse

from .. import reads
from ..models import Article


def reads_view(model_admin, request, pk):
    article = get_object_or_404(Article, pk=pk)
    if not model_admin.has_view_permission(request, article):
        raise PermissionDenied
    found = reads.per_story(article.pk)
    days = [(date, counts, sum(counts.values())) for date, counts in found["days"]]
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": Article._meta,
        "original": article,
        "title": f"Reads: {article.headline}",
        "hours": found["hours"],
        "days": days,
        "kinds": reads.KINDS,
        "last_day": sum(count for _, count in found["hours"]),
    }
    return TemplateResponse(request, "admin/articles/article/reads.html", context)
