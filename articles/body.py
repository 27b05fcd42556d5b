"""The article body: one sanitised HTML fragment with two marked elements of our own.

Why HTML: editors will write in a rich-text editor whose output is HTML, and the importer's
blocks map onto a handful of elements without loss, so one representation serves both, and
`nh3` (the Ammonia sanitiser) guarantees whatever reaches a reader is safe whoever wrote it.

The vocabulary (anything else is stripped on save):

    <p>…</p>                                  a paragraph (inline: a, strong, em, b, i, br)
    <blockquote><p>…</p></blockquote>         quoted speech
    <aside class="teaser">Headline</aside>    a related-story teaser, linked at render time
    <div class="newsletter-signup"></div>     where the newsletter sign-up box goes
    <h2>, <h3>, <ul>, <ol>, <li>              for editors' longer pieces
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import nh3

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
    "aside",
    "div",
    "h2",
    "h3",
    "ul",
    "ol",
    "li",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
ALLOWED_CLASSES = {"aside": {"teaser"}, "div": {"newsletter-signup"}}

TEASER_CLASS = "teaser"
SIGNUP_CLASS = "newsletter-signup"
SIGNUP_HTML = f'<div class="{SIGNUP_CLASS}"></div>'
MARKER = re.compile(
    rf'<aside class="{TEASER_CLASS}">(?P<teaser>.*?)</aside>|<div class="{SIGNUP_CLASS}"></div>',
    re.DOTALL,
)
TAG = re.compile(r"<[^>]+>")


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
            out.append(f'<aside class="{TEASER_CLASS}">{text}</aside>')
        elif block.kind == Kind.SIGNUP:
            out.append(SIGNUP_HTML)
    return "\n".join(out)


def plain_text(body: str) -> str:
    """The words of the body without markup (teasers excluded: they are not the story)."""
    without_teasers = re.sub(rf'<aside class="{TEASER_CLASS}">.*?</aside>', " ", body, flags=re.S)
    return html.unescape(TAG.sub(" ", without_teasers))


def teaser_titles(body: str) -> list[str]:
    """The headlines the body's teasers name, in order."""
    return [
        html.unescape(match["teaser"]).strip()
        for match in MARKER.finditer(body)
        if match["teaser"] is not None
    ]


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
