"""The parser on the messy files real newsrooms produce: every re-encoding, line ending, stray
markup and junk character variant of the real seed must parse to the very same story, and input
that holds no story must be refused with a `ParseError` an editor can act on. Ends with
property-based fuzzing. Pure parsing: no database anywhere in this module."""

import codecs
import random
import re
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from articles.parsing import (
    MAX_HEADLINE_LENGTH,
    Kind,
    ParsedArticle,
    ParseError,
    decode,
    parse,
    parse_bytes,
)

SEEDS = Path(__file__).resolve().parents[2] / "fixtures" / "seeds"
SEED_BYTES = (SEEDS / "000_6da195aad82aa6ad.txt").read_bytes()
SEED_TEXT = SEED_BYTES.decode("utf-8")
CHUNKS = SEED_TEXT.split("\n\n")  # headline, paragraphs, teasers, source, the navigation pair

HEADLINE = "Putin’s generals are ‘hiding disastrous truth’ about Ukraine invasion from him"
PREVIOUS = "Four women join CFTC in U.S. Senate vote hailed as historic"
NEXT = "NASA images reveal stunning ice volcanoes more than four miles high on Pluto"
TEASERS = (
    "Bombing hospitals, gassing children – the bloody atrocities of ‘Butcher of Mariupol’",
    "Porn star's eerie final post before she was found dead amid spate of industry suicides",
)
EN_DASH_PARAGRAPH = (
    "Russian setbacks and Ukrainian resistance since Kremlin troops invaded on February 24 have "
    "stunned military experts – and triggered bitter infighting among the Russian hierarchy."
)
FIRST_QUOTE = (
    "“I think we are much less certain that he is getting an honest picture on the ground.”"
)
ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad")
STORY = "Headline of the day\n\nFirst paragraph of the story.\n\n{line}\n\nLast paragraph.\n"

# Random but reproducible junk for the binary-input cases.
_random = random.Random("newsroom")
RANDOM_BYTES = bytes(_random.randrange(256) for _ in range(2000))
RANDOM_BYTES_WITHOUT_NUL = bytes(_random.randrange(1, 256) for _ in range(2000))

FUZZ = settings(max_examples=250, deadline=None, database=None)


def shape(parsed: ParsedArticle):
    """Everything a reader sees, without the line numbers (which reflowing changes)."""
    return (
        parsed.headline,
        tuple((block.kind, block.text) for block in parsed.blocks),
        parsed.source,
        parsed.previous_title,
        parsed.next_title,
    )


def windows_1252_read(raw: bytes) -> str:
    """Bytes read the way Windows reads Windows-1252: its five unassigned bytes pass through."""
    return "".join(
        chr(byte) if byte in b"\x81\x8d\x8f\x90\x9d" else bytes([byte]).decode("cp1252")
        for byte in raw
    )


def html_paragraphs(chunks, separator="\n"):
    return separator.join(f"<p>{chunk}</p>" for chunk in chunks)


@pytest.fixture(scope="module")
def pristine():
    return parse_bytes(SEED_BYTES)


def assert_is_the_seed_story(parsed: ParsedArticle, pristine: ParsedArticle):
    """The outcomes spelled out (so a failure says what broke), then everything else at once."""
    assert parsed.headline == HEADLINE
    assert parsed.count(Kind.PARAGRAPH) == 16
    assert parsed.count(Kind.QUOTE) == 4
    assert parsed.count(Kind.SIGNUP) == 1
    assert parsed.teasers == TEASERS
    assert parsed.source is not None
    assert (parsed.source.label, parsed.source.name) == ("Read Full Article", "Daily Star")
    assert (parsed.previous_title, parsed.next_title) == (PREVIOUS, NEXT)
    texts = [block.text for block in parsed.blocks]
    assert EN_DASH_PARAGRAPH in texts and FIRST_QUOTE in texts
    assert shape(parsed) == shape(pristine)


def test_pristine_seed_is_the_story_every_variant_must_reproduce(pristine):
    assert_is_the_seed_story(pristine, pristine)
    assert len(pristine.blocks) == 23
    assert all(mark in SEED_TEXT for mark in "’‘“”–•")


