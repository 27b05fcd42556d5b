"""What an import is asked (`ImportOptions`) and what it answers for each file (`ImportResult`)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from accounts.models import Author

from ..models import Article, Section
from .reading import PreparedStory


class Outcome(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    FAILED = "failed"


@dataclass(frozen=True)
class ImportOptions:
    """What the person importing chose. `None` means "leave as it is" on an update and the
    default on a new article."""

    section: Section | None = None
    authors: tuple[Author, ...] | None = None
    tags: tuple[str, ...] | None = None
    status: str = Article.Status.REVIEW
    published_at: datetime | None = None
    dated_by_file: bool = False  # published at each file's modification time
    is_featured: bool | None = None
    is_breaking: bool | None = None

    @property
    def author_ids(self) -> frozenset[int]:
        return frozenset(author.pk for author in self.authors or ())

    @property
    def tag_names(self) -> frozenset[str]:
        return frozenset(tag.lower() for tag in self.tags or ())


@dataclass(frozen=True)
class ImportResult:
    name: str
    outcome: Outcome
    article_id: int | None = None
    reason: str = ""
    changed: tuple[str, ...] = ()
    story: PreparedStory | None = field(default=None, repr=False)
    # Of a created story: the story, its section's name, status and time.
    article: Article | None = field(default=None, repr=False, compare=False)
    section: str = ""
    status: str = ""
    published_at: datetime | None = None

    @property
    def address(self) -> str:
        """Where readers will find a created story (worked out when asked: a big import
        reports none)."""
        return self.article.get_absolute_url() if self.article is not None else ""
