"""Uploads to the library through the admin: real files made with Pillow here, cleaned
(upright, screen colours, 8 bits, a still, no metadata) or refused with a reason an editor can
act on, and nothing stored when refused."""

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from pictures import checks
from pictures.models import Image as LibraryImage

from .pictures import (
    GPS_IFD,
    NAVY,
    ORIENTATION,
    RED,
    SERIAL,
    SVG_WITH_SCRIPT,
    animated_gif,
    cmyk_jpeg,
    located_photo,
    near,
    picture,
    png_bomb,
    sixteen_bit_png,
)

pytestmark = pytest.mark.django_db


def upload(client, name, content, content_type="image/jpeg", **fields):
    """Add a picture through the library's add form, as an editor does."""
    data = {
        "file": SimpleUploadedFile(name, content, content_type=content_type),
        "alt_text": "A seagull behind the mayor",
        "caption": "The mayor and friend",
        "credit": "Pier Cam",
        "licence": "staff",
        "focal_x": "0.5",
        "focal_y": "0.5",
        "tags": "seagulls",
        **fields,
    }
    return client.post(reverse("admin:pictures_image_add"), data)


def upload_in_place(client, name, content, content_type="image/jpeg"):
    """The story form's panel: the JSON upload view."""
    file = SimpleUploadedFile(name, content, content_type=content_type)
    return client.post(reverse("admin:pictures_image_upload"), {"file": file, "alt_text": "A gull"})


def stored():
    return LibraryImage.objects.get()


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def file_errors(response) -> list[str]:
    assert response.status_code == 200, "the upload was accepted"
    return response.context["adminform"].form.errors["file"]


def test_a_picture_is_stored_with_its_words_and_renditions_are_made(editor_client):
    response = upload(editor_client, "pier.jpg", picture(size=(1600, 900)))

    assert response.status_code == 302
    image = stored()
    assert (image.width, image.height) == (1600, 900)
    assert (image.alt_text, image.caption, image.credit) == (
        "A seagull behind the mayor",
        "The mayor and friend",
        "Pier Cam",
    )
    assert list(image.tags.names()) == ["seagulls"]
    assert image.uploaded_by.username == "editor"
    assert image.rendition_key == image.wanted_key  # the task ran after the commit
    names = {p.name for p in stored_files()}
    assert {"wide-1200.avif", "standard-800.webp", "square-400.jpeg", "social-1200.jpeg"} <= names


def test_a_sideways_phone_photo_is_stored_upright(editor_client):
    # Stored 800 wide and 600 high, with EXIF saying "turn me 90° clockwise to view".
    response = upload(editor_client, "phone.jpg", picture(size=(800, 600), orientation=6))

    assert response.status_code == 302
    image = stored()
    assert (image.width, image.height) == (600, 800)
    assert "Turned upright" in image.processing_note
    with Image.open(image.file.path) as kept:
        assert kept.size == (600, 800)
        assert kept.getexif().get(ORIENTATION, 1) == 1
        rgb = kept.convert("RGB")
        # The red corner, top left as the phone saw it, is top right once turned clockwise.
        assert near(rgb.getpixel((590, 10)), RED)
        assert near(rgb.getpixel((10, 10)), NAVY)


def test_location_and_camera_serial_numbers_never_reach_a_public_file(editor_client):
    photo = located_photo()
    with Image.open(io.BytesIO(photo)) as original:  # it really carries them
        assert original.getexif().get_ifd(GPS_IFD)[2] == (51.0, 30.0, 26.46)
    assert SERIAL.encode() in photo

    assert upload(editor_client, "source.jpg", photo).status_code == 302

    files = stored_files()
    assert len(files) > 30  # the stored picture and every rendition
    for path in files:
        content = path.read_bytes()
        assert SERIAL.encode() not in content, path.name
        assert b"LENS-77821" not in content and b"Canon EOS" not in content, path.name
        with Image.open(path) as kept:
            exif = kept.getexif()
            assert not exif.get_ifd(GPS_IFD), path.name
            assert not exif.get_ifd(0x8769), path.name
            assert "exif" not in kept.info and "xmp" not in kept.info, path.name


@pytest.mark.parametrize(
    ("content", "name", "content_type", "mode", "note"),
    [
        (cmyk_jpeg(), "print.jpg", "image/jpeg", "RGB", "Print colours (CMYK) converted"),
        (sixteen_bit_png(), "scan.png", "image/png", "L", "16 bits per channel reduced to 8"),
        (picture("PNG", (900, 600), mode="P"), "chart.png", "image/png", "RGB", ""),
        (animated_gif(), "reaction.gif", "image/gif", "RGB", "first frame is used as a still"),
    ],
    ids=["cmyk-jpeg", "16-bit-png", "palette-png", "animated-gif"],
)
def test_awkward_pictures_are_converted_for_screens_and_the_editor_is_told(
    editor_client, content, name, content_type, mode, note
):
    response = upload(editor_client, name, content, content_type)

    assert response.status_code == 302
    image = stored()
    assert note in image.processing_note
    with Image.open(image.file.path) as kept:
        assert kept.mode == mode
        assert getattr(kept, "n_frames", 1) == 1
        if name == "print.jpg":
            assert near(kept.getpixel((10, 10)), (237, 28, 36), tolerance=60)  # still red
        if name == "scan.png":
            assert kept.getpixel((10, 10)) > 190 and kept.getpixel((790, 10)) < 10
    if note:
        messages = [str(m) for m in response.wsgi_request._messages]
        assert any(note in m for m in messages), messages


