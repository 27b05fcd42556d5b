"""Admin form data for tests: what a browser would send back from a rendered change form, and
a forged POST built from a row (what someone bypassing the form could send)."""

from __future__ import annotations

from datetime import datetime
from html.parser import HTMLParser

from django.utils import timezone

from articles.models import Article

SKIPPED_INPUTS = {"submit", "button", "reset", "image", "file"}
DATETIME_FIELDS = ("published_at", "revised_at", "breaking_until", "embargo_until", "unpublish_at")
FLAG_FIELDS = ("is_breaking", "is_featured", "sponsored", "legal_hold", "no_syndication")


class _FormReader(HTMLParser):
    """Collects the values of one form's controls the way a browser submits them."""

    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.values: list[tuple[str, str]] = []
        self._select: dict | None = None
        self._option: dict | None = None
        self._textarea: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = {name: (value if value is not None else "") for name, value in attrs}
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
            return
        if not self.inside:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text").lower()
            if kind in SKIPPED_INPUTS or "disabled" in attrs:
                return
            if kind in {"checkbox", "radio"}:
                if "checked" in attrs:
                    self.values.append((name, attrs.get("value", "on")))
                return
            self.values.append((name, attrs.get("value", "")))
        elif tag == "select" and name:
            self._select = {"name": name, "multiple": "multiple" in attrs, "options": []}
        elif tag == "option" and self._select is not None:
            self._option = {
                "value": attrs.get("value"),
                "text": "",
                "selected": "selected" in attrs,
            }
            self._select["options"].append(self._option)
        elif tag == "textarea" and name:
            self._textarea = {"name": name, "text": ""}

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea["text"] += data
        elif self._option is not None:
            self._option["text"] += data

    def handle_endtag(self, tag):
        if tag == "form" and self.inside:
            self.inside = False
        elif tag == "option":
            self._option = None
        elif tag == "select" and self._select is not None:
            options = self._select["options"]
            chosen = [o for o in options if o["selected"]]
            if not chosen and options and not self._select["multiple"]:
                chosen = options[:1]
            for option in chosen:
                value = option["value"] if option["value"] is not None else option["text"]
                self.values.append((self._select["name"], value))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            text = self._textarea["text"]
            # Browsers drop the newline that directly follows <textarea>.
            self.values.append((self._textarea["name"], text.removeprefix("\n")))
            self._textarea = None


def form_data(response, *, form_id: str = "article_form") -> dict[str, str | list[str]]:
    """The data a browser would POST back from the form in `response`, unchanged."""
    reader = _FormReader(form_id)
    reader.feed(response.content.decode())
    reader.close()
    data: dict[str, list[str]] = {}
    for name, value in reader.values:
        data.setdefault(name, []).append(value)
    assert data, f"no form #{form_id} in the page"
    return {name: values[0] if len(values) == 1 else values for name, values in data.items()}


def split_datetime(name: str, moment: datetime | None) -> dict[str, str]:
    """The admin's two inputs (date, time) for a datetime, in newsroom time."""
    if moment is None:
        return {f"{name}_0": "", f"{name}_1": ""}
    local = timezone.localtime(moment)
    return {f"{name}_0": local.strftime("%Y-%m-%d"), f"{name}_1": local.strftime("%H:%M:%S")}


def article_post_data(article: Article, **changes) -> dict:
    """Every field of the article change form, filled from the row, then `changes` (a datetime
    for a date field, True/False for a flag). Sent without looking at the form first, as a
    forged request would be: fields the user may not change are in it too."""
    data = {
        "headline": article.headline,
        "slug": article.slug,
        "standfirst": article.standfirst,
        "body": article.body,
        "edit_version": str(article.version) if article.pk else "",
        "hero_image": str(article.hero_image_id or ""),
        "section": str(article.section_id),
        "language": article.language,
        "authors": [str(pk) for pk in article.authors.values_list("pk", flat=True)]
        if article.pk
        else [],
        "tags": ", ".join(article.tags.names()) if article.pk else "",
        "status": article.status,
        "seo_headline": article.seo_headline,
        "social_headline": article.social_headline,
        "source_name": article.source_name,
        "source_url": article.source_url,
        "previous_title": article.previous_title,
        "next_title": article.next_title,
        "corrections-TOTAL_FORMS": "0",
        "corrections-INITIAL_FORMS": "0",
        "corrections-MIN_NUM_FORMS": "0",
        "corrections-MAX_NUM_FORMS": "1000",
        # The story's old addresses, shown read-only: none posted.
        "old_addresses-TOTAL_FORMS": "0",
        "old_addresses-INITIAL_FORMS": "0",
        "old_addresses-MIN_NUM_FORMS": "0",
        "old_addresses-MAX_NUM_FORMS": "1000",
    }
    for name in DATETIME_FIELDS:
        data.update(split_datetime(name, getattr(article, name)))
    for name in FLAG_FIELDS:
        if getattr(article, name):
            data[name] = "on"
    for name, value in changes.items():
        if name in DATETIME_FIELDS:
            data.update(split_datetime(name, value))
        elif value is True:
            data[name] = "on"
        elif value is False or value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data