# Encodings -------------------------------------------------------------------------------------

REENCODED = {
    "utf-8-with-bom": codecs.BOM_UTF8 + SEED_BYTES,
    "utf-16-le-with-bom": codecs.BOM_UTF16_LE + SEED_TEXT.encode("utf-16-le"),
    "utf-16-be-with-bom": codecs.BOM_UTF16_BE + SEED_TEXT.encode("utf-16-be"),
    "utf-16-le-without-bom": SEED_TEXT.encode("utf-16-le"),
    "utf-16-be-without-bom": SEED_TEXT.encode("utf-16-be"),
    "utf-32-le-with-bom": codecs.BOM_UTF32_LE + SEED_TEXT.encode("utf-32-le"),
    "utf-32-be-with-bom": codecs.BOM_UTF32_BE + SEED_TEXT.encode("utf-32-be"),
    "windows-1252": SEED_TEXT.encode("cp1252"),
    "mac-roman": SEED_TEXT.encode("mac_roman"),
    "utf-16-le-with-bom-and-crlf": codecs.BOM_UTF16_LE
    + SEED_TEXT.replace("\n", "\r\n").encode("utf-16-le"),
}


@pytest.mark.parametrize("raw", REENCODED.values(), ids=REENCODED.keys())
def test_reencoded_seed_parses_to_the_identical_story(raw, pristine):
    parsed = parse_bytes(raw)
    assert_is_the_seed_story(parsed, pristine)
    assert parsed == pristine  # down to the line numbers of every block


def test_windows_1252_file_imports_with_curly_quotes_intact():
    raw = SEED_TEXT.encode("cp1252")
    assert b"\x93" in raw and b"\x94" in raw and b"\x92" in raw and b"\x96" in raw  # “ ” ’ –
    assert b"\x95" in raw  # the teaser bullet
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    parsed = parse_bytes(raw)
    assert parsed.headline == HEADLINE
    assert FIRST_QUOTE in [block.text for block in parsed.blocks]
    assert parsed.teasers == TEASERS


def test_mac_roman_file_imports_with_curly_quotes_and_bullets_intact(pristine):
    raw = SEED_TEXT.encode("mac_roman")
    assert b"\xd2" in raw and b"\xd3" in raw and b"\xd5" in raw and b"\xa5" in raw  # “ ” ’ •
    assert decode(raw) == SEED_TEXT
    assert_is_the_seed_story(parse_bytes(raw), pristine)


MOJIBAKE = {
    # UTF-8 bytes opened as Windows-1252 and saved again as UTF-8: "Putinâ€™s".
    "utf-8-read-as-windows-1252": windows_1252_read(SEED_BYTES).encode("utf-8"),
    # The same mistake made twice.
    "twice": windows_1252_read(windows_1252_read(SEED_BYTES).encode("utf-8")).encode("utf-8"),
    # Windows-1252 bytes opened as Latin-1 and saved as UTF-8: curly quotes become C1 controls.
    "windows-1252-read-as-latin-1": SEED_TEXT.encode("cp1252").decode("latin-1").encode("utf-8"),
}


@pytest.mark.parametrize("raw", MOJIBAKE.values(), ids=MOJIBAKE.keys())
def test_mojibake_file_comes_out_with_the_correct_characters(raw, pristine):
    assert HEADLINE.encode() not in raw
    parsed = parse_bytes(raw)
    assert_is_the_seed_story(parsed, pristine)
    assert parsed == pristine


def test_mojibake_is_really_the_garbled_form_editors_see():
    garbled = windows_1252_read(SEED_BYTES)
    assert garbled.startswith("Putinâ€™s generals are â€˜hiding disastrous truthâ€™")
    assert decode(garbled.encode("utf-8")) == SEED_TEXT


def test_short_mojibake_story_full_of_quotes_is_repaired_not_refused_as_binary():
    # Each closing quote ” garbles to "â€\x9d", with a C1 control character in it.
    story = "Mayor says “no”\n\nHe said: “No.” She said: “Yes.” They said: “Maybe.”\n"
    raw = windows_1252_read(story.encode("utf-8")).encode("utf-8")
    parsed = parse_bytes(raw)
    assert parsed.headline == "Mayor says “no”"
    assert parsed.blocks[0].text == "He said: “No.” She said: “Yes.” They said: “Maybe.”"


