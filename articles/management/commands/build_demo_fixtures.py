"""`manage.py build_demo_fixtures`: regenerate fixtures/demo.json from fixtures/seeds/."""

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from articles.demo import FIXTURE_MODELS, FIXTURE_PATH, build_demo_content
from articles.models import Article
from articles.services.importing import Outcome


class Command(BaseCommand):
    help = (
        "Import fixtures/seeds/ as its manifest says and write fixtures/demo.json. Run it on an "
        "empty, freshly migrated database (`make fixtures` does)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", default=str(FIXTURE_PATH), help="Where to write the JSON.")

    def handle(self, *args, output, **options):
        if Article.objects.exists():
            raise CommandError("The database already has articles; run this on an empty one.")
        results = build_demo_content()
        failed = [r for r in results if r.outcome == Outcome.FAILED]
        if failed:
            raise CommandError("; ".join(f"{r.name}: {r.reason}" for r in failed))
        call_command(
            "dumpdata",
            *FIXTURE_MODELS,
            natural_foreign=True,
            indent=2,
            output=output,
            verbosity=0,
        )
        self.stdout.write(self.style.SUCCESS(f"Wrote {len(results)} articles to {output}."))
