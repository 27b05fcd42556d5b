"""The newsletter that the article sign-up box subscribes readers to."""

from django.db import migrations


def create_newsletter(apps, schema_editor):
    Newsletter = apps.get_model("newsletters", "Newsletter")
    Newsletter.objects.get_or_create(
        slug="daily",
        defaults={
            "name": "The Daily Racket",
            "description": "The day's best stories, every morning.",
            "is_public": True,
        },
    )


class Migration(migrations.Migration):
    dependencies = [("newsletters", "0001_initial")]
    operations = [migrations.RunPython(create_newsletter, migrations.RunPython.noop)]
