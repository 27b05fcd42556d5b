"""Article services: importing the outlet's text files.

Import = file bytes → `parsing.parse_bytes` (pure) → `import_parsed_article` (one savepoint per
file) → rows. Identity is the normalised headline (`Article.import_key`): importing a story again,
under any file name, updates it when something changed and otherwise reports "unchanged".
Files are imported in batches, one transaction per batch and a savepoint per file, so each
file stays all-or-nothing while the batch pays for one commit.
"""

from __future__ import annotations

import enum
import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain, islice
from pathlib import Path

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from taggit.models import Tag, TaggedItem

from accounts.models import Author
from newsroom.cache import content_changed

from ..models import Article, Section, base_slug, next_free_slug
from ..parsing import ParsedArticle, ParseError, read_files

DEFAULT_SECTION_SLUG = "news"
DIRECTORY_SUFFIXES = {".txt", ".text"}
# Fields an import sets from the file; editors' other work (images, standfirst, related
# stories, tags chosen in the admin) is never touched by a re-import.
CONTENT_FIELDS = (
    "headline",
    "body",
    "source_name",
    "source_url",
    "source_label",
    "previous_title",
    "next_title",
)

# Field validation runs on every imported row (lengths, URLs); these are left out because the
# database checks them anyway and validating them in Python costs a query per file.
FIELDS_NOT_CHECKED = ["section", "authors", "related", "tags"]


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
    status: str = Article.Status.PUBLISHED
    published_at: datetime | None = None
    is_featured: bool | None = None
    is_breaking: bool | None = None


@dataclass(frozen=True)
class ImportResult:
    name: str
    outcome: Outcome
    article_id: int | None = None
    reason: str = ""
    changed: tuple[str, ...] = ()
    parsed: ParsedArticle | None = field(default=None, repr=False)


def expand_paths(arguments: Iterable[str]) -> Iterator[Path]:
    """Files named by command-line arguments: files as given, directories searched (recursively,
    in name order) for `.txt` files, and glob patterns expanded. A path that matches nothing is
    still yielded, so that it is reported as missing rather than silently skipped."""
    import glob

    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    if Path(name).suffix.lower() in DIRECTORY_SUFFIXES and not name.startswith("."):
                        yield Path(root) / name
        elif not path.exists() and glob.has_magic(argument):
            matches = sorted(glob.iglob(argument, recursive=True))
            if not matches:
                yield path
            for match in matches:
                if Path(match).is_file():
                    yield Path(match)
        else:
            yield path


def import_paths(
    paths: Iterable[Path],
    *,
    options: ImportOptions,
    batch_size: int = 250,
    parse_workers: int = 0,
) -> Iterator[ImportResult]:
    """Import every file, yielding one result per file, in order. Bad files fail alone.

    With `parse_workers`, files are read and parsed in other processes, one batch ahead of the
    batch being written, so parsing and the database work at the same time. Only two batches
    are ever in memory, however many files there are."""
    max_bytes = settings.NEWSROOM_IMPORT_MAX_BYTES
    files = iter(paths)
    batches = iter(lambda: list(islice(files, batch_size)), [])
    head = list(islice(batches, 2))
    if parse_workers < 1 or len(head) < 2:  # a small import is not worth starting processes
        for batch in chain(head, batches):
            yield from import_batch(read_files(batch, max_bytes=max_bytes), options=options)
        return
    # "spawn": a forked child would share this process's database connection.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=parse_workers, mp_context=context) as pool:
        ahead = deque()

        def parsed_batches():
            for batch in chain(head, batches):
                ahead.append(pool.submit(read_files, batch, max_bytes=max_bytes))
                if len(ahead) > parse_workers:
                    yield ahead.popleft().result()
            while ahead:
                yield ahead.popleft().result()

        # A second writer needs a transaction of its own and a database that takes two
        # writers: not inside a caller's transaction (a dry run), not on SQLite.
        if connection.in_atomic_block or connection.vendor == "sqlite":
            for items in parsed_batches():
                yield from import_batch(items, options=options)
        else:
            yield from _import_pipelined(parsed_batches(), options=options)


