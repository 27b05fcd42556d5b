"""Renditions: each placement's crop around the focal point, at each width, in AVIF, WebP and
JPEG, made off the reader's path; a new focal point is a new set, switched to when complete."""

import io
from pathlib import Path

import pytest
from django.conf import settings
from PIL import Image as PILImage

from pictures import placements, upkeep
from pictures.models import Image
from tests.articles.factories import ArticleFactory

from .factories import ImageFactory

pytestmark = pytest.mark.django_db


def test_the_crop_is_centred_on_the_focal_point_and_kept_inside_the_picture():
    # A 1600 × 900 picture cut square: 900 × 900, centred on the point where it can be.
    assert placements.crop_box(1600, 900, 1.0, 0.5, 0.5) == (350, 0, 1250, 900)
    assert placements.crop_box(1600, 900, 1.0, 0.1, 0.5) == (0, 0, 900, 900)
    assert placements.crop_box(1600, 900, 1.0, 0.9, 0.5) == (700, 0, 1600, 900)
    assert placements.crop_box(1000, 1000, 16 / 9, 0.5, 0.05) == (0, 0, 1000, 562)
    assert placements.crop_box(1000, 1000, None, 0.2, 0.2) == (0, 0, 1000, 1000)


def test_a_small_picture_gets_fewer_renditions_never_enlarged():
    sizes = placements.sizes_for(700, 500, placements.PLACEMENTS["standard"])
    assert sizes == ((400, 400, 300), (800, 667, 500))


def media(url: str) -> Path:
    return Path(settings.MEDIA_ROOT) / url.split("/media/", 1)[1]


def test_every_placement_is_made_in_each_format_at_its_size(settings):
    image = ImageFactory(file__width=2400, file__height=1350)
    for name in ("wide", "standard", "square", "free"):
        sources = image.sources(name)
        for extension, kind in (("avif", "AVIF"), ("webp", "WEBP"), ("jpeg", "JPEG")):
            candidates = [c.rsplit(" ", 1) for c in sources[extension].split(", ")]
            assert [w for _, w in candidates] == ["400w", "800w", "1200w"]
            for url, width in candidates:
                with PILImage.open(media(url)) as made:
                    assert made.format == kind
                    assert made.width == int(width[:-1])
                    ratio = placements.PLACEMENTS[name].ratio or 16 / 9
                    assert abs(made.width / made.height - ratio) < 0.02
        assert (sources["width"], sources["height"]) == (
            1200,
            round(1200 / (placements.PLACEMENTS[name].ratio or 16 / 9)),
        )


def test_the_focal_point_decides_what_the_square_card_shows(settings):
    # Red on the left quarter of a navy picture: a left focal point keeps the red in the square.
    picture = PILImage.new("RGB", (1600, 900), (20, 30, 120))
    picture.paste((220, 20, 30), (0, 0, 400, 900))
    content = io.BytesIO()
    picture.save(content, "JPEG")
    image = ImageFactory(file__from_file=io.BytesIO(content.getvalue()), focal_x=0.1)
    url = image.sources("square")["jpeg"].split(", ")[-1].rsplit(" ", 1)[0]
    with PILImage.open(media(url)) as square:
        assert square.convert("RGB").getpixel((20, 450))[0] > 180  # red kept

    old_key = image.rendition_key
    image.focal_x = 0.9
    image.save()
    assert image.rendition_key == old_key and not image.renditions_current  # still the old set
    upkeep.bring_renditions_up_to_date(image.pk)
    image.refresh_from_db()
    assert image.rendition_key != old_key
    url = image.sources("square")["jpeg"].split(", ")[-1].rsplit(" ", 1)[0]
    with PILImage.open(media(url)) as square:
        assert square.convert("RGB").getpixel((20, 450))[2] > 100  # navy now


def test_a_readers_request_never_makes_or_opens_a_picture(client, monkeypatch):
    story = ArticleFactory(with_hero=True)
    before = sorted(Path(settings.MEDIA_ROOT).rglob("*"))

    def refuse(*args, **kwargs):
        raise AssertionError("a page opened a picture")

    monkeypatch.setattr(PILImage, "open", refuse)
    for url in ("/", story.get_absolute_url(), story.section.get_absolute_url()):
        assert client.get(url).status_code == 200
    assert sorted(Path(settings.MEDIA_ROOT).rglob("*")) == before


def test_a_picture_without_renditions_yet_is_not_shown(client):
    image = ImageFactory(renditions=False)
    story = ArticleFactory(hero_image=image)
    assert not image.is_shown
    html = client.get(story.get_absolute_url()).content.decode()
    assert "<picture" not in html and client.get("/").status_code == 200


def test_deleting_a_picture_removes_its_files(django_capture_on_commit_callbacks):
    image = ImageFactory()
    files = list(Path(settings.MEDIA_ROOT).rglob("*.avif"))
    assert files
    with django_capture_on_commit_callbacks(execute=True):
        Image.objects.filter(pk=image.pk).delete()
    assert not [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]
