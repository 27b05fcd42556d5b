"""Stray markup in article files: HTML tags and entities become the plain-text format."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

HTML_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>")
HTML_ENTITY = re.compile(r"&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});")


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
