"""Bytes to text: byte order marks, UTF-16 without one, strict UTF-8, the least garbled of the
legacy encodings newsrooms still produce, any platform's line endings, and mojibake repaired."""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass

import ftfy
from charset_normalizer.md import mess_ratio

from .errors import ParseError

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

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
SOFT_BREAKS = re.compile(r"[\x0b\x0c]")
# UTF-8 read as Windows-1252 or Latin-1 leaves a lead-byte letter (Â … ô) before a character
# that stands for a continuation byte, or bare C1 controls. Only then is ftfy worth running.
MOJIBAKE_HINT = re.compile(
    "[\x80-\x9f]|[\u00c2-\u00f4][\u00a0-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d"
    "\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030"
    "\u2039\u203a\u20ac\u2122]"
)
LINE_BREAKS = re.compile(r"\r\n|[\r\u2028\u2029]")
# The characters that begin a `MOJIBAKE_HINT`: a text without any has no hint (one quick scan,
# where the hint's alternation is several times slower).
MOJIBAKE_LEAD = re.compile("[\x80-\x9f\u00c2-\u00f4]")
# Either a `MOJIBAKE_LEAD` or a `CONTROL` character: a text without any (most) is made ready in
# one quick scan.
SUSPECT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00c2-\u00f4]")
# How the importer names what it found, for the person importing.
ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "utf-16-le": "UTF-16 LE",
    "utf-16-be": "UTF-16 BE",
    "utf-32-le": "UTF-32 LE",
    "utf-32-be": "UTF-32 BE",
    "cp1252": "Windows-1252",
    "mac_roman": "Mac Roman",
    "cp1250": "Windows-1250",
    "cp1251": "Windows-1251",
    "latin-1": "Latin-1",
}


@dataclass(frozen=True)
class Decoded:
    """A file's text and what was found on the way: its encoding ("UTF-8 with a byte order
    mark", "Windows-1252, mojibake repaired") and its line endings ("CRLF (Windows)")."""

    text: str
    encoding: str
    line_endings: str


def decode(raw: bytes, *, max_bytes: int | None = None) -> str:
    """Text from a file's bytes (`decode_file`, the text alone)."""
    return decode_file(raw, max_bytes=max_bytes).text


def decode_file(raw: bytes, *, max_bytes: int | None = None) -> Decoded:
    """Text from a file's bytes: honours a byte order mark, recognises UTF-16 without one,
    prefers strict UTF-8, then the least garbled legacy encoding; repairs mojibake.
    Raises `ParseError` for empty, binary or undecodable input, and for more than `max_bytes`
    when a limit is given (the importer's is `NEWSROOM_IMPORT_MAX_BYTES`)."""
    if max_bytes is not None and len(raw) > max_bytes:
        raise ParseError(
            f"file is too large ({len(raw):,} bytes; the limit is {max_bytes:,}): "
            "it is not a single story"
        )
    if not raw:
        raise ParseError("file is empty")

    # Mojibake is repaired before control characters are counted: its C1 characters ("â€\x9d"
    # for a closing quote) are clues for ftfy, not junk. ftfy is thorough but slow (several
    # regex passes per line), so it runs only on text its own quick test finds suspicious.
    text, encoding = _decode_bytes(raw)
    endings = line_endings(text)
    if SUSPECT.search(text) is None:  # no mojibake, no control character
        return Decoded(_normalized(text), encoding, endings)
    if MOJIBAKE_LEAD.search(text) and MOJIBAKE_HINT.search(text):
        fixed = ftfy.fix_text(text, config=FTFY_KEEP_CONTROLS)
        if fixed != unicodedata.normalize("NFC", LINE_BREAKS.sub("\n", text)):
            encoding += ", mojibake repaired"
        text = fixed
    else:
        text = _normalized(text)
    if CONTROL.search(text) is None:  # the usual case: no soft breaks, nothing to count
        return Decoded(text, encoding, endings)
    # A word processor's line break inside a paragraph (Shift+Enter: a vertical tab) or page
    # break separates words: a space, as a hard-wrapped line's end is.
    text = SOFT_BREAKS.sub(" ", text)
    # A stray control character is junk that `parse` drops; many of them mean this is not text.
    if len(CONTROL.findall(text)) > max(2, len(text) // 100):
        raise ParseError("file is binary, not text (it is full of control characters)")
    return Decoded(CONTROL.sub("", text), encoding, endings)


def _normalized(text: str) -> str:
    """NFC, with every line break a line feed."""
    text = unicodedata.normalize("NFC", text)
    if "\r" in text or "\u2028" in text or "\u2029" in text:  # (a scan is slower)
        text = LINE_BREAKS.sub("\n", text)
    return text


def line_endings(text: str) -> str:
    """The line endings `text` uses, named: one kind, "mixed: …" or none (a single line)."""
    windows = text.count("\r\n")
    kinds = [
        ("CRLF (Windows)", windows),
        ("LF (Unix)", text.count("\n") - windows),
        ("CR (classic Mac)", text.count("\r") - windows),
    ]
    found = [name for name, count in kinds if count]
    if not found:
        return "none (a single line)"
    return found[0] if len(found) == 1 else "mixed: " + ", ".join(found)


def _decode_bytes(raw: bytes) -> tuple[str, str]:
    """The text and the name of the encoding it was read in."""
    for bom, encoding in BOMS:
        if raw.startswith(bom):
            try:
                text = raw[len(bom) :].decode(encoding)
            except UnicodeDecodeError as exc:
                raise ParseError(
                    f"file starts with a {encoding.upper()} byte order mark but is not "
                    f"valid {encoding.upper()} (byte {exc.start + len(bom)})"
                ) from None
            return text, f"{ENCODING_NAMES[encoding]} with a byte order mark"

    utf16 = _utf16_without_bom(raw)
    if utf16 is not None:
        return utf16
    if b"\x00" in raw:
        raise ParseError("file is binary, not text (it contains NUL bytes)")

    try:
        return raw.decode("utf-8"), "UTF-8"
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
            best = (mess, candidate, encoding)
    if best is None or best[0] > MAX_MESS:
        raise ParseError("file is not readable text in any encoding we know")
    return best[1], ENCODING_NAMES[best[2]]


def _utf16_without_bom(raw: bytes) -> tuple[str, str] | None:
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
            candidates.append((mess_ratio(text, 1.0), text, encoding))
    candidates = [candidate for candidate in candidates if candidate[0] <= MAX_MESS]
    if not candidates:
        return None
    _, text, encoding = min(candidates, key=lambda candidate: candidate[0])
    return text, f"{ENCODING_NAMES[encoding]} (no byte order mark)"
