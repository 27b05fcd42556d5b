"""Text as pages, feeds and sitemaps may carry it: no control characters (XML 1.0 refuses
them, and a vertical tab from a word processor broke every feed that showed its story)."""

from __future__ import annotations

import re

from django.db import models

# C0 controls but tab, newline and carriage return; DEL; C1 controls; the two non-characters
# and lone surrogates, which no XML document may contain either.
CONTROLS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")
# Line and page breaks that word processors leave inside a paragraph.
SOFT_BREAKS = re.compile("[\x0b\x0c\u2028\u2029]")
LINE_BREAKS = re.compile(r"[ \t]*[\r\n\x0b\x0c\u2028\u2029]+[ \t]*")


def strip_controls(text: str) -> str:
    """`text` without control characters; soft line and page breaks become newlines."""
    return CONTROLS.sub("", SOFT_BREAKS.sub("\n", text))


def one_line(text: str) -> str:
    """`text` on one line, without control characters: for headlines, names, captions."""
    return CONTROLS.sub("", LINE_BREAKS.sub(" ", text))


def clean_text_fields(instance: models.Model) -> None:
    """Strip control characters from every text field of `instance` before it is saved, so no
    entry point (the admin, the importer, an API, the shell) can store one: one-line fields
    (CharField) also lose their line breaks."""
    for field in instance._meta.concrete_fields:
        if not isinstance(field, models.CharField | models.TextField):
            continue
        value = getattr(instance, field.attname)
        if not value or not isinstance(value, str):
            continue
        clean = strip_controls(value) if isinstance(field, models.TextField) else one_line(value)
        if clean != value:
            setattr(instance, field.attname, clean)
