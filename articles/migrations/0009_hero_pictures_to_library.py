"""Every hero picture becomes a library picture, losing nothing: the file (the same stored
file, not a copy), its size, alt text, caption and credit; each story and each of its history
records then points at it. One library picture per stored file, however many stories or
versions used it. The renditions are made afterwards (`manage.py make_renditions`), not in
the migration, which would otherwise take seconds per picture.

Backwards, the story's picture goes back into its hero fields."""

from django.db import migrations

MOVED = "Moved from the story's hero fields when the library began; rights not recorded then."


def heroes_to_library(apps, schema_editor):
    Article = apps.get_model("articles", "Article")
    HistoricalArticle = apps.get_model("articles", "HistoricalArticle")
    Image = apps.get_model("pictures", "Image")
    by_file = {}
    # Stories first: their fields are the current ones for the picture.
    for article in Article.objects.exclude(hero_image="").order_by("pk").iterator():
        image = by_file.get(article.hero_image.name)
        if image is None:
            image = Image.objects.create(
                file=article.hero_image.name,
                width=article.hero_width or 0,
                height=article.hero_height or 0,
                alt_text=article.hero_alt,
                caption=article.hero_caption,
                credit=article.hero_credit,
                licence="unknown",
                rights=MOVED,
                uploaded_by_id=article.created_by_id,
                uploaded_at=article.created_at,
            )
            by_file[image.file.name] = image
        Article.objects.filter(pk=article.pk).update(picture=image)
        article.pictures.add(image)
    # Older versions in the history may show files no story shows any more: those become
    # library pictures too, with that version's words.
    versions = HistoricalArticle.objects.exclude(hero_image="").exclude(hero_image__isnull=True)
    for version in versions.order_by("-history_date").iterator():
        image = by_file.get(version.hero_image)
        if image is None:
            image = Image.objects.create(
                file=version.hero_image,
                width=version.hero_width or 0,
                height=version.hero_height or 0,
                alt_text=version.hero_alt,
                caption=version.hero_caption,
                credit=version.hero_credit,
                licence="unknown",
                rights=MOVED,
                uploaded_at=version.created_at,
            )
            by_file[image.file.name] = image
        HistoricalArticle.objects.filter(pk=version.pk).update(picture=image)


def library_to_heroes(apps, schema_editor):
    Article = apps.get_model("articles", "Article")
    HistoricalArticle = apps.get_model("articles", "HistoricalArticle")
    for model in (Article, HistoricalArticle):
        rows = model.objects.exclude(picture=None).select_related("picture")
        for row in rows.iterator():
            image = row.picture
            model.objects.filter(pk=row.pk).update(
                hero_image=image.file.name,
                hero_width=image.width or None,
                hero_height=image.height or None,
                hero_alt=image.alt_text,
                hero_caption=image.caption,
                hero_credit=image.credit,
            )


class Migration(migrations.Migration):

    dependencies = [
        ('articles', '0008_library_pictures'),
    ]

    operations = [
        migrations.RunPython(heroes_to_library, library_to_heroes),
    ]
