"""`manage.py reset_second_factor USERNAME`: for someone who lost both their phone and their
recovery codes when no administrator can reach the admin to delete their device (the only
superuser, say). It ends their sessions; they set up a new app at their next login."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts import services
from accounts.models import User


class Command(BaseCommand):
    help = (
        "Remove a staff member's authenticator app and recovery codes and end their sessions; "
        "if their role needs two-factor they set up a new app at their next login."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--dry-run", action="store_true", help="Say what would be removed, remove nothing."
        )

    def handle(self, *args, username, dry_run, verbosity, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No login is called “{username}”.")
        if not services.has_second_factor(user):
            raise CommandError(f"“{username}” has no authenticator app set up.")
        # A dry run does the removal and rolls it back, so it reports what a real run would do.
        with transaction.atomic():
            codes = services.recovery_codes_left(user)
            services.remove_second_factor(user)
            if dry_run:
                transaction.set_rollback(True)
        then = (
            "sets up a new app at the next login"
            if services.second_factor_required(user)
            else "logs in with the password alone until setting one up again"
        )
        verb = "Would remove" if dry_run else "Removed"
        if verbosity >= 1:
            self.stdout.write(
                f"{verb} the authenticator app and {codes} recovery codes of “{username}”, "
                f"who {then}."
            )
