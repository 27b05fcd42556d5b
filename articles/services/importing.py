"""Importing the outlet's text files.

    paths → `reading.read_stories` (read, parse, render the body; no database)
          → `prepare_batch` (one lookup per batch: which stories exist, which slugs are taken;
            updates applied, one savepoint per file)
          → `inserting.insert_new` (the one way a story is created: a bulk insert of the
            batch's new stories, retried one savepoint per story when the database refuses it)

Identity is the normalised headline (`Article.import_key`): importing a story again, under any
file name, updates it when the file says something new and otherwise reports "unchanged". Each
batch is one transaction and each file is all-or-nothing. Big imports run these stages as a
pipeline (`pipeline`): parsing in worker processes, inserting in a writer thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache, partial
from itertools import chain, islice
from pathlib import Path

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import DatabaseError, transaction
from django.db.models import F
from taggit.models import TaggedItem

from newsroom.slugs import next_free_slug

from ..body import check_text_length
from ..models import ARTICLE_HISTORY, Article, Section, article_slug
from ..parsing import ParseError
from . import pipeline
from .import_types import ImportOptions, ImportResult, Outcome
from .inserting import NewStory, insert_new, make_tags, reason
from .reading import PreparedStory, ReadPolicy, read_stories

DEFAULT_SECTION_SLUG = "news"
# Files per transaction: big enough that a batch's few queries and its commit cost little per
# file, small enough that the batches in flight (one read ahead, one being prepared, one per
# writer) hold little memory: at 250 the command's peak at 10,000 files was 7.5% above its peak
# at 1,000, at 125 about 3%, for the same speed.
BATCH_SIZE = 125
# Validated in Python on every imported row: lengths and URLs. Relations are left to the
# database, which checks them anyway (validating them here costs a query per file).
FIELDS_NOT_CHECKED = ["section", "authors", "related", "tags"]

Item = tuple[str, PreparedStory | ParseError]


@dataclass(frozen=True)
class ExistingStory:
    """An imported story already stored, as a re-import compares with it: the row, and its
    byline ids and tag names (loaded only when the import sets those)."""

    article: Article
    author_ids: frozenset[int] = frozenset()
    tag_names: frozenset[str] = frozenset()


@dataclass
class Batch:
    """A batch prepared for writing: results so far (None where a new story waits to be
    inserted), the new stories, and their keys and slugs (fixed when the batch is made)."""

    results: list[ImportResult | None]
    new: list[NewStory]
    keys: frozenset[str] = frozenset()
    slugs: frozenset[str] = frozenset()


def import_paths(
    paths: Iterable[Path],
    *,
    options: ImportOptions,
    batch_size: int = BATCH_SIZE,
    parse_workers: int = 0,
    writers: int = 1,
    link_roots: tuple[str, ...] = (),
    keep_parts: bool = True,
) -> Iterator[ImportResult]:
    """Import every file, yielding one result per file, in order. Bad files fail alone. With
    `parse_workers` and more than one batch of files, the stages run as a pipeline, `writers`
    batches inserted side by side (PostgreSQL's share, mostly building search vectors, then
    runs on as many cores; each writer holds a batch and a connection). Symbolic
    links are refused, unless they point to a file inside `link_roots` (see `reading`). Without
    `keep_parts`, results carry no parsed parts (`ReadPolicy`)."""
    policy = ReadPolicy(settings.NEWSROOM_IMPORT_MAX_BYTES, link_roots, keep_parts)
    files = iter(paths)
    batches = iter(lambda: list(islice(files, batch_size)), [])
    head = list(islice(batches, 2))
    if parse_workers < 1 or len(head) < 2:  # a small import is not worth starting processes
        for batch in chain(head, batches):
            yield from import_batch(read_stories(batch, policy=policy), options=options)
        return
    item_batches = pipeline.read_ahead(
        chain(head, batches), read=partial(read_stories, policy=policy), workers=parse_workers
    )
    if not pipeline.can_write_behind():
        for items in item_batches:
            yield from import_batch(items, options=options)
        return
    make_tags(options.tags)
    yield from pipeline.write_behind(
        item_batches,
        keys_of=lambda items: {s.key for _, s in items if isinstance(s, PreparedStory)},
        prepare=lambda items, taken: prepare_batch(items, options=options, also_taken=taken),
        write=lambda batch: insert_new(batch, options),
        writers=writers,
    )


def import_batch(items: list[Item], *, options: ImportOptions) -> list[ImportResult]:
    """Store a batch of read files in one transaction."""
    with transaction.atomic():
        batch = prepare_batch(items, options=options)
        insert_new(batch, options)
    return batch.results


# --- preparing a batch ---------------------------------------------------------------------------


def prepare_batch(
    items: list[Item], *, options: ImportOptions, also_taken: frozenset[str] = frozenset()
) -> Batch:
    """Look the batch's stories up, apply updates, and make (unsaved) articles of the new ones.
    `also_taken` are slugs being inserted elsewhere and not yet visible."""
    stories = [story for _, story in items if isinstance(story, PreparedStory)]
    existing = _existing({story.key for story in stories}, options)
    bases = {article_slug(story.parsed.headline) for story in stories}
    taken = set(Article.objects.filter(slug__in=bases).values_list("slug", flat=True))
    taken |= also_taken
    section = options.section or Section.objects.get(slug=DEFAULT_SECTION_SLUG)

    batch = Batch(results=[], new=[])
    checks = FieldChecks()
    waiting: set[str] = set()  # keys of the new stories not yet inserted
    for name, story in items:
        if isinstance(story, ParseError):
            batch.results.append(ImportResult(name, Outcome.FAILED, reason=str(story)))
            continue
        if story.key in waiting:
            # The same story twice in one batch: store the first before comparing.
            insert_new(batch, options)
            waiting.clear()
        if story.key in existing:
            result, existing[story.key] = _update(name, story, existing[story.key], options)
            batch.results.append(result)
            continue
        try:
            article = _new_article(story, options, section, taken, checks)
        except ValidationError as exc:
            batch.results.append(ImportResult(name, Outcome.FAILED, reason=reason(exc)))
            continue
        batch.new.append(NewStory(len(batch.results), name, story, article))
        waiting.add(story.key)
        existing[story.key] = ExistingStory(article, options.author_ids, options.tag_names)
        batch.results.append(None)
    batch.keys = frozenset(waiting)
    batch.slugs = frozenset(new.article.slug for new in batch.new)
    return batch


def _existing(keys: set[str], options: ImportOptions) -> dict[str, ExistingStory]:
    """Imported stories with these keys, with byline ids and tag names when the import sets
    those: at most three queries for a whole batch."""
    articles = {a.pk: a for a in Article.objects.filter(import_key__in=keys).defer("search_vector")}
    authors: dict[int, set[int]] = {pk: set() for pk in articles}
    tags: dict[int, set[str]] = {pk: set() for pk in articles}
    if articles and options.authors is not None:
        rows = Article.authors.through.objects.filter(article_id__in=articles)
        for article_id, author_id in rows.values_list("article_id", "author_id"):
            authors[article_id].add(author_id)
    if articles and options.tags is not None:
        rows = TaggedItem.objects.filter(
            content_type=ContentType.objects.get_for_model(Article), object_id__in=articles
        )
        for object_id, name in rows.values_list("object_id", "tag__name"):
            tags[object_id].add(name.lower())
    return {
        article.import_key: ExistingStory(article, frozenset(authors[pk]), frozenset(tags[pk]))
        for pk, article in articles.items()
    }


def _story_values(story: PreparedStory, options: ImportOptions) -> dict:
    """The fields an import sets, from the file and the options given. Editors' other work
    (pictures, standfirst, related stories) is never touched by a re-import."""
    parsed = story.parsed
    source = parsed.source
    values = {
        "headline": parsed.headline,
        "body": story.body_html,
        "source_name": source.name if source else "",
        "source_url": _valid_url(source.url) if source else "",
        "source_label": source.label[:300] if source else "",
        "previous_title": parsed.previous_title,
        "next_title": parsed.next_title,
    }
    if options.section is not None:
        values["section_id"] = options.section.pk  # an id: comparing it costs no query
    for name in ("is_featured", "is_breaking", "published_at"):
        if getattr(options, name) is not None:
            values[name] = getattr(options, name)
    if options.dated_by_file and story.modified is not None:
        values["published_at"] = datetime.fromtimestamp(int(story.modified), tz=UTC)
    return values


class FieldChecks:
    """`clean_fields` for a batch's new articles, each value checked once: most fields hold the
    same value in every row (the options' and the model's defaults; the language's check alone
    walks every language there is), and a value found valid is valid again. The file's own
    fields (headline, source, slug…) differ from row to row and are checked every time; the
    body's one check, its text's length, is made from the length the file's reading found."""

    def __init__(self) -> None:
        self.valid: dict[str, object] = {}  # attname → a value `clean` left as it was

    def clean(self, article: Article, story: PreparedStory) -> None:
        try:
            check_text_length(story.text_length)
        except ValidationError as exc:
            raise ValidationError({"body": exc.error_list}) from None
        exclude = {*FIELDS_NOT_CHECKED, "body"}  # a set: `clean_fields` asks it of every field
        fields = [f for f in article._meta.fields if f.name not in exclude]
        for field in fields:
            if field.attname in self.valid and _same(
                getattr(article, field.attname), self.valid[field.attname]
            ):
                exclude.add(field.name)
        before = {field.attname: getattr(article, field.attname) for field in fields}
        article.clean_fields(exclude=exclude)
        for attname, value in before.items():
            if getattr(article, attname) is value:
                self.valid[attname] = value


