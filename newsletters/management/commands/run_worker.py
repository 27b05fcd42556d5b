"""Run the background task worker, first resuming any edition a stopped worker left unsent."""

from django.core.management import call_command
from django.core.management.base import BaseCommand

from newsletters.models import Edition
from newsletters.services import resume_sending


class Command(BaseCommand):
    help = (
        "Run the task worker (django-tasks-db's db_worker). Before it starts, every edition that "
        "is sending or due gets its send tasks, so a worker killed mid-send carries on where it "
        "stopped. Options after -- go to db_worker, e.g. `run_worker -- --batch`."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="List the editions that would be resumed, then exit without running the worker.",
        )
        parser.add_argument("worker_args", nargs="*", help="Options for db_worker.")

    def handle(self, *args, dry_run=False, worker_args=(), verbosity=1, **options):
        if dry_run:
            editions = list(Edition.objects.to_resume().select_related("newsletter"))
            for edition in editions:
                self.stdout.write(f"would resume edition {edition.pk}: {edition}")
            self.stdout.write(f"{len(editions)} edition(s) to resume (dry run).")
            return
        resumed = resume_sending()
        if verbosity:
            self.stdout.write(f"Resumed {len(resumed)} edition(s); starting the worker.")
        call_command("db_worker", *worker_args, verbosity=verbosity)
