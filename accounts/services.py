"""People services: finding or creating the bylines an import or a script names."""

from __future__ import annotations

from collections.abc import Iterable

from .models import Author


def resolve_authors(names: Iterable[str]) -> tuple[Author, ...]:
    """The bylines named, in order, matched case-insensitively and created when new
    ("Newsroom Reporter" needs no login)."""
    authors = []
    for name in names:
        name = " ".join(name.split())
        author = Author.objects.filter(name__iexact=name).first()
        if author is None:
            author = Author(name=name)
            author.save()
        authors.append(author)
    return tuple(authors)
