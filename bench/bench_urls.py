"""The project's URLs plus `/bench/bare/`: a view that does no work and returns a fixed page of
about the size of an article page, through the same middleware stack. What it costs is the
floor under every page (gunicorn, the WSGI handler, the middleware, Redis's page-cache lookup),
so the benchmark reports each page as a fraction of it. For `bench/bench_settings.py` only."""

from django.http import HttpResponse
from django.urls import path

from newsroom.urls import handler500  # noqa: F401  (Django reads it from the root URLconf)
from newsroom.urls import urlpatterns as project_urlpatterns

BARE_BYTES = 40_000
_LINE = "<p>The bare view: no database, no template, no cache entry of its own.</p>\n"
BARE_PAGE = (
    '<!doctype html>\n<html lang="en-GB"><head><meta charset="utf-8"><title>bare</title></head>'
    "<body>\n" + _LINE * (BARE_BYTES // len(_LINE)) + "</body></html>\n"
)


def bare(request):
    return HttpResponse(BARE_PAGE)


# First: the project's `<section>/<slug>/` pattern would otherwise take /bench/bare/.
urlpatterns = [path("bench/bare/", bare, name="bench-bare"), *project_urlpatterns]
