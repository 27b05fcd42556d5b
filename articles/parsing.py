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

from __future__ import annotations

import codecs
import enum
import html
import os
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property
from html.parser import HTMLParser

import ftfy
from charset_normalizer.md import mess_ratio

MAX_BYTES = 1_000_000
MAX_HEADLINE_LENGTH = 255

# Single-byte encodings tried, in order of preference, when a file is not UTF-8. The one whose
# text looks least garbled wins; ties go to the earlier (Windows-1252 is by far the most common).
LEGACY_ENCODINGS = ("cp1252", "mac_roman", "cp1250", "cp1251", "latin-1")
# A best guess messier than this means the bytes are not text in any encoding we know.
MAX_MESS = 0.5

BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# ftfy repairs mojibake (UTF-8 read as Windows-1252 and saved again: "Putinâ€™s") but must
# leave the outlet's typography alone: curly quotes, ligatures and full-width characters stay.
FTFY_CONFIG = ftfy.TextFixerConfig(
    unescape_html=False,
    uncurl_quotes=False,
    fix_latin_ligatures=False,
    fix_character_width=False,
    fix_line_breaks=True,
    explain=False,
)
# The same, keeping control characters: `decode` counts those left once mojibake is repaired.
FTFY_KEEP_CONTROLS = FTFY_CONFIG._replace(remove_control_chars=False)

BULLETS = "•●▪◦‣∙·"
OPENING_QUOTES = '“"‘«„‹'
INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# UTF-8 read as Windows-1252 or Latin-1 leaves a lead-byte letter (Â … ô) before a character
# that stands for a continuation byte, or bare C1 controls. Only then is ftfy worth running.
MOJIBAKE_HINT = re.compile(
    "[\x80-\x9f]|[\u00c2-\u00f4][\u00a0-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d"
    "\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030"
    "\u2039\u203a\u20ac\u2122]"
)
NOT_WORD = re.compile(r"[\W_]+")  # punctuation, symbols and spaces of any script
LINE_BREAKS = re.compile(r"\r\n|[\r\u2028\u2029]")
SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
TEASER = re.compile(rf"^[{BULLETS}]\s*(?P<text>\S.*)$")
SOURCE = re.compile(r"^source\s*[:\-–—]\s*(?P<text>.*)$", re.IGNORECASE)
# "Next post:" with no title after it is navigation to no story, not a story titled ":".
NAVIGATION = re.compile(
    r"^(?P<which>previous|prev|next)\s+(?:post|article|story)\b[\s:\-–—»«]*"
    r"(?P<text>(?:[^\s:\-–—»«].*)?)$",
    re.IGNORECASE,
)
CALL_TO_ACTION = re.compile(r"\bsign(?:ing)?[\s-]*up\b.{0,40}\bnewsletters?\b", re.IGNORECASE)
CTA_MAX_LENGTH = 300  # a longer paragraph that mentions newsletters is reporting, not the CTA
CTA_PUBLICATION = re.compile(r"\bstories from (?:the )?(?P<name>[A-Z][\w’'&.\- ]{1,60}?)\s*,")
URL = re.compile(r"https?://\S+", re.IGNORECASE)
# Link labels that scrapers leave where the source's name should be.
GENERIC_SOURCE_LABELS = {
    "read full article",
    "read the full article",
    "full article",
    "read more",
    "original article",
    "click here",
    "here",
    "link",
    "source",
}
HTML_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>")
HTML_ENTITY = re.compile(r"&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});")


class ParseError(ValueError):
    """Bad input, with a reason fit to show an editor: "file is empty", "headline only"."""


class Kind(enum.StrEnum):
    """What a part of the file became."""

    HEADLINE = "headline"
    PARAGRAPH = "paragraph"
    QUOTE = "quote"
    TEASER = "teaser"
    SIGNUP = "call-to-action"
    SOURCE = "source"
    PREVIOUS = "previous"
    NEXT = "next"


BODY_KINDS = frozenset({Kind.PARAGRAPH, Kind.QUOTE, Kind.TEASER, Kind.SIGNUP})


@dataclass(frozen=True)
class Part:
    """One piece of the file, with the lines it came from (1-based, inclusive)."""

    kind: Kind
    text: str
    first_line: int
    last_line: int

    @property
    def lines(self) -> str:
        if self.first_line == self.last_line:
            return f"line {self.first_line}"
        return f"lines {self.first_line}-{self.last_line}"


