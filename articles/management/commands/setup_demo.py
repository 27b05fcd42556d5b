"""`manage.py setup_demo`: demo content and a demo editor login for a first run."""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand

from accounts import roles
from articles.demo import FIXTURE_PATH
from articles.models import Article

DEMO_USERNAME = "editor"


class Command(BaseCommand):
    help = (
        "Load fixtures/demo.json into an empty database and (re)create the demo editor account "
        "with a fresh random password, printed at the end. Never use it in production."
    )

    def handle(self, *args, **options):
        if Article.objects.exists():
            self.stdout.write("Articles already present; demo content not loaded again.")
        else:
            call_command("loaddata", str(FIXTURE_PATH), verbosity=0)
            self.stdout.write(f"Loaded {Article.objects.count()} demo articles.")
        password = secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(username=DEMO_USERNAME)
        user.is_staff, user.is_superuser = True, False
        user.first_name, user.last_name = user.first_name or "Demo", user.last_name or "Editor"
        user.email = user.email or "editor@localhost"
        user.set_password(password)
        user.save()
        # An editor, not an administrator: what a newsroom's editor would see.
        user.groups.set(Group.objects.filter(name__in=[roles.EDITOR, roles.NEWSLETTER_EDITOR]))
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo editor login for /admin/: username “{DEMO_USERNAME}”, password “{password}”"
            )
        )
