"""Root URLconf. Section-level article URLs come last: they match any section slug."""

import re

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path

from api.feeds import PartnerFeedView
from api.views import api
from articles.admin.dashboard import editorial_dashboard

from . import health, views

admin.site.site_header = f"{settings.SITE_NAME} newsroom"
admin.site.site_title = f"{settings.SITE_NAME} newsroom"

handler500 = "newsroom.views.server_error"

urlpatterns = [
    path(
        "admin/newsroom/",
        admin.site.admin_view(editorial_dashboard),
        name="editorial-dashboard",
    ),
    path("admin/", admin.site.urls),
    path("robots.txt", views.robots_txt, name="robots"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("newsletters/", include("newsletters.urls")),
    path("api/v1/", api.urls),
    path(
        "partners/feeds/<slug:slug>/<str:token>/rss/",
        PartnerFeedView(),
        name="partner-feed",
    ),
    path("", include("articles.urls")),
]

if not settings.MEDIA_URL.startswith(("http://", "https://", "//")):
    # Answered only when NEWSROOM_SERVE_MEDIA is on (see views.serve_media); first, so that
    # /media/… never reaches the article URLs.
    media_prefix = re.escape(settings.MEDIA_URL.strip("/"))
    urlpatterns.insert(
        0, re_path(rf"^{media_prefix}/(?P<path>.+)$", views.serve_media, name="media")
    )
