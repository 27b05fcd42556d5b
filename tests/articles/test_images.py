"""Hero images uploaded through the admin: real files made with Pillow here, turned upright,
accepted in the web formats, refused (with a reason an editor can act on, and nothing stored)
when they are bombs, SVG, not pictures at all, too big or too narrow; renditions made."""

import io
import struct
import zlib
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image, ImageDraw

from articles import images
from articles.models import Article, Section
from tests.articles.admin_forms import article_post_data

pytestmark = pytest.mark.django_db

ORIENTATION = 0x0112
RED, NAVY = (220, 20, 30), (20, 30, 120)


def picture(image_format="JPEG", size=(1200, 800), *, orientation=None) -> bytes:
    """A picture whose top-left quarter is red on navy, so which way up it is can be seen."""
    width, height = size
    image = Image.new("RGB", size, NAVY)
    ImageDraw.Draw(image).rectangle((0, 0, width // 4, height // 4), fill=RED)
    options = {}
    if orientation is not None:
        exif = Image.Exif()
        exif[ORIENTATION] = orientation
        options["exif"] = exif.tobytes()
    if image_format == "GIF":
        image = image.convert("P", palette=Image.Palette.ADAPTIVE)
    out = io.BytesIO()
    image.save(out, image_format, **options)
    return out.getvalue()


def png_bomb(width=30_000, height=30_000) -> bytes:
    """A valid PNG declaring width × height one-bit pixels, all zero: about 110 KB that would
    decode to 900 million pixels (several gigabytes once Pillow converts them)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte, then the packed bits
    compressor = zlib.compressobj(9)
    pixels = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


SVG_WITH_SCRIPT = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="800" onload="alert(1)">'
    b"<script>fetch('/admin/').then(r => r.text()).then(alert)</script>"
    b'<rect width="1200" height="800" fill="red"/></svg>'
)


def upload(client, name, content, content_type="image/jpeg"):
    """Create a story through the admin's add form with `content` as its hero image."""
    article = Article(headline="Seagull photobombs mayor", section=Section.objects.get(slug="news"))
    data = article_post_data(
        article,
        slug="",
        body="<p>It happened.</p>",
        hero_image=SimpleUploadedFile(name, content, content_type=content_type),
        hero_alt="A seagull behind the mayor",
    )
    return client.post(reverse("admin:articles_article_add"), data)


def stored_article():
    return Article.objects.get(headline="Seagull photobombs mayor")


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def hero_errors(response) -> list[str]:
    assert response.status_code == 200, "the upload was accepted"
    return response.context["adminform"].form.errors["hero_image"]


def media_path(url: str) -> Path:
    prefix = "/" + settings.MEDIA_URL.lstrip("/")
    assert url.startswith(prefix), url
    return Path(settings.MEDIA_ROOT) / url.removeprefix(prefix)


def near(colour, expected, tolerance=40):
    return all(abs(a - b) <= tolerance for a, b in zip(colour[:3], expected, strict=True))


def test_a_sideways_phone_photo_is_stored_upright(editor_client):
    # Stored 800 wide and 600 high, with EXIF saying "turn me 90° clockwise to view".
    response = upload(editor_client, "phone.jpg", picture(size=(800, 600), orientation=6))

    assert response.status_code == 302
    article = stored_article()
    assert (article.hero_width, article.hero_height) == (600, 800)
    with Image.open(article.hero_image.path) as stored:
        assert stored.size == (600, 800)
        assert stored.getexif().get(ORIENTATION, 1) == 1
        rgb = stored.convert("RGB")
        # The red corner, top left as the phone saw it, is top right once turned clockwise.
        assert near(rgb.getpixel((590, 10)), RED)
        assert near(rgb.getpixel((10, 10)), NAVY)


def test_an_upright_photo_is_stored_as_uploaded(editor_client):
    content = picture(size=(1200, 800))
    assert upload(editor_client, "upright.jpg", content).status_code == 302
    article = stored_article()
    assert (article.hero_width, article.hero_height) == (1200, 800)
    assert Path(article.hero_image.path).read_bytes() == content


@pytest.mark.parametrize(
    ("image_format", "name", "content_type"),
    [
        ("PNG", "chart.png", "image/png"),
        ("WEBP", "photo.webp", "image/webp"),
        ("GIF", "animation.gif", "image/gif"),
        ("JPEG", "photo.jpeg", "image/jpeg"),
    ],
)
def test_web_picture_formats_are_accepted(editor_client, image_format, name, content_type):
    response = upload(editor_client, name, picture(image_format, (1000, 600)), content_type)

    assert response.status_code == 302
    article = stored_article()
    assert (article.hero_width, article.hero_height) == (1000, 600)
    with Image.open(article.hero_image.path) as stored:
        assert stored.format == image_format


def test_a_decompression_bomb_is_refused_and_nothing_is_stored(editor_client):
    bomb = png_bomb()
    assert len(bomb) < 200_000
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(bomb))  # it really is one

    response = upload(editor_client, "innocent.png", bomb, "image/png")

    assert hero_errors(response) == [
        "This file would expand to an enormous picture (a decompression bomb) and is refused."
    ]
    assert not Article.objects.exists()
    assert stored_files() == []


def test_a_picture_over_the_pixel_limit_is_refused(editor_client):
    # 9,000 × 5,000: under Pillow's own bomb threshold, over the newsroom's 40 million pixels.
    response = upload(editor_client, "huge.png", png_bomb(9_000, 5_000), "image/png")
    assert hero_errors(response) == [
        "The picture is 9,000 × 5,000 pixels; the limit is 40 million pixels. "
        "Export it smaller and try again."
    ]
    assert stored_files() == []


@pytest.mark.parametrize("name", ["chart.svg", "chart.jpg"])
def test_an_svg_is_refused_even_under_another_name(editor_client, name):
    response = upload(editor_client, name, SVG_WITH_SCRIPT, "image/svg+xml")

    assert hero_errors(response) == [
        "SVG files are not accepted for hero images: use JPEG, PNG or WebP."
    ]
    assert not Article.objects.exists()
    assert stored_files() == []


def test_a_text_file_named_like_a_picture_is_refused(editor_client):
    response = upload(editor_client, "holiday.jpg", b"Dear editor,\nplease run my story.\n")

    assert hero_errors(response) == [
        "This file is not a picture we can read. Use JPEG, PNG, WebP or GIF."
    ]
    assert stored_files() == []


def test_an_oversized_upload_is_refused(editor_client):
    # A real JPEG followed by padding: readable, but more than the upload limit.
    content = picture(size=(1200, 800))
    content += b"\0" * (images.MAX_UPLOAD_BYTES + 1 - len(content))

    response = upload(editor_client, "raw-export.jpg", content)

    (message,) = hero_errors(response)
    assert message.startswith("The picture is 15.0 MB; the limit is 15 MB.")
    assert stored_files() == []


def test_a_picture_too_narrow_for_the_page_is_refused(editor_client):
    response = upload(editor_client, "thumbnail.jpg", picture(size=(300, 200)))
    assert hero_errors(response) == [
        "The picture is 300 pixels wide; hero images need at least 400."
    ]
    assert stored_files() == []


def test_a_sideways_photo_too_narrow_once_upright_is_refused(editor_client):
    # 500 wide as stored, but only 300 wide the way up it is shown.
    response = upload(editor_client, "sideways.jpg", picture(size=(500, 300), orientation=6))
    assert hero_errors(response) == [
        "The picture is 300 pixels wide; hero images need at least 400."
    ]
    assert stored_files() == []


def test_renditions_for_the_srcset_are_made_when_the_picture_is_stored(editor_client, client):
    assert upload(editor_client, "wide.jpg", picture(size=(1600, 900))).status_code == 302
    article = stored_article()

    sources = article.hero_sources()

    for kind, image_format in (("jpeg", "JPEG"), ("webp", "WEBP")):
        candidates = [c.strip().rsplit(" ", 1) for c in sources[kind].split(",")]
        assert [width for _, width in candidates] == ["480w", "800w", "1200w"]
        for url, width in candidates:
            with Image.open(media_path(url)) as rendition:
                assert rendition.format == image_format
                assert rendition.size[0] == int(width.removesuffix("w"))
    assert (sources["width"], sources["height"]) == (1200, 675)
    assert media_path(sources["src"]).exists()


def test_a_picture_cut_short_in_transfer_is_refused_and_nothing_is_stored(editor_client):
    whole = picture(size=(1600, 1000))
    cut = whole[: len(whole) * 2 // 3]
    with Image.open(io.BytesIO(cut)) as image:
        image.verify()  # its structure looks fine: only decoding finds the missing third

    response = upload(editor_client, "cut.jpg", cut)

    [message] = hero_errors(response)
    assert message.startswith("This picture is damaged and cannot be used (image file is truncated")
    assert not Article.objects.exists()
    assert stored_files() == []
