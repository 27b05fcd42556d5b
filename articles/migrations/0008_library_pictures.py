# Stories' pictures move into the library (pictures.Image). Step 1: the new references,
# beside the old hero fields, which 0009 copies across and 0010 removes.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('articles', '0007_body_length_limit'),
        ('pictures', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='article',
            name='picture',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='hero_of', to='pictures.image'),
        ),
        migrations.AddField(
            model_name='historicalarticle',
            name='picture',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='pictures.image'),
        ),
        migrations.AddField(
            model_name='article',
            name='pictures',
            field=models.ManyToManyField(blank=True, editable=False, help_text="Every library picture the story shows (its picture, those in the body, embed thumbnails): the library's “used in”. Kept by `save_article`.", related_name='stories', to='pictures.image'),
        ),
    ]
