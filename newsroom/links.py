"""Addresses of the site's pages, reversed once and remembered.

A front page links to a hundred pages (stories, sections, bylines), mostly the same ones from
one request to the next, and each `reverse()` costs Django some 25 µs of matching patterns.
An address depends only on the URLconf, the script prefix and the arguments, so it is
remembered under those (a test's other URLconf or prefix gets addresses of its own).
"""

from functools import lru_cache

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

REMEMBERED = 20_000  # addresses per process: a few MB at most


def address(name: str, *args) -> str:
    """`reverse(name, args=args)`, remembered."""
    return _address(get_urlconf() or settings.ROOT_URLCONF, get_script_prefix(), name, args)


@lru_cache(maxsize=REMEMBERED)
def _address(urlconf, prefix: str, name: str, args: tuple) -> str:
    return reverse(name, args=args, urlconf=urlconf)
