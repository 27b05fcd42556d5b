"""Root URLconf. Section-level article URLs come last: they match any section slug."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

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
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("newsletters/", include("newsletters.urls")),
    path("", include("articles.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
