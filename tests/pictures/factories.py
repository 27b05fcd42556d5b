import factory

from pictures import upkeep
from pictures.models import Image, Licence


class ImageFactory(factory.django.DjangoModelFactory):
    """A library picture: a real JPEG made by Pillow, stored in MEDIA_ROOT, with its
    renditions made (as the background task would), so readers may see it."""

    class Meta:
        model = Image
        skip_postgeneration_save = True

    file = factory.django.ImageField(
        filename="picture.jpg", width=1200, height=800, format="JPEG", color="navy"
    )
    alt_text = "A seagull on a pier rail"
    caption = factory.Sequence(lambda n: f"The pier at dawn, picture {n}")
    credit = "Pier Cam/Racket Pictures"
    licence = Licence.STAFF

    @factory.post_generation
    def renditions(self, create, extracted, **kwargs):
        """Made for real by default; `renditions="key-only"` marks them made without writing
        files (for tests that count queries, where only the rows matter); False: none."""
        if not create or extracted is False:
            return
        if extracted == "key-only":
            Image.objects.filter(pk=self.pk).update(rendition_key=self.wanted_key)
        else:
            upkeep.bring_renditions_up_to_date(self.pk)
        self.refresh_from_db()
