"""The newsroom's content: sections, stories, their corrections and workflow moves."""

from .article import (
    ARTICLE_HISTORY,
    LARGE_PICTURE_WIDTH,
    READING_WORDS_PER_MINUTE,
    SLUG_MAX_LENGTH,
    Article,
    article_slug,
    to_the_second,
)
from .live import LiveEntry
from .queries import ArticleQuerySet, CorrectionQuerySet, archive_range, visible, with_bylines
from .records import (
    Correction,
    OldAddress,
    PreviewLink,
    StoryDraft,
    Takedown,
    Transition,
)
from .section import RESERVED_SECTION_SLUGS, Section, validate_section_slug

__all__ = [
    "ARTICLE_HISTORY",
    "READING_WORDS_PER_MINUTE",
    "LARGE_PICTURE_WIDTH",
    "RESERVED_SECTION_SLUGS",
    "SLUG_MAX_LENGTH",
    "Article",
    "ArticleQuerySet",
    "Correction",
    "LiveEntry",
    "OldAddress",
    "PreviewLink",
    "CorrectionQuerySet",
    "LiveEntry",
    "Section",
    "StoryDraft",
    "Takedown",
    "Transition",
    "archive_range",
    "article_slug",
    "to_the_second",
    "validate_section_slug",
    "visible",
    "with_bylines",
]
