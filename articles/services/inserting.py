"""The importer's last stage: inserting a batch's new stories (see `importing`).

The one way an imported story is created: the batch's new stories in one bulk insert with their
bylines and tags; when the database refuses it, one savepoint per story, so a bad row fails
alone. On PostgreSQL the rows go in by COPY (`newsroom.copying`): the same rows `bulk_create`
would insert, without compiling a placeholder per column of every row (Django cannot pass
`search_vector`, a `tsvector`, as an array, so a bulk insert of stories is one VALUES list of
40 columns a row). `search_vector` is left to the trigger that fills it on every insert
(migration 0004), as it was before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from taggit.models import Tag, TaggedItem

from newsroom.copying import copy_insert, copy_rows

from .. import signals
from ..models import Article
from .import_types import ImportOptions, ImportResult, Outcome
from .reading import PreparedStory

FILLED_BY_THE_DATABASE = ("search_vector",)  # by the trigger of migration 0004


@dataclass
class NewStory:
    """A story of the batch to insert, and where its result goes."""

    index: int
    name: str
    story: PreparedStory
    article: Article


class Waiting(Protocol):
    """A batch's results so far (None where a new story waits) and its new stories."""

    results: list[ImportResult | None]
    new: list[NewStory]


def insert_new(batch: Waiting, options: ImportOptions) -> None:
    """Insert the batch's new stories with their bylines and tags, and put in their results."""
    if batch.new:
        _insert(batch.new, batch.results, options)
        batch.new = []


def _insert(new: list[NewStory], results: list, options: ImportOptions) -> None:
    try:
        with transaction.atomic():
            _create([story.article for story in new], options)
    except DatabaseError as exc:
        if len(new) == 1:
            [story] = new
            results[story.index] = ImportResult(story.name, Outcome.FAILED, reason=reason(exc))
            return
        for story in new:  # one bad row spoils a bulk insert: find it by trying each alone
            _insert([story], results, options)
        return
    for story in new:
        article = story.article
        results[story.index] = ImportResult(
            story.name,
            Outcome.CREATED,
            article.pk,
            story=story.story,
            article=article,
            section=article.section.name,
            status=article.status,
            published_at=article.published_at,
        )


def _create(articles: list[Article], options: ImportOptions) -> None:
    for article in articles:
        article.pk = None  # a refused attempt may have left ids behind
    by_copy = _by_copy()
    if by_copy:
        copy_insert(articles, skip=FILLED_BY_THE_DATABASE)
    else:
        Article.objects.bulk_create(articles)
    if options.authors:
        through = Article.authors.through
        pairs = [(article.pk, author.pk) for article in articles for author in options.authors]
        if by_copy:
            copy_rows(through._meta.db_table, ["article_id", "author_id"], pairs)
        else:
            through.objects.bulk_create([through(article_id=a, author_id=b) for a, b in pairs])
    tags = [_tag(name) for name in dict.fromkeys(options.tags or ())]
    if tags:
        content_type = ContentType.objects.get_for_model(Article)
        TaggedItem.objects.bulk_create(
            [
                TaggedItem(content_type=content_type, object_id=article.pk, tag=tag)
                for article in articles
                for tag in tags
            ]
        )
    lists = (frozenset(tag.pk for tag in tags), frozenset(a.pk for a in options.authors or ()))
    signals.stories_inserted.send(
        sender=Article, articles=articles, lists=dict.fromkeys((a.pk for a in articles), lists)
    )


def make_tags(names) -> None:
    """Make the tags of `names` that do not exist yet, before an import's batches are written
    side by side (two transactions making the same new tag: one would be refused)."""
    for name in dict.fromkeys(names or ()):
        _tag(name)


def _tag(name: str) -> Tag:
    # Tags are case-insensitive (TAGGIT_CASE_INSENSITIVE): "Ukraine" and "ukraine" are one.
    return Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(name=name)


def reason(exc: Exception) -> str:
    """What an editor is told of a file refused: the validation errors, or the database's."""
    if isinstance(exc, ValidationError):
        messages = (
            [f"{name}: {' '.join(errors)}" for name, errors in exc.message_dict.items()]
            if hasattr(exc, "error_dict")
            else exc.messages
        )
        return "not valid: " + "; ".join(messages)
    text = str(exc).strip()
    return f"database refused it: {text.splitlines()[0] if text else exc}"


def _by_copy() -> bool:
    return connection.vendor == "postgresql"
