"""Reading article files for the importer: which files the paths given name, and each file's
bytes parsed (`articles.parsing`) and rendered into the stored body (`articles.body`). No
database here, so big imports can run it in worker processes."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..body import blocks_to_html, plain_text, sanitize
from ..parsing import ParsedArticle, ParseError, parse_bytes

DIRECTORY_SUFFIXES = {".txt", ".text"}


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


def expand_paths(arguments: Iterable[str]) -> Iterator[Path]:
    """Files named by command-line arguments: files as given, directories searched (recursively,
    in name order) for `.txt` files, and glob patterns expanded. A path that matches nothing is
    still yielded, so that it is reported as missing rather than silently skipped."""
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    if Path(name).suffix.lower() in DIRECTORY_SUFFIXES and not name.startswith("."):
                        yield Path(root) / name
        elif not path.exists() and glob.has_magic(argument):
            matches = sorted(glob.iglob(argument, recursive=True))
            if not matches:
                yield path
            for match in matches:
                if Path(match).is_file():
                    yield Path(match)
        else:
            yield path
