"""The article body: one sanitised HTML fragment with two marked paragraphs of our own.

Why HTML: editors write in a rich-text editor (django-prose-editor) whose output is HTML, and the
importer's blocks map onto a handful of elements without loss, so one representation serves
both, and `nh3` (the Ammonia sanitiser) guarantees whatever reaches a reader is safe whoever
wrote it. The markers are plain paragraphs with a class, which the editor's NodeClass extension
sets and keeps, so an imported story survives being edited.

The vocabulary (anything else is stripped on save):

    <p>…</p>                                      a paragraph (inline: a, strong, em, b, i, br)
    <blockquote><p>…</p></blockquote>             quoted speech
    <p class="teaser">Headline</p>                a related-story teaser, linked at render time
    <p class="newsletter-signup">…</p>            where the newsletter sign-up box goes
    <h2>, <h3>, <ul>, <ol>, <li>                  for editors' longer pieces
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import nh3
from django.core.exceptions import ValidationError

from .parsing import Kind, Part

ALLOWED_TAGS = {
    "p",
    "br",
    "a",
    "strong",
    "em",
    "b",
    "i",
    "blockquote",
    "h2",
    "h3",
    "ul",
    "ol",
    "li",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
TEASER_CLASS = "teaser"
SIGNUP_CLASS = "newsletter-signup"
ALLOWED_CLASSES = {"p": {TEASER_CLASS, SIGNUP_CLASS}}

# PostgreSQL's search vector of a story must stay under 1 MB: 540,000 characters of distinct
# words made 970 KB. A limit well below that, the same for the admin and the importer, and far
# above any story (5,000 words are about 30,000 characters).
MAX_TEXT_CHARACTERS = 300_000

SIGNUP_TEXT = "Newsletter sign-up box"
SIGNUP_HTML = f'<p class="{SIGNUP_CLASS}">{SIGNUP_TEXT}</p>'
MARKER = re.compile(
    rf'<p class="(?:{TEASER_CLASS}">(?P<teaser>.*?)|{SIGNUP_CLASS}">.*?)</p>', re.DOTALL
)
TAG = re.compile(r"<[^>]+>")
BLOCK_TAG = re.compile(r"</?(?:p|blockquote|h[1-6]|ul|ol|li|div|br)\b[^>]*>", re.IGNORECASE)

# The rich-text editor's configuration for the body: what editors can make matches what the
# sanitiser keeps.
EDITOR_CONFIG = {
    "extensions": {
        "Bold": True,
        "Italic": True,
        "Link": {"protocols": ["http", "https", "mailto"]},
        "Heading": {"levels": [2, 3]},
        "BulletList": True,
        "OrderedList": True,
        "ListItem": True,
        "Blockquote": True,
        "HardBreak": True,
        "History": True,
        "HTML": True,
        "SpecialCharacters": True,
        "NodeClass": {
            "cssClasses": {
                "paragraph": [
                    {"className": TEASER_CLASS, "title": "Related-story teaser"},
                    {"className": SIGNUP_CLASS, "title": "Newsletter sign-up box"},
                ]
            }
        },
    }
}


def sanitize(body: str) -> str:
    """The body with everything outside the vocabulary removed: no script, style, event
    handler or `javascript:` URL survives, whoever sent it."""
    return nh3.clean(
        body,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        allowed_classes=ALLOWED_CLASSES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener",
        strip_comments=True,
    ).strip()


def blocks_to_html(blocks: tuple[Part, ...]) -> str:
    """The body for a parsed article's blocks, in their order."""
    out = []
    for block in blocks:
        text = html.escape(block.text, quote=False)
        if block.kind == Kind.PARAGRAPH:
            out.append(f"<p>{text}</p>")
        elif block.kind == Kind.QUOTE:
            out.append(f"<blockquote><p>{text}</p></blockquote>")
        elif block.kind == Kind.TEASER:
            out.append(f'<p class="{TEASER_CLASS}">{text}</p>')
        elif block.kind == Kind.SIGNUP:
            out.append(SIGNUP_HTML)
    return "\n".join(out)


def validate_length(body: str) -> None:
    """Refuse a body whose text is longer than `MAX_TEXT_CHARACTERS`."""
    length = len(plain_text(body))
    if length > MAX_TEXT_CHARACTERS:
        raise ValidationError(
            f"The story's text is {length:,} characters long; the limit is "
            f"{MAX_TEXT_CHARACTERS:,} (about 50,000 words). Split it into parts."
        )


def plain_text(body: str) -> str:
    """The words of the body without markup (teasers excluded: they are not the story)."""
    text = BLOCK_TAG.sub(" ", MARKER.sub(" ", body))  # block boundaries separate words
    return html.unescape(TAG.sub("", text))  # inline tags do not: "<b>sweet</b>." is "sweet."


@dataclass(frozen=True)
class Segment:
    """A piece of the body as the article template renders it."""

    kind: str  # "html", "teaser" or "signup"
    html: str = ""
    title: str = ""


def segments(body: str) -> list[Segment]:
    """The body cut at its teasers and sign-up slot, so the template can render those as
    components (a linked card, a form) where they stood."""
    out: list[Segment] = []
    position = 0
    for match in MARKER.finditer(body):
        if chunk := body[position : match.start()].strip():
            out.append(Segment("html", html=chunk))
        if match["teaser"] is not None:
            out.append(Segment("teaser", title=html.unescape(match["teaser"]).strip()))
        else:
            out.append(Segment("signup"))
        position = match.end()
    if chunk := body[position:].strip():
        out.append(Segment("html", html=chunk))
    return out
