"""A story's body as typed blocks for apps: paragraphs, quotes, headings and lists (each with
its inline HTML and its plain text), teasers (with the story they link to, when it is out),
the newsletter sign-up slot, pictures, galleries and embeds. The same cut as the story page
makes (`articles.body.segments`), so an app shows what the page shows, where it shows it."""

from __future__ import annotations

import html
import re

from django.core.files.storage import default_storage
from django.urls import reverse

from articles.body import segments
from pictures import placements

BLOCK = re.compile(
    r"<(?P<tag>p|blockquote|h[2-6]|ul|ol)\b[^>]*>(?P<inner>.*?)</(?P=tag)>", re.DOTALL
)
ITEM = re.compile(r"<li\b[^>]*>(?P<inner>.*?)</li>", re.DOTALL)
TAG = re.compile(r"<[^>]+>")
APP_PLACEMENTS = ("wide", "standard", "square", "free")


def plain(fragment: str) -> str:
    return " ".join(html.unescape(TAG.sub(" ", fragment)).split())


def text_blocks(chunk: str) -> list[dict]:
    """The plain blocks of one run of body HTML, in order."""
    out = []
    for match in BLOCK.finditer(chunk):
        tag, inner = match["tag"], match["inner"].strip()
        if tag in ("ul", "ol"):
            items = [item["inner"].strip() for item in ITEM.finditer(inner)]
            out.append({"type": "list", "ordered": tag == "ol", "items": items})
        elif tag.startswith("h"):
            out.append(
                {"type": "heading", "level": int(tag[1]), "html": inner, "text": plain(inner)}
            )
        else:
            kind = "quote" if tag == "blockquote" else "paragraph"
            out.append({"type": kind, "html": inner, "text": plain(inner)})
    return out


def picture(image, *, full: bool = True) -> dict | None:
    """A library picture as an app uses it: alt text, size, and for each crop its renditions
    (JPEG, WebP and AVIF at each width); with `full`, its caption and credit too. None while
    it has no renditions. Computed from stored numbers: no file opened, no query."""
    if image is None or not image.rendition_key or not image.width or not image.height:
        return None
    base = default_storage.url(placements.directory(image.pk, image.rendition_key))
    crops = {}
    for name in APP_PLACEMENTS:
        spec = placements.PLACEMENTS[name]
        crops[name] = [
            {"width": width, "height": height}
            | {fmt: f"{base}{name}-{target}.{fmt}" for fmt in spec.formats}
            for target, width, height in placements.sizes_for(image.width, image.height, spec)
        ]
    out = {"id": image.pk, "alt": image.alt_text, "width": image.width, "height": image.height}
    if full:
        out |= {"caption": image.caption, "credit": image.credit}
    return out | {"renditions": crops}


def body_blocks(story, *, pictures: dict, embeds: dict, link_of) -> list[dict]:
    """Every block of `story`'s body. `pictures` and `embeds` come from
    `articles.services.media.body_media`; `link_of(title)` is the story a teaser names."""
    out = []
    for segment in segments(story.body):
        if segment.kind == "html":
            out.extend(text_blocks(segment.html))
        elif segment.kind == "teaser":
            target = link_of(segment.title)
            out.append({"type": "teaser", "title": segment.title, "story": target})
        elif segment.kind == "signup":
            out.append({"type": "signup", "url": reverse("newsletters:signup")})
        elif segment.kind == "picture":
            image = pictures.get(segment.ids[0]) if segment.ids else None
            if (shown := picture(image)) is not None:
                out.append({"type": "image", "picture": shown})
        elif segment.kind == "gallery":
            shown = [p for pk in segment.ids if (p := picture(pictures.get(pk))) is not None]
            if shown:
                out.append({"type": "gallery", "pictures": shown})
        elif segment.kind == "embed" and (embed := embeds.get(segment.url)) is not None:
            thumbnail = embed.thumbnail if embed.thumbnail.is_shown else None
            out.append(
                {
                    "type": "embed",
                    "url": embed.url,
                    "provider": embed.provider,
                    "title": embed.title,
                    "thumbnail": picture(thumbnail, full=False),
                }
            )
    return out
