"""The tabloid's sections, in navigation order."""

from django.db import migrations

SECTIONS = [
    ("News", "news", "What happened today, at home and on your doorstep."),
    ("World", "world", "The biggest and strangest stories from around the globe."),
    ("Politics", "politics", "Westminster, town halls and the people who run them."),
    ("Science", "science", "Boffins, breakthroughs and baffling discoveries."),
    ("Showbiz", "showbiz", "Stars, soaps, splits and scandals."),
    ("Sport", "sport", "Football, darts and every match that matters."),
    ("Money", "money", "Bills, bargains and your wallet."),
]


def create_sections(apps, schema_editor):
    Section = apps.get_model("articles", "Section")
    for order, (name, slug, description) in enumerate(SECTIONS, start=1):
        Section.objects.update_or_create(
            slug=slug, defaults={"name": name, "description": description, "order": order * 10}
        )


def remove_sections(apps, schema_editor):
    Section = apps.get_model("articles", "Section")
    Section.objects.filter(slug__in=[slug for _, slug, _ in SECTIONS], articles=None).delete()


class Migration(migrations.Migration):
    dependencies = [("articles", "0001_initial")]
    operations = [migrations.RunPython(create_sections, remove_sections)]
