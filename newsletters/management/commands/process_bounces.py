"""`manage.py process_bounces PATH`: read the bounce mailbox (a Maildir folder or an mbox file)
and record every bounce its messages report (`newsletters.services.bounces.from_message`)."""

import mailbox
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from newsletters.services.bounces import from_message


class Command(BaseCommand):
    help = (
        "Record the bounces reported by the messages of a bounce mailbox (Maildir or mbox). "
        "A message is counted once however often it is read; --remove deletes those read."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="A Maildir folder, or an mbox file.")
        parser.add_argument("--remove", action="store_true", help="Delete each message read.")

    def handle(self, *args, path, remove, **options):
        where = Path(path)
        if where.is_dir() and (where / "cur").is_dir():
            box = mailbox.Maildir(where, create=False)
        elif where.is_file():
            box = mailbox.mbox(where, create=False)
        else:
            raise CommandError(f"{path} is neither a Maildir folder nor an mbox file.")
        messages = failures = 0
        for key in list(box.keys()):
            found = from_message(box[key])
            messages += 1
            failures += len(found)
            for address, kind in found:
                self.stdout.write(f"{address}: {kind} bounce")
            if remove:
                box.remove(key)
        box.close()
        self.stdout.write(f"{messages} message(s) read, {failures} bounce(s) recorded.")