LEGACY_TEXTS = {
    "latin-1-accents": (
        "latin-1",
        "Café in Zürich serves the best crème brûlée",
        "The crème brûlée at the café near Zürich's Bahnhofstraße was named the finest in "
        "Switzerland, à la française.",
    ),
    "windows-1252-accents": (
        "cp1252",
        "Café in Zürich serves the best crème brûlée",
        "Señor García’s “divine” crème brûlée – and the café’s soufflé – won.",
    ),
    "cyrillic-windows-1251": (
        "cp1251",
        "Путин проводит совещание в Кремле",
        "Президент России встретился с министрами в понедельник и обсудил экономику страны.",
    ),
    "polish-windows-1250": (
        "cp1250",
        "Żółta łódź płynie po Wiśle",
        "Mieszkańcy Krakowa zobaczyli dziś żółtą łódź, która płynęła pod mostem. Ścieżka "
        "rowerowa nad rzeką była zamknięta.",
    ),
    "czech-windows-1250": (
        "cp1250",
        "Příliš žluťoučký kůň úpěl ďábelské ódy",
        "Starosta města řekl, že kůň byl v pořádku a že se nic vážného nestalo. Děti se smály.",
    ),
}


@pytest.mark.parametrize(
    ("encoding", "headline", "paragraph"), LEGACY_TEXTS.values(), ids=LEGACY_TEXTS.keys()
)
def test_legacy_encoded_text_decodes_to_the_right_characters(encoding, headline, paragraph):
    text = f"{headline}\r\n\r\n{paragraph}\r\n"
    raw = text.encode(encoding)
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # really the legacy path, not UTF-8 by luck
    assert decode(raw) == f"{headline}\n\n{paragraph}\n"
    parsed = parse_bytes(raw)
    assert parsed.headline == headline
    assert [(block.kind, block.text) for block in parsed.blocks] == [(Kind.PARAGRAPH, paragraph)]


# Line endings, whitespace and invisible characters ---------------------------------------------


def mixed_line_endings(text: str) -> str:
    # "\r" is always followed by a "\r\n"-ended line, so no "\r" + "\n" pair merges two breaks.
    endings = ("\r\n", "\n", "\r")
    lines = text.split("\n")
    return "".join(line + endings[i % 3] for i, line in enumerate(lines))


WHITESPACE_VARIANTS = {
    "crlf": SEED_TEXT.replace("\n", "\r\n"),
    "cr-only-classic-mac": SEED_TEXT.replace("\n", "\r"),
    "mixed-line-endings": mixed_line_endings(SEED_TEXT),
    "trailing-spaces-and-tabs": "\n".join(line + " \t  \t" for line in SEED_TEXT.split("\n")),
    "leading-tabs-and-tab-only-blank-lines": "\n".join(
        f"\t{line}" if line else "\t \t" for line in SEED_TEXT.split("\n")
    ),
    "non-breaking-spaces-for-every-space": SEED_TEXT.replace(" ", "\u00a0"),
    "non-breaking-space-blank-lines": SEED_TEXT.replace("\n\n", "\n\u00a0\u00a0\n"),
    "odd-unicode-spaces-and-runs-of-spaces": SEED_TEXT.replace(
        " the ", "\u2009the\u202f\u3000"
    ).replace(" a ", "   a\t\t"),
    "zero-width-characters-and-soft-hyphens": SEED_TEXT.replace("e", "e\u200b")
    .replace("a", "\u00ada")
    .replace("o", "o\u2060")
    .replace("r", "\u200cr\u200d")
    .replace("\n\n", "\n\ufeff\n"),
    "stray-control-characters": SEED_TEXT.replace("Kremlin", "Krem\x07lin", 1).replace(
        "Ukraine's", "Ukraine\x1b's", 1
    ),
}


