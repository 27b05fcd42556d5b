"""Site-wide views that belong to no app: robots.txt, the favicon, uploaded media (when the app
serves them) and the error pages."""

from functools import cache
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import Http404, HttpResponse, HttpResponseServerError
from django.template import loader
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views import static
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

FAVICON = "img/favicon.ico"
# Uploaded file names are never reused (the storage adds a suffix rather than overwrite), so a
# day in browsers' caches is safe; not forever, since a file can still be deleted.
MEDIA_MAX_AGE = 24 * 3600


@require_safe
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


@cache
def _favicon_bytes() -> bytes | None:
    path = finders.find(FAVICON)
    return Path(path).read_bytes() if path else None


@require_safe
@cache_control(public=True, max_age=7 * 24 * 3600)
def favicon(request):
    """/favicon.ico, where browsers and feed readers look whatever the page's <link> says;
    pages also link the SVG. Read once per process from the static files."""
    data = _favicon_bytes()
    if data is None:
        raise Http404("No favicon among the static files")
    return HttpResponse(data, content_type="image/vnd.microsoft.icon")


@require_safe
def serve_media(request, path):
    """An uploaded file from MEDIA_ROOT, for sites with nothing else in front (`make run`):
    on only with NEWSROOM_SERVE_MEDIA (see settings); production serves /media/ from nginx or
    object storage (docs/DEPLOY.md)."""
    if not settings.SERVE_MEDIA:
        raise Http404("The app does not serve media here")
    response = static.serve(request, path, document_root=settings.MEDIA_ROOT)
    patch_cache_control(response, public=True, max_age=MEDIA_MAX_AGE)
    return response


def server_error(request):
    """The 500 page in the site's look, rendered without a request context: the database may
    be what failed, so nothing on it may query."""
    html = loader.render_to_string("500.html", {"site_name": settings.SITE_NAME})
    return HttpResponseServerError(html)