@pytest.mark.parametrize(
    ("image_format", "name", "content_type"),
    [
        ("PNG", "chart.png", "image/png"),
        ("WEBP", "photo.webp", "image/webp"),
        ("GIF", "still.gif", "image/gif"),
        ("JPEG", "photo.jpeg", "image/jpeg"),
        ("AVIF", "photo.avif", "image/avif"),
    ],
)
def test_web_picture_formats_are_accepted(editor_client, image_format, name, content_type):
    response = upload(editor_client, name, picture(image_format, (1000, 600)), content_type)
    assert response.status_code == 302
    assert (stored().width, stored().height) == (1000, 600)


def test_a_decompression_bomb_is_refused_and_nothing_is_stored(editor_client):
    bomb = png_bomb()
    assert len(bomb) < 200_000
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(bomb))  # it really is one

    response = upload(editor_client, "innocent.png", bomb, "image/png")

    assert file_errors(response) == [
        "This file would expand to an enormous picture (a decompression bomb) and is refused."
    ]
    assert not LibraryImage.objects.exists()
    assert stored_files() == []


def test_a_picture_over_the_pixel_limit_is_refused(editor_client):
    response = upload(editor_client, "huge.png", png_bomb(9_000, 5_000), "image/png")
    assert file_errors(response) == [
        "The picture is 9,000 × 5,000 pixels; the limit is 40 million pixels. "
        "Export it smaller and try again."
    ]
    assert stored_files() == []


@pytest.mark.parametrize("name", ["chart.svg", "chart.jpg"])
def test_an_svg_is_refused_even_under_another_name(editor_client, name):
    response = upload(editor_client, name, SVG_WITH_SCRIPT, "image/svg+xml")
    assert file_errors(response) == [
        "SVG files are not accepted: use JPEG, PNG, WebP, GIF or AVIF."
    ]
    assert not LibraryImage.objects.exists()
    assert stored_files() == []


def test_a_text_file_named_like_a_picture_is_refused(editor_client):
    response = upload(editor_client, "holiday.jpg", b"Dear editor,\nplease run my story.\n")
    assert file_errors(response) == [
        "This file is not a picture we can read. Use JPEG, PNG, WebP, GIF or AVIF."
    ]
    assert stored_files() == []


def test_another_picture_format_is_refused_by_name(editor_client):
    out = io.BytesIO()
    Image.new("RGB", (800, 600), "red").save(out, "TIFF")
    response = upload(editor_client, "scan.tif", out.getvalue(), "image/tiff")
    assert file_errors(response) == [
        "TIFF pictures are not accepted: use JPEG, PNG, WebP, GIF or AVIF."
    ]


def test_an_oversized_upload_is_refused(editor_client):
    content = picture(size=(1200, 800))
    content += b"\0" * (checks.MAX_UPLOAD_BYTES + 1 - len(content))
    (message,) = file_errors(upload(editor_client, "raw-export.jpg", content))
    assert message.startswith("The picture is 15.0 MB; the limit is 15 MB.")
    assert stored_files() == []


def test_a_picture_too_narrow_is_refused_even_once_turned_upright(editor_client):
    assert file_errors(upload(editor_client, "thumb.jpg", picture(size=(300, 200)))) == [
        "The picture is 300 pixels wide; pictures need at least 400."
    ]
    # 500 wide as stored, but only 300 wide the way up it is shown.
    sideways = picture(size=(500, 300), orientation=6)
    assert file_errors(upload(editor_client, "sideways.jpg", sideways)) == [
        "The picture is 300 pixels wide; pictures need at least 400."
    ]
    assert stored_files() == []


def test_a_picture_cut_short_in_transfer_is_refused_and_nothing_is_stored(editor_client):
    whole = picture(size=(1600, 1000))
    cut = whole[: len(whole) * 2 // 3]
    with Image.open(io.BytesIO(cut)) as image:
        image.verify()  # its structure looks fine: only decoding finds the missing third

    [message] = file_errors(upload(editor_client, "cut.jpg", cut))

    assert message.startswith("This picture is cut short (the file is truncated)")
    assert not LibraryImage.objects.exists()
    assert stored_files() == []


def test_the_story_forms_panel_uploads_in_place_and_refuses_with_the_reason(editor_client):
    made = upload_in_place(editor_client, "gull.jpg", picture(size=(1200, 800)))
    assert made.status_code == 201
    image = made.json()["image"]
    assert image["alt"] == "A gull" and image["width"] == 1200
    assert LibraryImage.objects.get().pk == image["id"]

    refused = upload_in_place(editor_client, "bomb.png", png_bomb(), "image/png")
    assert refused.status_code == 400
    assert refused.json() == {
        "errors": [
            "This file would expand to an enormous picture (a decompression bomb) and is refused."
        ]
    }
    assert LibraryImage.objects.count() == 1


def test_the_picker_finds_pictures_by_caption_credit_and_tag(editor_client):
    from tests.pictures.factories import ImageFactory

    goat = ImageFactory(caption="Goats on the village square", credit="Eleni P/Agency")
    gull = ImageFactory(caption="Gull on a bin", credit="Pier Cam")
    gull.tags.add("seaside")
    url = reverse("admin:pictures_image_picker")

    def found(q):
        return [r["id"] for r in editor_client.get(url, {"q": q}).json()["results"]]

    assert found("goats") == [goat.pk]
    assert found("eleni") == [goat.pk]
    assert found("seaside") == [gull.pk]
    assert set(found("")) == {goat.pk, gull.pk}