@dataclass(frozen=True)
class Source:
    """Where a syndicated story first appeared. `label` is the text after "Source:" as given;
    `name` is the publication, when the file names it (or its call-to-action does)."""

    label: str
    name: str = ""
    url: str = ""


@dataclass(frozen=True)
class ParsedArticle:
    headline: str
    blocks: tuple[Part, ...]  # paragraphs, quotes, teasers and the sign-up slot, in order
    source: Source | None = None
    previous_title: str = ""
    next_title: str = ""
    parts: tuple[Part, ...] = field(default=(), compare=False)  # everything, in file order

    @cached_property
    def key(self) -> str:
        """The headline's identity (see `headline_key`)."""
        return headline_key(self.headline)

    @cached_property
    def body_html(self) -> str:
        """The sanitised body (see `articles.body`), made where the file is parsed: in a
        worker process during big imports."""
        from .body import blocks_to_html, sanitize  # body builds on this module

        return sanitize(blocks_to_html(self.blocks))

    @cached_property
    def word_count(self) -> int:
        from .body import plain_text

        return len(plain_text(self.body_html).split())

    def count(self, kind: Kind) -> int:
        return sum(1 for block in self.blocks if block.kind == kind)

    @property
    def teasers(self) -> tuple[str, ...]:
        return tuple(block.text for block in self.blocks if block.kind == Kind.TEASER)


