"""`manage.py make_digests`: make (and, where set, send) the daily digests that are due."""

from django.core.management.base import BaseCommand

from newsletters.services.digests import make_due_digests


class Command(BaseCommand):
    help = (
        "Make each newsletter's daily digest of the day's most read stories once its digest "
        "time has passed: a draft for an editor, or sent unattended, as the newsletter is set. "
        "Run it every few minutes (cron, a scheduler): a digest is made once a day at most."
    )

    def handle(self, *args, **options):
        outcomes = make_due_digests()
        for outcome in outcomes:
            edition = f" (edition {outcome.edition.pk})" if outcome.edition else ""
            self.stdout.write(f"{outcome.newsletter.name}: {outcome.note}{edition}")
        if not outcomes:
            self.stdout.write("No newsletter has a daily digest.")
