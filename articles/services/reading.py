"""Reading article files for the importer: the bytes of one file, parsed (`articles.parsing`)
and rendered into the stored body (`articles.body`). No database here, so big imports can run
it in worker processes."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..body import blocks_to_html, plain_text, sanitize
from ..parsing import ParsedArticle, ParseError, parse_bytes


@dataclass(frozen=True)
class PreparedStory:
    """A parsed file with what is stored of it: the sanitised body and its word count."""

    parsed: ParsedArticle
    body_html: str
    word_count: int

    @property
    def key(self) -> str:
        return self.parsed.key


def prepare(parsed: ParsedArticle) -> PreparedStory:
    body = sanitize(blocks_to_html(parsed.blocks))
    return PreparedStory(parsed, body, len(plain_text(body).split()))


def read_story(path: str | os.PathLike, *, max_bytes: int) -> PreparedStory:
    """The story in the file at `path`; `ParseError` with a reason otherwise. At most
    `max_bytes + 1` bytes are read, whatever the file claims to be, so a huge file costs
    nothing."""
    try:
        with open(path, "rb") as file:
            raw = file.read(max_bytes + 1)
    except FileNotFoundError:
        raise ParseError("no such file") from None
    except IsADirectoryError:
        raise ParseError("is a directory, not a file") from None
    except OSError as exc:
        raise ParseError(f"cannot be read ({exc.strerror or exc})") from None
    if len(raw) > max_bytes:
        raise ParseError(
            f"file is too large (over the limit of {max_bytes:,} bytes): it is not a single story"
        )
    return prepare(parse_bytes(raw))


def read_stories(
    paths: list[str | os.PathLike], *, max_bytes: int
) -> list[tuple[str, PreparedStory | ParseError]]:
    """Each file's name with its story or the reason it could not be read."""
    out: list[tuple[str, PreparedStory | ParseError]] = []
    for path in paths:
        try:
            out.append((str(path), read_story(path, max_bytes=max_bytes)))
        except ParseError as exc:
            out.append((str(path), exc))
    return out