def decode(raw: bytes, *, max_bytes: int = MAX_BYTES) -> str:
    """Text from a file's bytes: honours a byte order mark, recognises UTF-16 without one,
    prefers strict UTF-8, then the least garbled legacy encoding; repairs mojibake.
    Raises `ParseError` for empty, oversized, binary or undecodable input."""
    if len(raw) > max_bytes:
        raise ParseError(
            f"file is too large ({len(raw):,} bytes; the limit is {max_bytes:,}): "
            "it is not a single story"
        )
    if not raw:
        raise ParseError("file is empty")

    # Mojibake is repaired before control characters are counted: its C1 characters ("â€\x9d"
    # for a closing quote) are clues for ftfy, not junk. ftfy is thorough but slow (several
    # regex passes per line), so it runs only on text its own quick test finds suspicious.
    text = _decode_bytes(raw)
    if MOJIBAKE_HINT.search(text):
        text = ftfy.fix_text(text, config=FTFY_KEEP_CONTROLS)
    else:
        text = LINE_BREAKS.sub("\n", unicodedata.normalize("NFC", text))
    # A stray control character is junk that `parse` drops; many of them mean this is not text.
    if len(CONTROL.findall(text)) > max(2, len(text) // 100):
        raise ParseError("file is binary, not text (it is full of control characters)")
    return CONTROL.sub("", text)


def _decode_bytes(raw: bytes) -> str:
    for bom, encoding in BOMS:
        if raw.startswith(bom):
            try:
                return raw[len(bom) :].decode(encoding)
            except UnicodeDecodeError as exc:
                raise ParseError(
                    f"file starts with a {encoding.upper()} byte order mark but is not "
                    f"valid {encoding.upper()} (byte {exc.start + len(bom)})"
                ) from None

    utf16 = _utf16_without_bom(raw)
    if utf16 is not None:
        return utf16
    if b"\x00" in raw:
        raise ParseError("file is binary, not text (it contains NUL bytes)")

    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass

    best: tuple[float, str] | None = None
    for encoding in LEGACY_ENCODINGS:
        try:
            candidate = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        mess = mess_ratio(candidate, 1.0)
        if best is None or mess < best[0]:
            best = (mess, candidate)
    if best is None or best[0] > MAX_MESS:
        raise ParseError("file is not readable text in any encoding we know")
    return best[1]


def _utf16_without_bom(raw: bytes) -> str | None:
    """UTF-16 text without a byte order mark: Latin text has a NUL in every other byte; other
    scripts (Cyrillic, Greek) have none, so any even-length file with NULs is tried both ways
    and kept when it reads as text."""
    if len(raw) < 4 or len(raw) % 2 or b"\x00" not in raw:
        return None
    candidates = []
    for encoding in ("utf-16-le", "utf-16-be"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if len(CONTROL.findall(text)) <= len(text) // 100:
            candidates.append((mess_ratio(text, 1.0), text))
    candidates = [candidate for candidate in candidates if candidate[0] <= MAX_MESS]
    return min(candidates, key=lambda candidate: candidate[0])[1] if candidates else None


class _TextExtractor(HTMLParser):
    """Turns stray HTML into the plain-text format: block elements become paragraph breaks,
    `<li>` items become bullets, script and style contents vanish."""

    BLOCK = {
        "p",
        "div",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "section",
        "article",
        "ul",
        "ol",
        "table",
        "tr",
        "header",
        "footer",
        "figure",
        "figcaption",
        "aside",
    }
    SKIP = {"script", "style", "head", "title", "noscript", "template"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        elif tag == "br":
            self.out.append("\n")
        elif tag == "li":
            self.out.append("\n\n• ")
        elif tag in self.BLOCK:
            self.out.append("\n\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCK or tag == "li":
            self.out.append("\n\n")

    def handle_data(self, data):
        if not self.skipping:
            self.out.append(data)


def _extract_text(text: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(text)
    extractor.close()
    return "".join(extractor.out)


def strip_markup(text: str) -> str:
    """Plain text from text that may carry stray HTML tags or entities."""
    if HTML_TAG.search(text):
        try:
            text = _extract_text(text)
        except AssertionError:
            # html.parser gives up on a malformed marked section ("<![oops"): read it as text.
            text = _extract_text(text.replace("<![", "&lt;!["))
    elif HTML_ENTITY.search(text):
        text = html.unescape(text)
    return text


def clean_line(line: str) -> str:
    """One line without junk: zero-width characters, control characters, odd spaces and tabs
    become nothing or a single space. Leading spaces are dropped too (teasers are indented)."""
    return SPACES.sub(" ", INVISIBLE.sub("", line)).strip()


def headline_key(headline: str) -> str:
    """The form in which two spellings of one headline are equal: case, quote style, dashes,
    punctuation and spacing do not count. Teasers and navigation lines link by this key."""
    text = unicodedata.normalize("NFKC", headline).casefold()
    text = text.replace("’", "").replace("'", "")  # "Putin’s" and "Putins" are one word
    return " ".join(NOT_WORD.sub(" ", text).split())[:MAX_HEADLINE_LENGTH]


def parse(text: str) -> ParsedArticle:
    """The structure of one article: the first line is the headline; the rest is paragraphs,
    quoted speech, teasers (`•` lines), the newsletter call-to-action, the `Source:` line and
    the `Previous post` / `Next post` lines. Raises `ParseError` when there is no story."""
    if not text.strip():
        raise ParseError("file is empty" if not text else "file contains only whitespace")
    # Cleaning the whole text at once is several times faster than line by line.
    text = SPACES.sub(" ", INVISIBLE.sub("", strip_markup(text)))
    lines = [line.strip() for line in text.splitlines()]
    if not any(lines):
        raise ParseError("file contains only whitespace and invisible characters")

    numbered = [(number, line) for number, line in enumerate(lines, start=1)]
    start = next(i for i, (_, line) in enumerate(numbered) if line)
    headline_number, headline = numbered[start]
    if len(headline) > MAX_HEADLINE_LENGTH:
        raise ParseError(
            f"the first line is {len(headline)} characters long, too long for a headline "
            f"(at most {MAX_HEADLINE_LENGTH}); is the headline missing?"
        )
    rest = numbered[start + 1 :]
    # Files with no blank lines at all put one paragraph on each line; otherwise consecutive
    # lines are one hard-wrapped paragraph.
    one_per_line = bool(rest) and all(line for _, line in rest)

    parts: list[Part] = [Part(Kind.HEADLINE, headline, headline_number, headline_number)]
    paragraph: list[tuple[int, str]] = []

    def flush():
        if paragraph:
            text = " ".join(line for _, line in paragraph)
            parts.append(_classify(text, paragraph[0][0], paragraph[-1][0]))
            paragraph.clear()

    for number, line in rest:
        if not line:
            flush()
            continue
        structural = _structural(line, number)
        if structural is not None:
            flush()
            parts.append(structural)
        else:
            paragraph.append((number, line))
            if one_per_line:
                flush()
    flush()
    return _assemble(parts)


def _structural(line: str, number: int) -> Part | None:
    """A line that stands alone whatever surrounds it: teaser, source or navigation."""
    if match := TEASER.match(line):
        return Part(Kind.TEASER, match["text"].strip(), number, number)
    if len(line) <= 300:
        if match := SOURCE.match(line):
            return Part(Kind.SOURCE, match["text"].strip(), number, number)
        # A headline starts with a capital, digit or quote; "Next story time is at 3pm" is prose.
        if (match := NAVIGATION.match(line)) and not match["text"][:1].islower():
            kind = Kind.NEXT if match["which"].lower() == "next" else Kind.PREVIOUS
            return Part(kind, match["text"].strip(), number, number)
    return None


def _classify(text: str, first: int, last: int) -> Part:
    if len(text) <= CTA_MAX_LENGTH and CALL_TO_ACTION.search(text):
        return Part(Kind.SIGNUP, text, first, last)
    if text[0] in OPENING_QUOTES:
        return Part(Kind.QUOTE, text, first, last)
    return Part(Kind.PARAGRAPH, text, first, last)


def _assemble(parts: list[Part]) -> ParsedArticle:
    headline = parts[0].text
    blocks: list[Part] = []
    source_text = previous_title = next_title = ""
    publication = ""
    has_signup = False
    for part in parts[1:]:
        if part.kind == Kind.SIGNUP:
            if match := CTA_PUBLICATION.search(part.text):
                publication = publication or match["name"].strip()
            # One sign-up box per story: a repeated call-to-action is dropped, not body text.
            if not has_signup:
                blocks.append(part)
                has_signup = True
        elif part.kind in BODY_KINDS:
            blocks.append(part)
        elif part.kind == Kind.SOURCE:
            source_text = source_text or part.text
        elif part.kind == Kind.PREVIOUS:
            previous_title = previous_title or part.text
        elif part.kind == Kind.NEXT:
            next_title = next_title or part.text

    if not any(block.kind in (Kind.PARAGRAPH, Kind.QUOTE) for block in blocks):
        raise ParseError("headline only: there are no paragraphs after the headline")
    return ParsedArticle(
        headline=headline,
        blocks=tuple(blocks),
        source=_source(source_text, publication) if source_text else None,
        previous_title=previous_title[:MAX_HEADLINE_LENGTH],
        next_title=next_title[:MAX_HEADLINE_LENGTH],
        parts=tuple(parts),
    )


def _source(text: str, publication: str) -> Source:
    url_match = URL.search(text)
    url = url_match.group(0).rstrip(").,;]>") if url_match else ""
    name = URL.sub("", text).strip(" ()[]<>-–—:|")
    if name.casefold() in GENERIC_SOURCE_LABELS:
        name = ""
    # "For more shocking stories from the Daily Star, …" names the publication when the
    # Source line only carries a link label.
    return Source(label=text, name=(name or publication)[:150], url=url[:500])


def parse_bytes(raw: bytes, *, max_bytes: int = MAX_BYTES) -> ParsedArticle:
    """`parse(decode(raw))`: the whole way from a file's bytes."""
    return parse(decode(raw, max_bytes=max_bytes))


def read_file(path: str | os.PathLike, *, max_bytes: int = MAX_BYTES) -> ParsedArticle:
    """The parsed article in the file at `path`; `ParseError` with a reason otherwise. The size
    is checked before anything is read, so a huge file costs nothing."""
    try:
        size = os.stat(path).st_size
        if size > max_bytes:
            raise ParseError(
                f"file is too large ({size:,} bytes; the limit is {max_bytes:,}): "
                "it is not a single story"
            )
        with open(path, "rb") as file:
            raw = file.read()
    except FileNotFoundError:
        raise ParseError("no such file") from None
    except IsADirectoryError:
        raise ParseError("is a directory, not a file") from None
    except OSError as exc:
        raise ParseError(f"cannot be read ({exc.strerror or exc})") from None
    return parse_bytes(raw, max_bytes=max_bytes)


def read_files(
    paths: list[str | os.PathLike], *, max_bytes: int = MAX_BYTES
) -> list[tuple[str, ParsedArticle | ParseError]]:
    """Each file's name with its parsed article or the reason it could not be read. Runs in
    a worker process during imports, so it must not need Django."""
    out: list[tuple[str, ParsedArticle | ParseError]] = []
    for path in paths:
        try:
            parsed = read_file(path, max_bytes=max_bytes)
            # Computed here, so that in a worker process the work is done there.
            parsed.key, parsed.body_html, parsed.word_count  # noqa: B018
            out.append((str(path), parsed))
        except ParseError as exc:
            out.append((str(path), exc))
    return out
