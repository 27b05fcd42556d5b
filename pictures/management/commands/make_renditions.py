"""`manage.py make_renditions`: make the renditions library pictures lack (after the hero
migration, a restored backup, or a change of `RENDITION_VERSION`), one picture at a time."""

from django.core.management.base import BaseCommand, CommandError

from pictures import upkeep
from pictures.models import Image


class Command(BaseCommand):
    help = (
        "Make every rendition a library picture's file and focal point call for and switch "
        "the picture to them: all pictures with --all, else those with none or an outdated "
        "set. Files already made are only checked. Exit status 1 when a picture failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="Check every picture.")
        parser.add_argument("--force", action="store_true", help="Write every file again.")
        parser.add_argument("--dry-run", action="store_true", help="List, make nothing.")

    def handle(self, *args, all=False, force=False, dry_run=False, verbosity=1, **options):
        # Whether a set is current depends on the file and focal point (`wanted_key`): checked
        # row by row, as it is no column.
        pictures = Image.objects.order_by("pk").iterator()
        todo = [p for p in pictures if all or force or not p.renditions_current]
        made = failed = written = 0
        for picture in todo:
            if dry_run:
                self.stdout.write(f"would make: {picture.pk} {picture.file.name}")
                continue
            try:
                result, _old = upkeep.bring_renditions_up_to_date(picture.pk, force=force)
            except (OSError, ValueError) as error:  # a missing or unreadable file
                failed += 1
                self.stderr.write(f"{picture.pk} {picture.file.name}: {error}")
                continue
            made += 1
            written += result.written if result else 0
            if verbosity >= 2:
                self.stdout.write(f"{picture.pk}: {result.written} files in {result.seconds:.1f} s")
        verb = "would make" if dry_run else "made"
        summary = f"{len(todo)} pictures: {verb} {made}, {written} files, {failed} failed."
        self.stdout.write(summary)
        if failed:
            raise CommandError(f"{failed} picture(s) failed")
