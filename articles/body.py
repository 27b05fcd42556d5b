"""The article body: one sanitised HTML fragment with a few marked paragraphs of our own.

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
    <p class="picture">Picture 12</p>             library picture 12, with its caption and credit
    <p class="gallery">Gallery 12, 15, 9</p>      those library pictures as a gallery, in order
    <p class="embed">https://youtu.be/…</p>       a post or video elsewhere, shown as its snapshot
    <h2>, <h3>, <ul>, <ol>, <li>                  for editors' longer pieces

Pictures and embeds are marked paragraphs too, for the teasers' reason: the rich-text editor
keeps a paragraph's class through any edit, where it would drop a <figure> or <img> it has no
node for. A picture is named by its library number and an embed by its link, never by an
address: no <img>, <iframe> or <script> can enter a body, and the page renders each marker
from the library row (`articles.views.render_article`), its renditions, caption, credit and
rights, so an expired picture leaves every story at once.
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
PICTURE_CLASS = "picture"
GALLERY_CLASS = "gallery"
EMBED_CLASS = "embed"
MARKED = (TEASER_CLASS, SIGNUP_CLASS, PICTURE_CLASS, GALLERY_CLASS, EMBED_CLASS)
ALLOWED_CLASSES = {"p": set(MARKED)}

# PostgreSQL's search vector of a story must stay under 1 MB: 540,000 characters of distinct
# words made 970 KB. A limit well below that, the same for the admin and the importer, and far
# above any story (5,000 words are about 30,000 characters).
MAX_TEXT_CHARACTERS = 300_000

SIGNUP_TEXT = "Newsletter sign-up box"
SIGNUP_HTML = f'<p class="{SIGNUP_CLASS}">{SIGNUP_TEXT}</p>'
MARKER = re.compile(
    rf'<p class="(?P<kind>{"|".join(re.escape(c) for c in MARKED)})">(?P<text>.*?)</p>', re.DOTALL
)
NUMBER = re.compile(r"\d+")
LINK = re.compile(r"https?://[^\s<>\"']+")
MAX_GALLERY = 30
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
                    {"className": PICTURE_CLASS, "title": "Picture (its library number)"},
                    {"className": GALLERY_CLASS, "title": "Gallery (library numbers, in order)"},
                    {"className": EMBED_CLASS, "title": "Embed (a YouTube, X… link)"},
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
    """The body for a parsed article's blocks, in their order: every text escaped, only the
    vocabulary's elements, so `sanitize` would keep it as it is (the importer stores it so)."""
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
    check_text_length(len(plain_text(body)))


def check_text_length(length: int) -> None:
    """Refuse a body whose text (`plain_text`) is `length` characters long, over the limit."""
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

    kind: str  # "html", "teaser", "signup", "picture", "gallery" or "embed"
    html: str = ""
    title: str = ""
    ids: tuple[int, ...] = ()  # library pictures, in order (picture, gallery)
    url: str = ""  # the embedded link


def segments(body: str) -> list[Segment]:
    """The body cut at its marked paragraphs, so the template can render those as
    components (a linked card, a form, a figure, a gallery, an embed) where they stood."""
    out: list[Segment] = []
    position = 0
    for match in MARKER.finditer(body):
        if chunk := body[position : match.start()].strip():
            out.append(Segment("html", html=chunk))
        out.append(_marker(match["kind"], html.unescape(TAG.sub("", match["text"])).strip()))
        position = match.end()
    if chunk := body[position:].strip():
        out.append(Segment("html", html=chunk))
    return out


def _marker(kind: str, text: str) -> Segment:
    if kind == TEASER_CLASS:
        return Segment("teaser", title=text)
    if kind == PICTURE_CLASS:
        return Segment("picture", ids=tuple(int(n) for n in NUMBER.findall(text)[:1]))
    if kind == GALLERY_CLASS:
        numbers = dict.fromkeys(int(n) for n in NUMBER.findall(text))  # each once, in order
        return Segment("gallery", ids=tuple(numbers)[:MAX_GALLERY])
    if kind == EMBED_CLASS:
        link = LINK.search(text)
        return Segment("embed", url=link.group().rstrip(".,);") if link else "")
    return Segment("signup")


def media_references(body: str) -> tuple[list[int], list[str]]:
    """The library pictures (by number) and the embedded links a body shows, each once, in
    order of appearance."""
    pictures: dict[int, None] = {}
    links: dict[str, None] = {}
    for segment in segments(body):
        pictures.update(dict.fromkeys(segment.ids))
        if segment.url:
            links[segment.url] = None
    return list(pictures), list(links)