@pytest.mark.parametrize("text", WHITESPACE_VARIANTS.values(), ids=WHITESPACE_VARIANTS.keys())
def test_line_endings_whitespace_and_invisible_junk_do_not_change_the_story(text, pristine):
    for raw in (text.encode("utf-8"), text.encode("utf-16")):
        parsed = parse_bytes(raw)
        assert_is_the_seed_story(parsed, pristine)
        assert parsed == pristine


def test_non_breaking_spaces_survive_windows_1252_and_become_plain_spaces(pristine):
    raw = SEED_TEXT.replace(" ", "\u00a0").encode("cp1252")
    assert b"\xa0" in raw and b" " not in raw
    parsed = parse_bytes(raw)
    assert_is_the_seed_story(parsed, pristine)
    assert not any("\u00a0" in block.text for block in parsed.blocks)


def test_zero_width_characters_do_not_reach_the_text():
    text = "Big\u200b news\u00ad today\n\nThe coun\u00adcil\u200d met\ufeff on Mon\u2060day.\n"
    parsed = parse(text)
    assert parsed.headline == "Big news today"
    assert parsed.blocks[0].text == "The council met on Monday."


# Stray markup ----------------------------------------------------------------------------------

MARKUP_VARIANTS = {
    "paragraph-per-p-element": html_paragraphs(CHUNKS),
    "whole-page-on-one-line": (
        "<!DOCTYPE html><html><head><title>Ignore me</title>"
        "<style>p { color: red }</style><script>var x = '<p>not a paragraph</p>';</script>"
        "</head><body><!-- scraped -->" + html_paragraphs(CHUNKS, separator="") + "</body></html>"
    ),
    "br-between-navigation-lines": html_paragraphs(CHUNKS[:-1])
    + "<p>"
    + CHUNKS[-1].replace("\n", "<br>")
    + "</p>",
    "entities-for-curly-quotes-dashes-and-spaces": html_paragraphs(CHUNKS)
    .replace("’", "&#8217;")
    .replace("‘", "&lsquo;")
    .replace("“", "&#x201C;")
    .replace("”", "&rdquo;")
    .replace("–", "&ndash;")
    .replace("•", "&bull;")
    .replace(" and ", " and&nbsp;"),
    "inline-tags-and-attributes": html_paragraphs(CHUNKS)
    .replace("Vladimir Putin", '<b class="name">Vladimir</b> <i>Putin</i>')
    .replace("catastrophic", "<strong><em>catastrophic</em></strong>")
    .replace("Boris Johnson", '<a href="https://example.com/boris?a=1&amp;b=2">Boris Johnson</a>'),
}


@pytest.mark.parametrize("text", MARKUP_VARIANTS.values(), ids=MARKUP_VARIANTS.keys())
def test_seed_wrapped_in_stray_html_parses_to_the_same_story(text, pristine):
    parsed = parse(text)
    assert_is_the_seed_story(parsed, pristine)
    assert not any("<" in block.text or "&" in block.text for block in parsed.blocks)


def test_script_content_vanishes_and_bold_italic_text_is_kept():
    text = (
        "Fish &amp; <b>chips</b> shop <i>wins</i> award\n\n"
        "<p>The <b>owner</b> said it&#8217;s &ldquo;<i>brilliant</i>&rdquo;.<br>"
        "Customers&nbsp;agreed.</p>"
        "<script>document.write('<p>Buy now!</p>'); alert(1)</script>"
        "<p>Queues &amp; crowds <em>followed</em>.</p>"
    )
    parsed = parse(text)
    assert parsed.headline == "Fish & chips shop wins award"
    assert [block.text for block in parsed.blocks] == [
        "The owner said it’s “brilliant”. Customers agreed.",
        "Queues & crowds followed.",
    ]
    all_text = " ".join(part.text for part in parsed.parts)
    assert "Buy now" not in all_text and "alert" not in all_text


def test_entities_without_any_tags_are_unescaped():
    parsed = parse(
        "Tom &amp; Jerry&#8217;s day out\n\nThey said&nbsp;it was &#x201C;great&#x201D;."
    )
    assert parsed.headline == "Tom & Jerry’s day out"
    assert parsed.blocks[0].text == "They said it was “great”."


