"""`manage.py import_articles PATH [PATH ...]`: import the outlet's text files."""

import os
import time
from collections import Counter
from contextlib import nullcontext

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.services import resolve_authors
from articles.models import Article, Section
from articles.parsing import Kind
from articles.services.importing import (
    BATCH_SIZE,
    DEFAULT_SECTION_SLUG,
    ImportOptions,
    Outcome,
    import_paths,
)
from articles.services.reading import expand_paths, link_roots

PROGRESS_EVERY = 500


class Command(BaseCommand):
    help = (
        "Import articles from plain-text files in the outlet's format (headline on the first "
        "line, paragraphs separated by blank lines, • teasers, Source and Previous/Next post "
        "lines). Takes files, directories (searched for .txt files) and glob patterns. "
        "New stories go into review (nothing reaches readers until an editor publishes it); "
        "an archive is imported with --status published --published-at file, which dates each "
        "story by its file. Importing a story again updates it or reports it unchanged; a bad "
        "file is reported and skipped, and the exit status is non-zero when any file failed."
    )
    # The system checks are the code's and settings', which every deployment and server start
    # runs; before each import they cost a quarter of a second, a fifth of the command's start.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH", help="Files, directories, globs.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Parse and report what would be created or changed; write nothing.",
        )
        parser.add_argument(
            "--section",
            metavar="SLUG",
            help="Section for the stories (default: news for new stories; kept on updates).",
        )
        parser.add_argument(
            "--author",
            action="append",
            default=None,
            metavar="NAME",
            dest="authors",
            help="Byline, repeatable; created if new. Without it, bylines are left as they are.",
        )
        parser.add_argument(
            "--tag",
            action="append",
            default=None,
            metavar="TAG",
            dest="tags",
            help="Tag, repeatable. Without it, tags are left as they are.",
        )
        parser.add_argument(
            "--status",
            choices=Article.Status.values,
            default=Article.Status.REVIEW,
            help="Status of new stories (default: review, for an editor to publish). Existing "
            "stories keep theirs.",
        )
        parser.add_argument(
            "--published-at",
            metavar="ISO-8601|file|now",
            help="Publication time: a time such as 2026-11-25T08:00:00Z, “file” for each "
            "file's modification time (an archive copied with its dates: cp -p, rsync -t), or "
            "“now” (the default, for published stories: they lead the front page).",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=BATCH_SIZE,
            help=f"Files per database transaction (default {BATCH_SIZE}; each file still "
            "all-or-nothing).",
        )
        parser.add_argument(
            "--follow-links",
            action="store_true",
            help="Read symbolic links found in the folders given when they point to a file "
            "inside those folders (default: every link found is refused and reported).",
        )
        parser.add_argument(
            "--parse-workers",
            type=int,
            default=None,
            metavar="N",
            help="Processes that read and parse files while the database writes (default: "
            "one per spare CPU, at most 4, for batches of more than one batch; 0: none).",
        )
        parser.add_argument(
            "--writers",
            type=int,
            default=None,
            metavar="N",
            help="Batches inserted side by side on PostgreSQL, each in its own transaction and "
            "connection (default: 2 on a machine of two CPUs or more, else 1): the database's "
            "share, mostly building search vectors, then runs on two cores.",
        )

    def handle(
        self,
        *args,
        paths,
        dry_run,
        section,
        authors,
        tags,
        status,
        published_at,
        batch_size,
        parse_workers,
        writers,
        follow_links,
        verbosity,
        **options,
    ):
        # The section named (new and updated stories go there), else the default one (new
        # stories go there), which must exist: checked before anything is read.
        found = Section.objects.filter(slug=section or DEFAULT_SECTION_SLUG).first()
        if found is None:
            known = ", ".join(Section.objects.values_list("slug", flat=True)) or "none"
            if section:
                raise CommandError(f"Unknown section “{section}”. Known sections: {known}.")
            raise CommandError(
                f"No section “{DEFAULT_SECTION_SLUG}”, where new stories go unless --section "
                f"names another: create it in the admin or pass --section. Known sections: {known}."
            )
        section_obj = found if section else None
        when, by_file = None, published_at == "file"
        if published_at and published_at not in ("file", "now"):
            when = parse_datetime(published_at)
            if when is None:
                raise CommandError(
                    f"--published-at “{published_at}” is not a date and time such as "
                    "2026-11-25T08:00:00Z, nor “file” or “now”."
                )
            if timezone.is_naive(when):
                when = timezone.make_aware(when)
        if parse_workers is None:
            parse_workers = min(4, max(0, (os.cpu_count() or 1) - 1))
        if writers is None:
            writers = min(2, os.cpu_count() or 1)
        if batch_size < 1 or parse_workers < 0 or writers < 1:
            raise CommandError(
                "--batch-size and --writers must be at least 1, --parse-workers at least 0."
            )

        # A dry run does all the work in one transaction and rolls it back, so it reports
        # exactly what a real run would do (slug collisions, duplicates within the batch).
        # A real run commits batch by batch: what is imported is visible, and kept, at once.
        with transaction.atomic() if dry_run else nullcontext():
            counts = self._run(
                paths,
                section_obj=section_obj,
                authors=authors,
                tags=tags,
                status=status,
                when=when,
                by_file=by_file,
                batch_size=batch_size,
                parse_workers=parse_workers,
                writers=writers,
                roots=link_roots(paths) if follow_links else (),
                dry_run=dry_run,
                verbosity=verbosity,
            )
            if dry_run:
                transaction.set_rollback(True)

        total = sum(counts.values())
        prefix = "Dry run, nothing written: would have " if dry_run else ""
        summary = (
            f"{prefix}{counts[Outcome.CREATED]} created, {counts[Outcome.UPDATED]} updated, "
            f"{counts[Outcome.UNCHANGED]} unchanged, {counts[Outcome.FAILED]} failed "
            f"({total} file{'s' if total != 1 else ''})."
        )
        if counts[Outcome.FAILED]:
            self.stdout.write(summary)
            raise CommandError(f"{counts[Outcome.FAILED]} of {total} files could not be imported.")
        self.stdout.write(self.style.SUCCESS(summary))

    def _run(
        self,
        paths,
        *,
        section_obj,
        authors,
        tags,
        status,
        when,
        by_file,
        batch_size,
        parse_workers,
        writers,
        roots,
        dry_run,
        verbosity,
    ):
        options = ImportOptions(
            section=section_obj,
            authors=resolve_authors(authors) if authors is not None else None,
            tags=tuple(tags) if tags is not None else None,
            status=status,
            published_at=when,
            dated_by_file=by_file,
        )
        counts = Counter(dict.fromkeys(Outcome, 0))
        started = time.monotonic()
        would = "would be " if dry_run else ""
        for number, result in enumerate(
            import_paths(
                expand_paths(paths),
                options=options,
                batch_size=batch_size,
                parse_workers=parse_workers,
                writers=writers,
                link_roots=roots,
                keep_parts=verbosity >= 2,  # only the detailed report shows them
            ),
            start=1,
        ):
            counts[result.outcome] += 1
            if result.outcome == Outcome.FAILED:
                self.stderr.write(f"{result.name}: failed: {result.reason}")
            elif verbosity >= 1:
                self.stdout.write(f"{result.name}: {would}{self._said(result)}")
            if verbosity >= 2 and result.story is not None:
                self._report_parts(result.story.parsed)
            if verbosity >= 1 and number % PROGRESS_EVERY == 0:
                rate = number / max(time.monotonic() - started, 1e-9)
                self.stderr.write(f"… {number} files ({rate:,.0f} a second)")
                self.stderr.flush()
        return counts

    @staticmethod
    def _said(result) -> str:
        """ "created /world/2026/slug/ (World, in review; UTF-8, LF (Unix))", "updated (body;
        …)", "unchanged (…)": what became of the file and what was found in it."""
        story = result.story
        found = f"{story.encoding}, {story.line_endings}" if story and story.encoding else ""
        if result.outcome == Outcome.CREATED:
            status = Command._status_said(result)
            return f"created {result.address} ({result.section}, {status}; {found})"
        details = [", ".join(result.changed)] if result.changed else []
        details += [found] if found else []
        return f"{result.outcome}" + (f" ({'; '.join(details)})" if details else "")

    @staticmethod
    def _status_said(result) -> str:
        """ "in review", "draft", "published 14:05, 3 Dec 2026" (newsroom time)."""
        if result.status == Article.Status.REVIEW:
            return "in review"
        if result.status != Article.Status.PUBLISHED or result.published_at is None:
            return Article.Status(result.status).label.lower()
        when = timezone.localtime(result.published_at).strftime("%H:%M, %-d %b %Y")
        scheduled = result.published_at > timezone.now()
        return f"{'scheduled for' if scheduled else 'published'} {when}"

    def _report_parts(self, parsed):
        for part in parsed.parts:
            text = part.text if len(part.text) <= 70 else part.text[:67] + "…"
            label = {Kind.SIGNUP: "call-to-action (newsletter sign-up box)"}.get(
                part.kind, str(part.kind)
            )
            self.stdout.write(f"    {part.lines}: {label}: {text}")
        if parsed.source:
            source = parsed.source
            self.stdout.write(f"    source: name “{source.name or '-'}”, url “{source.url or '-'}”")
