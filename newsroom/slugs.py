"""Slugs for addresses readers see: Unicode letters kept (a Greek or Cyrillic headline keeps its
words), cut at a word boundary, made unique with a "-2", "-3", … suffix."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.text import slugify

SUFFIX_ROOM = 8  # "-" and up to seven digits


def base_slug(text: str, *, max_length: int, fallback: str) -> str:
    """The slug `text` would get, at most `max_length - SUFFIX_ROOM` characters so a suffix
    fits, or `fallback` when `text` has no letters or digits."""
    limit = max_length - SUFFIX_ROOM
    slug = slugify(text, allow_unicode=True)
    if len(slug) > limit:
        slug = slug[:limit]
        if "-" in slug[limit // 2 :]:
            slug = slug.rsplit("-", 1)[0]
        slug = slug.strip("-")
    return slug or fallback


def next_free_slug(base: str, taken: set[str]) -> str:
    """`base`, or `base-2`, `base-3`, … : the first not in `taken`."""
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def unique_slug(rows: QuerySet, base: str, *, field: str = "slug", exclude_pk=None) -> str:
    """A slug for `base` that no row of `rows` has in `field`: one query."""
    taken = set(
        rows.filter(Q(**{field: base}) | Q(**{f"{field}__startswith": f"{base}-"}))
        .exclude(pk=exclude_pk)
        .values_list(field, flat=True)
    )
    return next_free_slug(base, taken)