def test_list_items_in_markup_become_teasers():
    parsed = parse("Headline\n\n<p>Body text.</p><ul><li>Related story</li></ul><p>More.</p>")
    assert [(block.kind, block.text) for block in parsed.blocks] == [
        (Kind.PARAGRAPH, "Body text."),
        (Kind.TEASER, "Related story"),
        (Kind.PARAGRAPH, "More."),
    ]


def test_malformed_html_declaration_is_read_as_text_not_a_crash():
    parsed = parse("Headline <b>here</b>\n\n<![oops <p>Body text.</p>")
    assert parsed.headline == "Headline here"
    assert [block.text for block in parsed.blocks] == ["<![oops", "Body text."]


# Paragraph layout ------------------------------------------------------------------------------


def hard_wrapped(width=70, newline="\n"):
    def wrap(chunk):
        if chunk.lstrip().startswith("•") or chunk.startswith("Previous post"):
            return chunk  # teasers and navigation are one line each, as in real files
        return newline.join(textwrap.wrap(chunk, width))

    return (newline * 2).join([CHUNKS[0], *map(wrap, CHUNKS[1:])])


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_hard_wrapped_paragraphs_are_joined_back_into_the_same_paragraphs(newline, pristine):
    text = hard_wrapped(newline=newline)
    assert max(map(len, text.splitlines()[1:])) <= 90  # really wrapped
    parsed = parse_bytes(text.encode("utf-8"))
    assert_is_the_seed_story(parsed, pristine)
    multi_line = [block for block in parsed.blocks if block.first_line != block.last_line]
    assert len(multi_line) >= 15
    assert parsed.blocks[0].lines == "lines 3-4"


def test_file_without_blank_lines_reads_one_paragraph_per_line(pristine):
    text = "\n".join(CHUNKS)
    assert "\n\n" not in text
    parsed = parse_bytes(text.encode("utf-8"))
    assert_is_the_seed_story(parsed, pristine)
    assert all(block.first_line == block.last_line for block in parsed.blocks)


def test_demo_seed_files_survive_windows_1252_and_crlf():
    for path in sorted(SEEDS.glob("1*.txt")):
        raw = path.read_bytes()
        text = raw.decode("utf-8")
        pristine = parse_bytes(raw)
        try:
            messy = text.replace("\n", "\r\n").encode("cp1252")
        except UnicodeEncodeError:  # Greek, which Windows-1252 cannot hold: UTF-16 instead
            messy = text.replace("\n", "\r\n").encode("utf-16")
        assert parse_bytes(messy) == pristine, path.name


# Teasers, source and navigation lines ----------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "• Seagulls steal chips again",
        "  • Seagulls steal chips again",
        "\t•\tSeagulls steal chips again  ",
        "•Seagulls steal chips again",
        "\u00a0\u00a0•\u00a0Seagulls steal chips again",
        "● Seagulls steal chips again",
    ],
    ids=["bullet", "indented", "tabs", "no-space", "non-breaking-spaces", "round-bullet"],
)
def test_bullet_lines_become_teasers_with_or_without_leading_spaces(line):
    parsed = parse(STORY.format(line=line))
    assert parsed.teasers == ("Seagulls steal chips again",)
    assert [block.kind for block in parsed.blocks] == [Kind.PARAGRAPH, Kind.TEASER, Kind.PARAGRAPH]


@pytest.mark.parametrize(
    ("lines", "previous", "next_"),
    [
        ("Previous post Old story\nNext post New story", "Old story", "New story"),
        ("Previous post: Old story\nNext post: New story", "Old story", "New story"),
        ("Previous post - Old story\nNext post - New story", "Old story", "New story"),
        ("Previous post – Old story\nNext post — New story", "Old story", "New story"),
        ("PREVIOUS POST:Old story\nnext post -New story", "Old story", "New story"),
        ("Prev post » Old story\nNext article: New story", "Old story", "New story"),
        ("Next post -- New story", "", "New story"),
        ("Previous post:\nNext post -", "", ""),
        ("Previous post", "", ""),
    ],
    ids=[
        "no-separator",
        "colon",
        "hyphen",
        "dashes",
        "shouting",
        "prev-and-article",
        "double-hyphen",
        "separator-but-no-title",
        "label-alone",
    ],
)
def test_navigation_line_variants_give_previous_and_next_titles(lines, previous, next_):
    parsed = parse(STORY.format(line=lines))
    assert (parsed.previous_title, parsed.next_title) == (previous, next_)
    assert [block.text for block in parsed.blocks] == [
        "First paragraph of the story.",
        "Last paragraph.",
    ]


