"""The site's URLs plus media files, for the browser tests only.

The live server serves static files itself but not uploads (production keeps them in object
storage behind the CDN), so a story's hero picture would not load without this route."""

from django.conf import settings
from django.urls import re_path
from django.views.static import serve

from newsroom.urls import handler500
from newsroom.urls import urlpatterns as site_urlpatterns

__all__ = ["handler500", "urlpatterns"]


def media(request, path):
    # MEDIA_ROOT is a per-test temporary folder, so it is read at request time.
    return serve(request, path, document_root=settings.MEDIA_ROOT)


urlpatterns = [
    re_path(r"^{}(?P<path>.+)$".format(settings.MEDIA_URL.lstrip("/")), media),
    *site_urlpatterns,
]
