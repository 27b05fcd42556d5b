# The home page's lead (the newest featured story) and breaking banner read a few rows from
# these partial indexes, instead of most published stories from the visibility index.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("articles", "0010_remove_hero_fields")]

    operations = [
        migrations.AddIndex(
            model_name="article",
            index=models.Index(
                condition=models.Q(("is_featured", True), ("status", "published")),
                fields=["-published_at"],
                name="article_featured_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="article",
            index=models.Index(
                condition=models.Q(("is_breaking", True), ("status", "published")),
                fields=["-published_at"],
                name="article_breaking_idx",
            ),
        ),
    ]
