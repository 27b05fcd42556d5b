"""What an editor checks before publishing, at a glance: each item passed or not, and whether it
blocks publication (those the workflow refuses on the server too: `workflow.check_publishable`)
or only warns. Shown on the story's admin page beside its publishing buttons."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from ..models import Article
from . import media

HEADLINE_LIMIT = 110  # what search engines show of a headline (JSON-LD `headline`)
SEO_LIMIT = 65  # a search result's title
SOCIAL_LIMIT = 100  # a link preview's title
STANDFIRST_LIMIT = 300


@dataclass(frozen=True)
class Check:
    label: str
    ok: bool
    blocking: bool = False
    detail: str = ""


def _length(label: str, text: str, limit: int) -> Check:
    return Check(f"{label}: {len(text)} of {limit} characters", len(text) <= limit)


def publishing_checklist(article: Article) -> list[Check]:
    """The checklist for `article` as it is (saved or being edited). Two queries at most (its
    bylines, the body's pictures); none for a story not saved yet beyond the body's."""
    hero = article.hero_image if article.hero_image_id else None
    bylines = article.authors.exists() if article.pk else False
    undescribed = media.undescribed_pictures(article.body)
    checks = [
        _length("Headline", article.headline, HEADLINE_LIMIT),
        Check(
            "Standfirst",
            0 < len(article.standfirst) <= STANDFIRST_LIMIT,
            detail="" if article.standfirst else "The line under the headline is empty.",
        ),
        Check(
            "Picture",
            hero is not None,
            detail="" if hero else "Cards and link previews will be plain.",
        ),
        Check(
            "Picture described (alt text)",
            hero is None or bool(hero.alt_text.strip()),
            blocking=True,
            detail="" if hero is None or hero.alt_text.strip() else "Describe it in Pictures.",
        ),
        Check("Body pictures described", not undescribed, blocking=True, detail=undescribed),
        Check("Byline", bylines, detail="" if bylines else "No author: it shows no byline."),
        Check("Section", bool(article.section_id), blocking=True),
    ]
    if article.is_embargoed:
        when = timezone.localtime(article.embargo_until).strftime("%H:%M on %d %b %Y")
        detail = f"Embargoed until {when}: “Publish now” puts it out then, not sooner."
        checks.append(Check("Embargo", False, detail=detail))
    if article.seo_headline:
        checks.append(_length("SEO headline", article.seo_headline, SEO_LIMIT))
    if article.social_headline:
        checks.append(_length("Social headline", article.social_headline, SOCIAL_LIMIT))
    return checks
