"""The outlet's plain-text article format: bytes in, a `ParsedArticle` out. No database here.

A seed file looks like this (see `fixtures/seeds/`):

    Headline on the first line

    Paragraphs separated by blank lines.

    Another official said: “Quoted speech that runs on…

      • Headline of a related story (a teaser, shown as a link where it stood)

    “…into the next paragraph, closing here.”

    For more stories, make sure you sign up to one of our newsletters here

    Source: Read Full Article

    Previous post Headline of the story before
    Next post Headline of the story after

Real files are messier, so `decode` accepts byte order marks, UTF-16, the legacy encodings
newsrooms still produce (Windows-1252, Mac Roman, Windows-1250/1251), any platform's line endings
and mojibake; `parse` strips stray HTML, control characters and zero-width junk before it reads
the structure. Everything that cannot be read is a `ParseError` whose message an editor can act on.
"""

from .decoding import Decoded, decode, decode_file
from .errors import ParseError
from .markup import strip_markup
from .structure import (
    BODY_KINDS,
    MAX_HEADLINE_LENGTH,
    Kind,
    ParsedArticle,
    Part,
    Source,
    headline_key,
    parse,
)


def parse_bytes(raw: bytes, *, max_bytes: int | None = None) -> ParsedArticle:
    """`parse(decode(raw))`: the whole way from a file's bytes."""
    return parse(decode(raw, max_bytes=max_bytes))


__all__ = [
    "BODY_KINDS",
    "Decoded",
    "MAX_HEADLINE_LENGTH",
    "Kind",
    "ParseError",
    "ParsedArticle",
    "Part",
    "Source",
    "decode",
    "decode_file",
    "headline_key",
    "parse",
    "parse_bytes",
    "strip_markup",
]
