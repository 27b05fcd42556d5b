"""`manage.py setup_demo`: demo content and a demo login per role for a first run.

The logins (`accounts.demo`) stay the same from run to run on one machine. The demo editor
logs in as every Editor does, with a second factor: an authenticator app set up on a key
printed here, or one of the one-time recovery codes printed beside it. No setting turns
two-factor off for the demo, so nothing a demo needs can be left on in production."""

import itertools
import time

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from accounts import services
from accounts.demo import set_up_demo_logins
from articles.demo import FIXTURE_PATH, STORED_AS, install_demo_pictures
from articles.demo_live import install_demo_live_blog, post_demo_update
from articles.models import Article
from pictures.models import Image

DEMO_USERNAME = "editor"


class Command(BaseCommand):
    help = (
        "Load fixtures/demo.json (and the demo live blog) into an empty database and make the "
        "demo logins, one per role, with the passwords (and authenticator key) kept on this "
        "machine, printed at the end. Never use it in production."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--new-logins",
            action="store_true",
            help="Make new passwords (and a new authenticator key) for the demo logins, instead "
            "of the ones kept on this machine.",
        )
        parser.add_argument(
            "--keep-posting",
            type=float,
            metavar="SECONDS",
            help="Afterwards, post an entry on the demo live blog every SECONDS (as the demo "
            "editor) until stopped with Ctrl-C: a first run's live page updating by itself.",
        )

    def handle(self, *args, **options):
        demo = True
        if Article.objects.exists():
            self.stdout.write("Articles already present; demo content not loaded again.")
            demo = Image.objects.filter(file__startswith=STORED_AS).exists()  # an earlier demo's
        else:
            call_command("loaddata", str(FIXTURE_PATH), verbosity=0)
            self.stdout.write(f"Loaded {Article.objects.count()} demo articles.")
        blog = install_demo_live_blog() if demo else None
        if blog is not None:
            self.stdout.write(f"Made the demo live blog: {blog.get_absolute_url()}")
        # Every run: the files may have been removed with media/, the rows kept.
        pictures = install_demo_pictures()
        self.stdout.write(f"Installed {pictures} demo pictures with their renditions.")
        existing = get_user_model().objects.filter(username=DEMO_USERNAME).first()
        if options["keep_posting"] and existing is not None:
            # Beside a demo already running: its editor's login stays as it was.
            self.keep_posting(existing, options["keep_posting"])
            return
        logins = set_up_demo_logins(new=options["new_logins"])
        for login in logins:
            self.print_login(login, verbosity=options["verbosity"])
        user = get_user_model().objects.get(username=DEMO_USERNAME)
        if options["keep_posting"]:
            self.keep_posting(user, options["keep_posting"])

    def print_login(self, login, *, verbosity: int) -> None:
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo {login.role.lower()} login for /admin/: username “{login.username}”, "
                f"password “{login.password}”"
            )
        )
        if not login.key:
            self.stdout.write("  (no second factor: the role does not require one)")
            return
        recovery = ", ".join(services.recovery_code_text(c) for c in login.recovery_codes)
        self.stdout.write(
            f"Then a code: add the key “{services.authenticator_key_text(login.key)}” to an "
            f"authenticator app (TOTP, 6 digits, 30 s), or type one of these one-time recovery "
            f"codes: {recovery or 'none left (setup_demo --new-logins makes new ones)'}"
        )
        if verbosity >= 2:
            user = get_user_model().objects.get(username=login.username)
            uri = services.authenticator_setup_uri(user, login.key)
            self.stdout.write(f"The same key as an authenticator set-up link: {uri}")

    def keep_posting(self, user, seconds: float) -> None:
        self.stdout.write(f"Posting on the demo live blog every {seconds:g} s; Ctrl-C stops.")
        try:
            for number in itertools.count():
                time.sleep(seconds)
                entry = post_demo_update(user, number)
                if entry is None:
                    self.stdout.write("The demo live blog is not live: stopped posting.")
                    return
                self.stdout.write(f"Posted: {entry}")
        except KeyboardInterrupt:
            self.stdout.write("Stopped posting.")
