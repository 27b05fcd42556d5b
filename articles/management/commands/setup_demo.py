"""`manage.py setup_demo`: demo content and a demo editor login for a first run.

The demo editor logs in as every Editor does, with a second factor: an authenticator app set
up on a key printed here, or one of the one-time recovery codes printed beside it. No setting
turns two-factor off for the demo, so nothing a demo needs can be left on in production."""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand

from accounts import roles, services
from articles.demo import FIXTURE_PATH, install_demo_pictures
from articles.models import Article

DEMO_USERNAME = "editor"


class Command(BaseCommand):
    help = (
        "Load fixtures/demo.json into an empty database and (re)create the demo editor account "
        "with a fresh random password, authenticator key and recovery codes, printed at the "
        "end. Never use it in production."
    )

    def handle(self, *args, **options):
        if Article.objects.exists():
            self.stdout.write("Articles already present; demo content not loaded again.")
        else:
            call_command("loaddata", str(FIXTURE_PATH), verbosity=0)
            self.stdout.write(f"Loaded {Article.objects.count()} demo articles.")
        # Every run: the files may have been removed with media/, the rows kept.
        pictures = install_demo_pictures()
        self.stdout.write(f"Installed {pictures} demo pictures with their renditions.")
        password = secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(username=DEMO_USERNAME)
        user.is_staff, user.is_superuser = True, False
        user.first_name, user.last_name = user.first_name or "Demo", user.last_name or "Editor"
        user.email = user.email or "editor@localhost"
        user.set_password(password)
        user.save()
        # An editor, not an administrator: what a newsroom's editor would see.
        user.groups.set(Group.objects.filter(name__in=[roles.EDITOR, roles.NEWSLETTER_EDITOR]))
        # Editors need a second factor; a new key each run (which ends older demo sessions).
        key = services.new_authenticator_key()
        _device, codes = services.set_up_authenticator(user, key=key)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo editor login for /admin/: username “{DEMO_USERNAME}”, password “{password}”"
            )
        )
        recovery = ", ".join(services.recovery_code_text(code) for code in codes)
        self.stdout.write(
            f"Then a code: add the key “{services.authenticator_key_text(key)}” to an "
            f"authenticator app (TOTP, 6 digits, 30 s), or type one of these one-time recovery "
            f"codes: {recovery}"
        )
        if options["verbosity"] >= 2:
            uri = services.authenticator_setup_uri(user, key)
            self.stdout.write(f"The same key as an authenticator set-up link: {uri}")