@dataclass
class _Batch:
    """A batch prepared for writing: results so far (None where a new story waits to be
    inserted), the new stories, and their keys and slugs."""

    results: list[ImportResult | None]
    pending: list[tuple[int, str, ParsedArticle, Article]]
    # Fixed when the batch is made: the writer thread empties `pending` as it goes.
    keys: frozenset[str] = frozenset()
    slugs: frozenset[str] = frozenset()


def _import_pipelined(item_batches, *, options: ImportOptions) -> Iterator[ImportResult]:
    """Prepare each batch here while a writer thread, on its own database connection, inserts
    the previous one: Python's work and the database's overlap. Each batch still commits as a
    whole (and each file stays all-or-nothing); results come out in order, a batch behind."""
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-writer")
    flying: tuple[Future, _Batch] | None = None
    try:
        for items in item_batches:
            if (
                flying
                and {i.key for _, i in items if isinstance(i, ParsedArticle)} & flying[1].keys
            ):
                flying[0].result()  # a story of this batch is being inserted: let it land first
            taken = flying[1].slugs if flying and not flying[0].done() else set()
            with transaction.atomic():
                batch = _prepare_batch(items, options=options, also_taken=taken)
            if flying:
                flying[0].result()
                yield from flying[1].results
            flying = (writer.submit(_write_batch, batch, options), batch)
        if flying:
            flying[0].result()
            yield from flying[1].results
    finally:
        writer.submit(_close_connection).result()  # the writer thread's own connection
        writer.shutdown()


def _close_connection() -> None:
    connection.close()  # `connection` is per thread: this closes the calling thread's


def _write_batch(batch: _Batch, options: ImportOptions) -> None:
    with transaction.atomic():
        _flush(batch.pending, batch.results, options)


def import_batch(
    items: list[tuple[str, ParsedArticle | ParseError]], *, options: ImportOptions
) -> list[ImportResult]:
    """Store parsed articles in one transaction. New stories go in with one bulk insert per
    batch; if the database refuses it, they are retried one savepoint each, so a bad file
    fails alone and leaves nothing behind. Updates get a savepoint each."""
    with transaction.atomic():
        batch = _prepare_batch(items, options=options)
        _flush(batch.pending, batch.results, options)
    return batch.results


def _prepare_batch(
    items: list[tuple[str, ParsedArticle | ParseError]],
    *,
    options: ImportOptions,
    also_taken: set[str] = frozenset(),
) -> _Batch:
    """Look the batch's stories up, apply updates, and make (unsaved) articles of the new ones.
    `also_taken` are slugs being inserted elsewhere and not yet visible."""
    stories = [item for _, item in items if isinstance(item, ParsedArticle)]
    keys = {story.key for story in stories}
    existing = _existing_articles(keys, options)
    bases = {base_slug(story.headline) for story in stories}
    taken_slugs = set(Article.objects.filter(slug__in=bases).values_list("slug", flat=True))
    taken_slugs |= set(also_taken)
    section = options.section or Section.objects.get(slug=DEFAULT_SECTION_SLUG)

    results: list[ImportResult | None] = []
    pending: list[tuple[int, str, ParsedArticle, Article]] = []
    pending_keys: set[str] = set()
    for name, item in items:
        if isinstance(item, ParseError):
            results.append(ImportResult(name, Outcome.FAILED, reason=str(item)))
            continue
        key = item.key
        if key in pending_keys:
            # The same story twice in one batch: store the first before comparing.
            _flush(pending, results, options)
            pending_keys.clear()
        if key not in existing:
            try:
                article = _new_article(item, key, options, section, taken_slugs)
            except ValidationError as exc:
                results.append(ImportResult(name, Outcome.FAILED, reason=_reason(exc)))
                continue
            pending.append((len(results), name, item, article))
            pending_keys.add(key)
            existing[key] = article
            results.append(None)
            continue
        try:
            result = import_parsed_article(item, options=options, existing=existing, name=name)
        except (DatabaseError, ValidationError) as exc:
            result = ImportResult(name, Outcome.FAILED, reason=_reason(exc))
        results.append(result)
    return _Batch(
        results,
        pending,
        keys=frozenset(article.import_key for *_, article in pending),
        slugs=frozenset(article.slug for *_, article in pending),
    )


