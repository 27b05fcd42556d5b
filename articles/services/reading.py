"""Reading article files for the importer: which files the paths given name, and each file's
bytes parsed (`articles.parsing`) and rendered into the stored body (`articles.body`). No
database here, so big imports can run it in worker processes.

What is read, and what is refused by name while the other files import:

- The paths given on the command line are the operator's: a directory or file named there is
  used even when it is a symbolic link (a deployment's `current` folder often is).
- Inside them, and in what a glob pattern finds, symbolic links are refused: a folder holding a
  link to a server's `.env` or `/etc/passwd` must not publish them, and a link to a directory
  is never walked (no tour of `/etc`, no endless loop). With `follow_links`, a link to a file
  inside the folders given is read; links to directories are still not walked.
- Only regular files are read: a FIFO, a device or a socket is refused without being opened
  for reading, and every read stops one byte past the size limit, whatever `stat` says.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from ..body import blocks_to_html, plain_text
from ..parsing import Decoded, ParsedArticle, ParseError, decode_file, parse

DIRECTORY_SUFFIXES = {".txt", ".text"}
LINK_REFUSED = (
    "is a symbolic link, which the importer does not follow "
    "(--follow-links reads links to files inside the folders given)"
)


@dataclass(frozen=True)
class PreparedStory:
    """A parsed file with what is stored of it (the body, its word count and the
    length of its text, which the body's limit is checked against) and what the importer
    reports of the file: its encoding, its line endings and when it was last modified (a POSIX
    timestamp; `--published-at file` dates the story by it)."""

    parsed: ParsedArticle
    body_html: str
    word_count: int
    text_length: int
    encoding: str = ""
    line_endings: str = ""
    modified: float | None = None

    @property
    def key(self) -> str:
        return self.parsed.key


@dataclass(frozen=True)
class ReadPolicy:
    """How files are read: the size limit, the folders links may point into (none: links are
    refused), and whether each story keeps its parsed parts (for a detailed report; without
    them, a story read in a worker process sends back only what is stored and said of it)."""

    max_bytes: int
    link_roots: tuple[str, ...] = ()
    keep_parts: bool = True


def prepare(
    parsed: ParsedArticle, decoded: Decoded | None = None, modified: float | None = None
) -> PreparedStory:
    # Already what the sanitiser keeps (every text escaped, only the vocabulary's tags; a
    # property test holds it to that), so it is not sanitised again: a tenth of a file's reading.
    body = blocks_to_html(parsed.blocks)
    found = {"encoding": decoded.encoding, "line_endings": decoded.line_endings} if decoded else {}
    text = plain_text(body)  # as `Article` counts words, and checks the length
    return PreparedStory(parsed, body, len(text.split()), len(text), modified=modified, **found)


def read_story(path: str | os.PathLike, *, policy: ReadPolicy) -> PreparedStory:
    """The story in the file at `path`; `ParseError` with a reason otherwise."""
    raw, modified = read_file(path, policy=policy)
    decoded = decode_file(raw)
    story = prepare(parse(decoded.text), decoded, modified)
    if not policy.keep_parts:
        return replace(story, parsed=replace(story.parsed, blocks=(), parts=()))
    return story


def read_file(path: str | os.PathLike, *, policy: ReadPolicy) -> tuple[bytes, float]:
    """The bytes of the regular file at `path` (at most `policy.max_bytes` of them) and the
    time it was last modified."""
    path = os.fspath(path)
    try:
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            path = _allowed_link_target(path, policy)
            info = os.stat(path)
        _check_regular(info)
        # O_NONBLOCK: had the file been swapped for a FIFO since, opening it must not hang.
        fd = os.open(
            path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        )
        with os.fdopen(fd, "rb") as file:
            info = os.fstat(file.fileno())
            _check_regular(info)
            raw = file.read(policy.max_bytes + 1)
    except FileNotFoundError:
        raise ParseError("no such file") from None
    except OSError as exc:
        raise ParseError(f"cannot be read ({exc.strerror or exc})") from None
    if len(raw) > policy.max_bytes:
        raise ParseError(
            f"file is too large (over the limit of {policy.max_bytes:,} bytes): "
            "it is not a single story"
        )
    return raw, info.st_mtime


def _allowed_link_target(path: str, policy: ReadPolicy) -> str:
    if not policy.link_roots:
        raise ParseError(LINK_REFUSED)
    target = os.path.realpath(path)
    if os.path.isdir(target):
        raise ParseError("is a symbolic link to a directory, which the importer does not walk")
    if not any(os.path.commonpath([target, root]) == root for root in policy.link_roots):
        raise ParseError("is a symbolic link to a file outside the folders given; not read")
    return target


def _check_regular(info: os.stat_result) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise ParseError("is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise ParseError("is not a regular file (a pipe, device or socket); not read")


def read_stories(
    paths: list[str | os.PathLike], *, policy: ReadPolicy
) -> list[tuple[str, PreparedStory | ParseError]]:
    """Each file's name with its story or the reason it could not be read."""
    out: list[tuple[str, PreparedStory | ParseError]] = []
    for path in paths:
        try:
            out.append((str(path), read_story(path, policy=policy)))
        except ParseError as exc:
            out.append((str(path), exc))
    return out


# --- which files ------------------------------------------------------------------------------


def link_roots(arguments: Iterable[str]) -> tuple[str, ...]:
    """The folders the arguments name (a glob's folder before its first wildcard), resolved:
    where `follow_links` lets links point."""
    roots = []
    for argument in arguments:
        root, _ = _split_pattern(argument) if glob.has_magic(argument) else (Path(argument), ())
        if root.is_dir():
            roots.append(os.path.realpath(root))
    return tuple(roots)


def expand_paths(arguments: Iterable[str]) -> Iterator[Path]:
    """Files named by command-line arguments: files as given, directories searched (recursively,
    in name order, not through links) for `.txt` files, and glob patterns expanded (`**` for
    any depth, again not through links). Links met on the way are yielded, for the reader to
    refuse by name; a path that matches nothing is yielded too, to be reported as missing."""
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            yield from _walk(path)
        elif not os.path.lexists(path) and glob.has_magic(argument):
            root, parts = _split_pattern(argument)
            matches = sorted(set(_match(root, parts)))
            yield from matches if matches else [path]
        elif path.is_symlink() and path.is_file():
            yield Path(os.path.realpath(path))  # named by the operator: theirs to follow
        else:
            yield path


def _walk(top: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(top):  # os.walk never descends into a linked directory
        dirs.sort()
        here = Path(root)
        for name in sorted(files):
            if Path(name).suffix.lower() in DIRECTORY_SUFFIXES and not name.startswith("."):
                yield here / name
        for name in dirs:
            if (here / name).is_symlink():
                yield here / name  # reported, not walked


def _split_pattern(pattern: str) -> tuple[Path, tuple[str, ...]]:
    parts = Path(pattern).parts
    literal = 0
    while literal < len(parts) and not glob.has_magic(parts[literal]):
        literal += 1
    return Path(*parts[:literal]) if literal else Path("."), parts[literal:]


def _match(base: Path, parts: tuple[str, ...]) -> Iterator[Path]:
    """What `parts` (glob segments, `**` for any depth) match under `base`, not through links."""
    if not parts:
        if base.is_symlink() or base.is_file():
            yield base
        return
    head, rest = parts[0], parts[1:]
    if head == "**":
        yield from _match(base, rest)
    try:
        entries = sorted(os.scandir(base), key=lambda entry: entry.name)
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith(".") and not head.startswith("."):
            continue
        inside = entry.is_dir(follow_symlinks=False)
        if head == "**":
            if inside:
                yield from _match(base / entry.name, parts)
            elif entry.is_symlink() and entry.is_dir():
                yield base / entry.name  # a linked folder: reported, not walked
        elif fnmatch.fnmatchcase(entry.name, head):
            if not rest or inside:
                yield from _match(base / entry.name, rest)
            elif entry.is_symlink():
                yield base / entry.name  # a link where a folder would be: reported, not walked
