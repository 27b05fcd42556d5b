"""A story's workflow states, shared by the model and its queries."""

from django.db import models


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    REVIEW = "review", "In review"
    PUBLISHED = "published", "Published"
    WITHDRAWN = "withdrawn", "Withdrawn"


class WithdrawalReason(models.TextChoices):
    EDITORIAL = "editorial", "Editorial decision"
    LEGAL = "legal", "Legal takedown"


class LiveStatus(models.TextChoices):
    """Whether a story is a live blog, and whether its coverage is running."""

    NONE = "", "Not a live blog"
    LIVE = "live", "Live now"
    ENDED = "ended", "Coverage ended"


class EntryStatus(models.TextChoices):
    PENDING = "pending", "Awaiting approval"
    PUBLISHED = "published", "Published"
    REMOVED = "removed", "Removed"


# --- the language a story is written in --------------------------------------------------------
# Django's own list of languages (settings.LANGUAGES), so the choices follow Django's releases
# without a migration each time; stored as Django writes them ("en-gb", "cy", "zh-hans").
# Google News takes ISO 639 codes, but Chinese as zh-cn and zh-tw.
NEWS_LANGUAGE_EXCEPTIONS = {"zh-hans": "zh-cn", "zh-hant": "zh-tw"}


def language_choices():
    from django.conf import settings

    return settings.LANGUAGES


def default_language() -> str:
    from django.conf import settings

    return settings.LANGUAGE_CODE


def language_tag(code: str) -> str:
    """The BCP 47 tag of a stored language, for `lang` and `inLanguage`: "en-gb" is "en-GB"."""
    language, _, region = code.partition("-")
    return (
        f"{language}-{region.upper() if len(region) == 2 else region.title()}" if region else code
    )


def news_language(code: str) -> str:
    """The language as the Google News sitemap wants it: "en-gb" is "en"."""
    return NEWS_LANGUAGE_EXCEPTIONS.get(code, code.partition("-")[0])
