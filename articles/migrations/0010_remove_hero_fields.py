# Step 3: the old hero fields go (0009 moved what they held into the library), and the
# reference takes their name.

from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):

    dependencies = [
        ('articles', '0009_hero_pictures_to_library'),
    ]

    operations = [
        *[
            migrations.RemoveField(model_name=model, name=name)
            for model in ('article', 'historicalarticle')
            for name in ('hero_image', 'hero_width', 'hero_height', 'hero_alt', 'hero_caption', 'hero_credit')
        ],
        migrations.RenameField(model_name='article', old_name='picture', new_name='hero_image'),
        migrations.RenameField(model_name='historicalarticle', old_name='picture', new_name='hero_image'),
        migrations.AlterField(
            model_name='article',
            name='hero_image',
            field=models.ForeignKey(blank=True, help_text="The story's main picture, from the library: on the story, its cards, feeds, newsletters and link previews.", null=True, on_delete=django.db.models.deletion.PROTECT, related_name='hero_of', to='pictures.image', verbose_name='picture'),
        ),
        migrations.AlterField(
            model_name='historicalarticle',
            name='hero_image',
            field=models.ForeignKey(blank=True, db_constraint=False, help_text="The story's main picture, from the library: on the story, its cards, feeds, newsletters and link previews.", null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='pictures.image', verbose_name='picture'),
        ),
    ]
