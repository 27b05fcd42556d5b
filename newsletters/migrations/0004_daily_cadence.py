"""Say how often the default newsletter goes out, on the newsletters page."""

from django.db import migrations


def set_cadence(apps, schema_editor):
    Newsletter = apps.get_model("newsletters", "Newsletter")
    Newsletter.objects.filter(slug="daily", cadence="").update(cadence="Seven days a week")


class Migration(migrations.Migration):
    dependencies = [("newsletters", "0003_editions_and_deliveries")]
    operations = [migrations.RunPython(set_cadence, migrations.RunPython.noop)]