def _flush(pending, results, options) -> None:
    """Insert the batch's new articles with their bylines and tags."""
    if not pending:
        return
    articles = [article for *_, article in pending]
    try:
        with transaction.atomic():
            Article.objects.bulk_create(articles)
            _add_bylines_and_tags(articles, options)
        for index, name, parsed, article in pending:
            results[index] = ImportResult(name, Outcome.CREATED, article.pk, parsed=parsed)
    except DatabaseError:
        # One bad row spoils a bulk insert; find it by trying each on its own.
        for index, name, parsed, article in pending:
            article.pk = None
            try:
                with transaction.atomic():
                    article.save(force_insert=True)
                    _add_bylines_and_tags([article], options)
            except (DatabaseError, ValidationError) as exc:
                results[index] = ImportResult(name, Outcome.FAILED, reason=_reason(exc))
            else:
                results[index] = ImportResult(name, Outcome.CREATED, article.pk, parsed=parsed)
    content_changed()  # bulk inserts send no signals
    pending.clear()


def _story_values(parsed: ParsedArticle, options: ImportOptions) -> dict:
    """The fields an import sets, from the file and the options given."""
    values = {
        "headline": parsed.headline,
        "body": parsed.body_html,
        "source_name": parsed.source.name if parsed.source else "",
        "source_url": _valid_url(parsed.source.url) if parsed.source else "",
        "source_label": parsed.source.label[:300] if parsed.source else "",
        "previous_title": parsed.previous_title,
        "next_title": parsed.next_title,
    }
    if options.section is not None:
        values["section_id"] = options.section.pk  # an id: comparing it costs no query
    for flag in ("is_featured", "is_breaking", "published_at"):
        if getattr(options, flag) is not None:
            values[flag] = getattr(options, flag)
    return values


def import_parsed_article(
    parsed: ParsedArticle,
    *,
    options: ImportOptions,
    default_section: Section | None = None,
    existing: dict[str, Article] | None = None,
    name: str = "",
) -> ImportResult:
    """Create the article, update it if the file says something new, or leave it unchanged.
    `existing` lets a batch look rows up once; on its own, the row is queried."""
    key = parsed.key
    if existing is None:
        existing = _existing_articles({key}, options)
    article = existing.get(key)
    if article is None:
        section = default_section or Section.objects.get(slug=DEFAULT_SECTION_SLUG)
        article = _new_article(parsed, key, options, section, taken_slugs=None)
        article.save(force_insert=True)
        _add_bylines_and_tags([article], options)
        existing[key] = article
        return ImportResult(name, Outcome.CREATED, article.pk, parsed=parsed)

    values = _story_values(parsed, options)
    changed = [field for field, value in values.items() if getattr(article, field) != value]
    new_authors = options.authors is not None and article._import_author_ids != {
        a.pk for a in options.authors
    }
    new_tags = options.tags is not None and article._import_tag_names != {
        t.lower() for t in options.tags
    }
    if changed or new_authors or new_tags:
        with transaction.atomic():  # the file's savepoint: all of it or none of it
            for field_name in changed:
                setattr(article, field_name, values[field_name])
            if changed:
                article.clean_fields(exclude=FIELDS_NOT_CHECKED)
                article.save(update_fields=[*changed, "updated_at"])
            if new_authors:
                article.authors.set(options.authors)
                article._import_author_ids = {a.pk for a in options.authors}
                changed.append("authors")
            if new_tags:
                article.tags.set(list(options.tags))
                article._import_tag_names = {t.lower() for t in options.tags}
                changed.append("tags")
    if changed:
        shown = tuple(field.removesuffix("_id") for field in changed)
        return ImportResult(name, Outcome.UPDATED, article.pk, changed=shown, parsed=parsed)
    return ImportResult(name, Outcome.UNCHANGED, article.pk, parsed=parsed)


