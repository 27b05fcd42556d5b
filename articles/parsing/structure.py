"""The outlet's article format: text in, a `ParsedArticle` out (see the package docstring)."""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass, field

from .errors import ParseError
from .markup import strip_markup

MAX_HEADLINE_LENGTH = 255

BULLETS = "•●▪◦‣∙·"
OPENING_QUOTES = '“"‘«„‹'
INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
NOT_WORD = re.compile(r"[\W_]+")  # punctuation, symbols and spaces of any script
SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
# What `INVISIBLE` and `SPACES` would change besides runs of plain spaces: one scan, where the
# two substitutions take several (SPACES matches every single space). Without any, runs of plain
# spaces are all there is to clean, which a pattern opening with two spaces finds quickly.
UNCLEAN = re.compile(
    "[\u200b\u200c\u200d\u2060\ufeff\u00ad\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
    "\t\u00a0\u2000-\u200a\u202f\u205f\u3000]"
)
PLAIN_SPACES = re.compile("  +")
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
    key: str = field(default="", compare=False)  # the headline's identity (`headline_key`)

    def count(self, kind: Kind) -> int:
        return sum(1 for block in self.blocks if block.kind == kind)

    @property
    def teasers(self) -> tuple[str, ...]:
        return tuple(block.text for block in self.blocks if block.kind == Kind.TEASER)


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
    text = strip_markup(text)
    if UNCLEAN.search(text):
        text = SPACES.sub(" ", INVISIBLE.sub("", text))
    elif "  " in text:
        text = PLAIN_SPACES.sub(" ", text)
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
    if not headline_key(headline):
        # A story's identity is its headline's words: with none, every such file would be
        # taken for one story.
        raise ParseError(
            f"the first line (“{headline[:40]}”) has no letters or digits; is the headline missing?"
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
    # The word first: a quick test that most paragraphs fail (each letter the pattern matches,
    # whatever its case, casefolds to that letter).
    short = len(text) <= CTA_MAX_LENGTH
    if short and "newsletter" in text.casefold() and CALL_TO_ACTION.search(text):
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
        key=headline_key(headline),
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
