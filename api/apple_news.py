"""Apple News Format: a story as an `article.json` document (`ArticleDocument`), made from the
same data as the content API's story (`api.views.story_data`), so Apple News shows what the site
shows; and `problems`, which checks a document against the format's required properties.

The document: the title, intro (standfirst), byline and hero photo, then the body's blocks in
order (paragraphs, quotes, headings and lists as HTML body text in the tags the format reads;
pictures as photos with their caption and credit, galleries, a teaser as a link to the story
it names, embeds as a link), the source line and any corrections. Pictures are the largest
JPEG rendition of their wide crop, at an absolute address; links inside the text are made
absolute. Sending them to Apple News is `api.apple_news_api`."""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser

from django.conf import settings
from django.utils import timezone

VERSION = "1.7"
LAYOUT = {"columns": 7, "width": 1024, "margin": 70, "gutter": 40}
TEXT_ROLES = {
    "title", "intro", "byline", "author", "body", "caption", "quote", "pullquote", "heading",
    *(f"heading{level}" for level in range(1, 7)),
}  # fmt: skip
PICTURE_ROLES = {"photo", "image", "figure", "portrait", "logo"}
ROLES = TEXT_ROLES | PICTURE_ROLES | {"gallery", "mosaic", "divider"}
# What Apple News reads in HTML text (its "Using HTML with Apple News Format" list).
HTML_TAGS = {
    "p", "a", "b", "strong", "i", "em", "u", "s", "del", "sub", "sup", "code", "samp", "pre",
    "br", "ul", "ol", "li", "blockquote", "footer", "aside", "span",
}  # fmt: skip
REQUIRED = {
    "version": str, "identifier": str, "title": str, "language": str, "layout": dict,
    "components": list, "componentTextStyles": dict,
}  # fmt: skip
IDENTIFIER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2}|_[A-Z][a-z]{3})?$")
RELATIVE_LINK = re.compile(r'(href=")(/[^"]*)"')
TEXT_STYLES = {
    "default": {"fontName": "HelveticaNeue", "fontSize": 17, "lineHeight": 25,
                "textColor": "#111111"},
    "default-title": {"fontName": "HelveticaNeue-Bold", "fontSize": 36, "lineHeight": 42},
    "default-intro": {"fontName": "HelveticaNeue-Medium", "fontSize": 20, "lineHeight": 28},
    "default-byline": {"fontSize": 13, "textColor": "#555555"},
    "default-caption": {"fontSize": 13, "textColor": "#555555"},
    "default-quote": {"fontName": "HelveticaNeue-Bold", "fontSize": 22, "textColor": "#C8102E"},
    "note": {"fontSize": 14, "textColor": "#555555"},
}  # fmt: skip


def absolute(url: str) -> str:
    return url if url.startswith(("http://", "https://")) else f"{settings.SITE_URL}{url}"


def _links(fragment: str) -> str:
    return RELATIVE_LINK.sub(lambda m: f'{m[1]}{absolute(m[2])}"', fragment)


def _body(html: str, **extra) -> dict:
    return {"role": "body", "format": "html", "text": _links(html), **extra}


def _photo(picture: dict | None, role: str = "photo") -> dict | None:
    """The largest JPEG of the wide crop, with its caption and credit; None without one."""
    if not picture or not picture["renditions"].get("wide"):
        return None
    largest = max(picture["renditions"]["wide"], key=lambda r: r["width"])
    words = " · ".join(part for part in (picture.get("caption"), picture.get("credit")) if part)
    out = {"role": role, "URL": absolute(largest["jpeg"])}
    if picture.get("alt"):
        out["accessibilityCaption"] = picture["alt"]
    return out | ({"caption": words} if words else {})


def _block(block: dict) -> list[dict]:
    kind = block["type"]
    if kind == "paragraph":
        return [_body(f"<p>{block['html']}</p>")]
    if kind == "quote":
        return [{"role": "quote", "format": "html", "text": _links(block["html"])}]
    if kind == "heading":
        return [{"role": f"heading{block['level']}", "text": block["text"]}]
    if kind == "list":
        tag = "ol" if block["ordered"] else "ul"
        return [_body(f"<{tag}>{''.join(f'<li>{i}</li>' for i in block['items'])}</{tag}>")]
    if kind == "teaser" and block["story"]:
        story = block["story"]
        return [_body(f'<p>• <a href="{story["url"]}">{escape(block["title"])}</a></p>')]
    if kind == "signup":
        return [_body(f'<p><a href="{block["url"]}">Sign up to our newsletter</a></p>')]
    if kind == "image":
        return [p for p in [_photo(block["picture"])] if p]
    if kind == "gallery":
        items = [p for p in map(_photo, block["pictures"]) if p]
        for item in items:
            del item["role"]
        return [{"role": "gallery", "items": items}] if items else []
    if kind == "embed":
        words = escape(f"{block['provider']}: {block['title'] or block['url']}")
        return [_body(f'<p><a href="{escape(block["url"])}">{words}</a></p>')]
    return []