def _new_article(parsed, key, options, default_section, taken_slugs) -> Article:
    """A validated, unsaved article with a free slug and its derived fields set."""
    values = _story_values(parsed, options)
    base = base_slug(parsed.headline)
    if taken_slugs is None or base in taken_slugs:
        # A headline collision: find the suffixes already used for this base.
        taken_slugs = set(taken_slugs or ()) | set(
            Article.objects.filter(slug__startswith=base).values_list("slug", flat=True)
        )
    slug = next_free_slug(base, taken_slugs)
    values.setdefault("section_id", default_section.pk)
    article = Article(
        import_key=key,
        slug=slug,
        status=options.status,
        headline_key=key,  # derived fields, computed with the parse (in a worker process)
        word_count=parsed.word_count,
        **values,
    )
    if article.status == Article.Status.PUBLISHED and article.published_at is None:
        article.published_at = timezone.now()
    article.clean_fields(exclude=FIELDS_NOT_CHECKED)
    article._import_author_ids = {author.pk for author in options.authors or ()}
    article._import_tag_names = {tag.lower() for tag in options.tags or ()}
    taken_slugs.add(slug)
    return article


def _add_bylines_and_tags(articles: list[Article], options: ImportOptions) -> None:
    """Bylines and tags for newly inserted articles, in two bulk inserts."""
    if options.authors:
        Article.authors.through.objects.bulk_create(
            [
                Article.authors.through(article_id=article.pk, author_id=author.pk)
                for article in articles
                for author in options.authors
            ]
        )
    if options.tags:
        tags = [_tag(name) for name in dict.fromkeys(options.tags)]
        content_type = ContentType.objects.get_for_model(Article)
        TaggedItem.objects.bulk_create(
            [
                TaggedItem(content_type=content_type, object_id=article.pk, tag=tag)
                for article in articles
                for tag in tags
            ]
        )


def _tag(name: str) -> Tag:
    # Tags are case-insensitive (TAGGIT_CASE_INSENSITIVE): "Ukraine" and "ukraine" are one.
    return Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(name=name)


def _valid_url(url: str) -> str:
    """The URL if it is one a reader could follow; a mangled link is dropped, not fatal (the
    source line is kept in `source_label`)."""
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        return ""
    return url


def _existing_articles(keys: set[str], options: ImportOptions) -> dict[str, Article]:
    """Imported articles with these keys, with their byline ids and tag names attached when
    the import sets those: three queries for a whole batch."""
    articles = {a.import_key: a for a in Article.objects.filter(import_key__in=keys)}
    by_pk = {article.pk: article for article in articles.values()}
    for article in by_pk.values():
        article._import_author_ids, article._import_tag_names = set(), set()
    if by_pk and options.authors is not None:
        rows = Article.authors.through.objects.filter(article_id__in=by_pk)
        for article_id, author_id in rows.values_list("article_id", "author_id"):
            by_pk[article_id]._import_author_ids.add(author_id)
    if by_pk and options.tags is not None:
        rows = TaggedItem.objects.filter(
            content_type=ContentType.objects.get_for_model(Article), object_id__in=by_pk
        )
        for object_id, name in rows.values_list("object_id", "tag__name"):
            by_pk[object_id]._import_tag_names.add(name.lower())
    return articles


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        messages = (
            [f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items()]
            if hasattr(exc, "error_dict")
            else exc.messages
        )
        return "not valid: " + "; ".join(messages)
    return f"database refused it: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc}"


def resolve_authors(names: Iterable[str]) -> tuple[Author, ...]:
    """The bylines named, created when new ("Newsroom Reporter" needs no login)."""
    authors = []
    for name in names:
        name = " ".join(name.split())
        author = Author.objects.filter(name__iexact=name).first()
        if author is None:
            author = Author(name=name)
            author.save()
        authors.append(author)
    return tuple(authors)
