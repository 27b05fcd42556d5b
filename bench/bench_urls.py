"""The project's URLs plus `/bench/bare/`, a view that does no work and returns a fixed page of
about an article page's size through the same middleware: the floor under every page (gunicorn,
the WSGI handler, the middleware, the page-cache lookup). For `bench/bench_settings.py` only."""

from django.http import HttpResponse
from django.urls import path

from newsroom.urls import handler500  # noqa: F401  (Django reads it from the root URLconf)
from newsroom.urls import urlpatterns as project_urlpatterns

_LINE = "<p>The bare view: no database, no template, no cache entry of its own.</p>\n"
BARE_PAGE = (
    '<!doctype html>\n<html lang="en-GB"><head><meta charset="utf-8"><title>bare</title></head>'
    "<body>\n" + _LINE * (40_000 // len(_LINE)) + "</body></html>\n"
)

# First: the project's `<section>/<slug>/` pattern would otherwise take /bench/bare/.
urlpatterns = [path("bench/bare/", lambda request: HttpResponse(BARE_PAGE)), *project_urlpatterns]
