"""Site-wide views that belong to no app: robots.txt and the error pages."""

from django.conf import settings
from django.http import HttpResponse, HttpResponseServerError
from django.template import loader
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET


@require_GET
@cache_control(public=True, max_age=3600)
def robots_txt(request):
    """Crawlers may read everything public; the admin and the sign-up endpoint are not pages."""
    sitemaps = [reverse("articles:sitemap-index"), reverse("articles:sitemap-news")]
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /newsletters/sign-up/",
        "Disallow: /search/",
        "",
        *(f"Sitemap: {request.build_absolute_uri(url)}" for url in sitemaps),
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


def server_error(request):
    """The 500 page in the site's look, rendered without a request context: the database may
    be what failed, so nothing on it may query."""
    html = loader.render_to_string("500.html", {"site_name": settings.SITE_NAME})
    return HttpResponseServerError(html)