@pytest.mark.parametrize(
    ("line", "label", "name", "url"),
    [
        ("Source: https://example.com/x", "https://example.com/x", "", "https://example.com/x"),
        ("Source: The Mirror", "The Mirror", "The Mirror", ""),
        ("source - The Mirror", "The Mirror", "The Mirror", ""),
        (
            "Source: The Mirror (https://www.mirror.co.uk/news/a-1.html).",
            "The Mirror (https://www.mirror.co.uk/news/a-1.html).",
            "The Mirror",
            "https://www.mirror.co.uk/news/a-1.html",
        ),
        ("Source: Read Full Article", "Read Full Article", "", ""),
    ],
    ids=["url", "name", "hyphen-separator", "name-and-url", "generic-link-label"],
)
def test_source_line_gives_the_url_or_the_publication_name(line, label, name, url):
    parsed = parse(STORY.format(line=line))
    assert parsed.source is not None
    assert (parsed.source.label, parsed.source.name, parsed.source.url) == (label, name, url)
    assert parsed.count(Kind.PARAGRAPH) == 2


# Bad input -------------------------------------------------------------------------------------

BAD_INPUT = {
    "empty-bytes": (b"", "file is empty"),
    "only-a-byte-order-mark": (codecs.BOM_UTF8, "file is empty"),
    "whitespace-only": (b" \r\n\t\n   \n\r", "only whitespace"),
    "utf-16-whitespace-only": (" \n\t\n ".encode("utf-16"), "only whitespace"),
    "only-invisible-characters": (
        "\u200b\u200c\n\u2060\u00ad\n\ufeff\u200d".encode(),
        "only whitespace and invisible characters",
    ),
    "only-markup-and-script": (b"<script>alert(1)</script><p></p>", "invisible characters"),
    "headline-only": ("Putin’s generals are ‘hiding’ truth\n".encode(), "headline only"),
    "headline-and-teasers-source-navigation": (
        "Headline\n\n  • A teaser\n• Another\n\nSource: The Mirror\n\n"
        "Previous post Old story\nNext post New story\n".encode(),
        "headline only",
    ),
    "headline-and-call-to-action": (
        b"Headline\n\nFor more stories, make sure you sign up to one of our newsletters here\n",
        "headline only",
    ),
    "png-image": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + RANDOM_BYTES, "binary"),
    "png-image-without-nul-bytes": (
        b"\x89PNG\r\n\x1a\n" + RANDOM_BYTES_WITHOUT_NUL,
        "binary|not readable text",
    ),
    "text-with-nul-bytes": (b"Headline\x00\n\nBody\x00 text.\n", "binary.*NUL"),
    "random-bytes": (RANDOM_BYTES, "binary"),
    "control-characters": (
        b"Headline\x01\x02\x03\n\n\x04\x05Body\x06\x07 text\x08\x0e\x0f.\n",
        "binary.*control characters",
    ),
    "first-line-too-long-for-a-headline": (
        ("word " * 60 + "\n\nBody text.").encode(),
        f"too long for a headline.*at most {MAX_HEADLINE_LENGTH}",
    ),
    "invalid-bytes-after-utf-8-bom": (
        codecs.BOM_UTF8 + b"Headline\n\nCaf\xe9 au lait\n",
        "UTF-8 byte order mark but is not valid UTF-8",
    ),
    "truncated-utf-16-after-bom": (
        codecs.BOM_UTF16_LE + "Headline\n\nBody".encode("utf-16-le") + b"\x00",
        "UTF-16-LE byte order mark but is not valid UTF-16-LE",
    ),
}