def _byline(data: dict) -> str:
    names = ", ".join(author["name"] for author in data["authors"])
    day = timezone.localtime(data["published_at"])
    when = f"{day.day} {day:%B %Y}"
    return f"By {names} | {when}" if names else when


def document(data: dict) -> dict:
    """The `ArticleDocument` of a story, from `api.views.story_data`'s dictionary."""
    components = [{"role": "title", "text": data["headline"]}]
    if data["standfirst"]:
        components.append({"role": "intro", "text": data["standfirst"]})
    components.append({"role": "byline", "text": _byline(data)})
    if hero := _photo(data["picture"]):
        components.append(hero)
    for block in data["blocks"]:
        components.extend(_block(block))
    if source := data["source"]:
        name = escape(source["name"] or source["url"])
        line = f'<a href="{escape(source["url"])}">{name}</a>' if source["url"] else name
        components.append(_body(f"<p>Source: {line}</p>", textStyle="note"))
    for correction in data["corrections"]:
        note = f"<p><b>{correction['kind'].capitalize()}:</b> {escape(correction['text'])}</p>"
        components.append(_body(note, textStyle="note"))
    metadata = {
        "canonicalURL": absolute(data["url"]),
        "datePublished": data["published_at"].isoformat(),
        "dateModified": (data["updated_at"] or data["published_at"]).isoformat(),
        "authors": [author["name"] for author in data["authors"]],
        "keywords": data["tags"][:50],
    }
    if data["standfirst"]:
        metadata["excerpt"] = data["standfirst"]
    if hero:
        metadata["thumbnailURL"] = hero["URL"]
    return {
        "version": VERSION,
        "identifier": f"story-{data['id']}",
        "title": data["headline"],
        **({"subtitle": data["standfirst"]} if data["standfirst"] else {}),
        "language": data["language"].replace("-", "_"),
        "layout": LAYOUT,
        "components": components,
        "componentTextStyles": TEXT_STYLES,
        "metadata": metadata,
    }


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.found.add(tag)


def _html_tags(text: str) -> set[str]:
    parser = _Tags()
    parser.feed(text)
    return parser.found


def _is_url(value) -> bool:
    return isinstance(value, str) and value.startswith(("https://", "http://", "bundle://"))


def problems(doc: dict) -> list[str]:
    """What keeps `doc` from being a valid Apple News Format document: each required property
    missing or of the wrong type, a malformed identifier or language, a layout without columns
    and width, a component without its role's required property, a relative or missing
    picture address, HTML Apple News does not read, a text style nobody defined."""
    found = [
        f"{name}: required ({kind.__name__})"
        for name, kind in REQUIRED.items()
        if not isinstance(doc.get(name), kind) or not doc.get(name)
    ]
    if found:
        return found
    if not IDENTIFIER.match(doc["identifier"]):
        found.append("identifier: letters, digits, - and _ only, at most 64")
    if not LANGUAGE.match(doc["language"]):
        found.append(f"language: {doc['language']!r} is not like en or en_GB")
    for name in ("columns", "width"):
        if not isinstance(doc["layout"].get(name), int) or doc["layout"][name] <= 0:
            found.append(f"layout.{name}: required (a positive integer)")
    styles = set(doc["componentTextStyles"])
    for n, component in enumerate(doc["components"]):
        found += [f"components[{n}]: {p}" for p in _component_problems(component, styles)]
    metadata = doc.get("metadata", {})
    for name in ("canonicalURL", "thumbnailURL"):
        if name in metadata and not _is_url(metadata[name]):
            found.append(f"metadata.{name}: not an absolute address")
    return found


def _component_problems(component: dict, styles: set[str]) -> list[str]:
    role = component.get("role")
    if role not in ROLES:
        return [f"role {role!r} unknown"]
    found = []
    if role in TEXT_ROLES and not (isinstance(component.get("text"), str) and component["text"]):
        found.append(f"{role}: text required")
    if role in PICTURE_ROLES and not _is_url(component.get("URL")):
        found.append(f"{role}: URL required (absolute)")
    if role == "gallery":
        items = component.get("items") or []
        if not items or not all(_is_url(item.get("URL")) for item in items):
            found.append("gallery: items, each with an absolute URL, required")
    if component.get("format") == "html":
        if unread := _html_tags(component.get("text", "")) - HTML_TAGS:
            found.append(f"{role}: HTML Apple News does not read: {', '.join(sorted(unread))}")
        for href in re.findall(r'href="([^"]*)"', component.get("text", "")):
            if not _is_url(href) and not href.startswith("mailto:"):
                found.append(f"{role}: link {href!r} is not absolute")
    if isinstance(style := component.get("textStyle"), str) and style not in styles:
        found.append(f"{role}: textStyle {style!r} is not defined")
    return found