def _same(value, known) -> bool:
    return type(value) is type(known) and value == known


def _new_article(
    story: PreparedStory,
    options: ImportOptions,
    default_section: Section,
    taken: set[str],
    checks: FieldChecks,
) -> Article:
    """A validated, unsaved article with a free slug and its derived fields set."""
    values = _story_values(story, options)
    base = article_slug(story.parsed.headline)
    if base in taken:
        # A headline collision: find the suffixes already used for this base.
        taken |= set(Article.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    slug = next_free_slug(base, taken)
    values.pop("section_id", None)
    article = Article(
        import_key=story.key,
        slug=slug,
        status=options.status,
        section=options.section or default_section,  # the instance: its address costs no query
        headline_key=story.key,  # derived fields, computed with the parse
        word_count=story.word_count,
        **values,
    )
    if article.status == Article.Status.PUBLISHED:
        article.mark_published(values.get("published_at"))
    checks.clean(article, story)
    taken.add(slug)
    return article


def _update(
    name: str, story: PreparedStory, existing: ExistingStory, options: ImportOptions
) -> tuple[ImportResult, ExistingStory]:
    """Bring a stored story up to date with its file, all of it or none of it."""
    article = existing.article
    values = _story_values(story, options)
    changed = [key for key, value in values.items() if getattr(article, key) != value]
    new_authors = options.authors is not None and existing.author_ids != options.author_ids
    new_tags = options.tags is not None and existing.tag_names != options.tag_names
    if not (changed or new_authors or new_tags):
        return ImportResult(name, Outcome.UNCHANGED, article.pk, story=story), existing
    try:
        with (
            transaction.atomic(),
            ARTICLE_HISTORY.recorded(
                article, by=None, reason=f"Updated by import from {Path(name).name}"
            ),
        ):
            for field_name in changed:
                setattr(article, field_name, values[field_name])
            article.clean_fields(exclude=FIELDS_NOT_CHECKED)
            # A new version: an editor's form opened before the import is told, not overwritten.
            article.version = F("version") + 1
            article.save(update_fields=[*changed, "version", "updated_at"])
            if new_authors:
                article.authors.set(options.authors)
            if new_tags:
                article.tags.set(list(options.tags))
    except (DatabaseError, ValidationError) as exc:
        return ImportResult(name, Outcome.FAILED, reason=reason(exc)), existing
    shown = [field_name.removesuffix("_id") for field_name in changed]
    shown += ["authors"] * new_authors + ["tags"] * new_tags
    updated = ExistingStory(
        article,
        options.author_ids if new_authors else existing.author_ids,
        options.tag_names if new_tags else existing.tag_names,
    )
    return ImportResult(
        name, Outcome.UPDATED, article.pk, changed=tuple(shown), story=story
    ), updated


@lru_cache(maxsize=4096)  # syndicated stories repeat a few sources' links
def _valid_url(url: str) -> str:
    """The URL if it is one a reader could follow; a mangled link is dropped, not fatal (the
    source line is kept in `source_label`)."""
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        return ""
    return url