@pytest.mark.parametrize(("raw", "reason"), BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_unusable_file_is_refused_with_a_reason_an_editor_understands(raw, reason):
    with pytest.raises(ParseError, match=reason) as caught:
        parse_bytes(raw)
    message = str(caught.value)
    assert "codec" not in message and "Traceback" not in message


def test_first_line_of_exactly_the_maximum_length_is_still_a_headline():
    headline = "x" * MAX_HEADLINE_LENGTH
    assert parse(f"{headline}\n\nBody text.").headline == headline


def test_size_limit_is_configurable_and_inclusive():
    size = len(SEED_BYTES)
    reason = re.escape(f"too large ({size:,} bytes; the limit is {size - 1:,})")
    with pytest.raises(ParseError, match=reason):
        parse_bytes(SEED_BYTES, max_bytes=size - 1)
    assert parse_bytes(SEED_BYTES, max_bytes=size).headline == HEADLINE


def test_invalid_bytes_after_a_bom_report_where_the_damage_is():
    raw = codecs.BOM_UTF8 + b"Headline\n\nCaf\xe9 au lait\n"
    with pytest.raises(ParseError, match=r"\(byte 16\)"):
        parse_bytes(raw)


# Property-based fuzzing ------------------------------------------------------------------------


def parses_or_refuses(raw: bytes):
    """`parse_bytes` gives a usable story or a `ParseError`; any other exception fails the test."""
    try:
        parsed = parse_bytes(raw)
    except ParseError as exc:
        assert str(exc)
        return None
    assert isinstance(parsed, ParsedArticle)
    assert parsed.headline.strip() and len(parsed.headline) <= MAX_HEADLINE_LENGTH
    assert parsed.count(Kind.PARAGRAPH) + parsed.count(Kind.QUOTE) >= 1
    return parsed


@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_parse_or_raise_parse_error(raw):
    parses_or_refuses(raw)


@FUZZ
@given(
    st.text(max_size=500),
    st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32", "cp1252", "cp1251"]),
)
def test_arbitrary_text_in_any_encoding_parses_or_raises_parse_error(text, encoding):
    parses_or_refuses(text.encode(encoding, errors="ignore"))


STORY_LINES = st.one_of(
    st.sampled_from(
        [
            "",
            "",
            "Headline of the day",
            "A paragraph of reporting.",
            "“A quote that runs on…",
            "  • A teaser headline",
            "•",
            "Source: The Mirror",
            "Source: https://example.com/story",
            "Previous post Old story",
            "Next post:",
            "For more stories, sign up to one of our newsletters here",
            "<p>Para</p><script>x()</script>",
            "<![oops <b>bold</b>",
            "&amp; &#8217; &nbsp;",
            "\u200b\u00ad\ufeff",
            "\u00a0\t ",
            "Putinâ€™s generals",
            "x" * 300,
        ]
    ),
    st.text(max_size=80),
)


@FUZZ
@given(
    st.lists(STORY_LINES, max_size=25),
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.sampled_from(["utf-8", "utf-16", "cp1252", "mac_roman"]),
)
def test_story_shaped_junk_parses_or_raises_parse_error(lines, newline, encoding):
    parses_or_refuses(newline.join(lines).encode(encoding, errors="ignore"))


@FUZZ
@given(
    st.lists(
        st.tuples(st.integers(0, len(SEED_TEXT)), st.sampled_from(ZERO_WIDTH)),
        max_size=40,
    ),
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-be", "utf-32"]),
)
def test_invisible_characters_anywhere_never_change_the_seed_story(insertions, newline, encoding):
    text = SEED_TEXT
    for position, character in sorted(insertions, reverse=True):
        text = text[:position] + character + text[position:]
    parsed = parses_or_refuses(text.replace("\n", newline).encode(encoding))
    assert parsed is not None
    assert shape(parsed) == shape(parse_bytes(SEED_BYTES))


def test_a_word_processors_soft_line_break_separates_words_and_leaves_nothing_behind():
    parsed = parse_bytes(b"Line\x0bbreak headline\n\nA body\x0bwith a soft\x0cbreak.\n")
    assert parsed.headline == "Line break headline"
    assert parsed.blocks[0].text == "A body with a soft break."
