"""Hero image uploads: checked with Pillow before they are stored, turned upright.

Accepted: JPEG, PNG, WebP and GIF, at most `MAX_UPLOAD_BYTES` and `MAX_PIXELS`. SVG (which can
carry scripts), other formats, files that only claim to be images, and decompression bombs
(small files that expand to enormous bitmaps) are refused with a message an editor can act on.
"""

from __future__ import annotations

import io
import warnings

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
}
MAX_UPLOAD_BYTES = 15 * 1024 * 1024
MAX_PIXELS = 40_000_000  # 8,000 × 5,000: more than any camera a newsroom uses
MIN_WIDTH = 400
ORIENTATION = 0x0112  # the EXIF tag
QUARTER_TURNS = {5, 6, 7, 8}  # orientations whose upright picture swaps width and height


def validate_hero_image(upload) -> None:
    """Raise `ValidationError` unless `upload` is an image we accept."""
    size = getattr(upload, "size", None)
    if size is not None and size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            f"The picture is {size / 1_048_576:.1f} MB; the limit is "
            f"{MAX_UPLOAD_BYTES // 1_048_576} MB. Export it smaller and try again."
        )
    head = _peek(upload, 512)
    if b"<svg" in head.lower() or head.lstrip().startswith(b"<?xml"):
        raise ValidationError("SVG files are not accepted for hero images: use JPEG, PNG or WebP.")
    try:
        with warnings.catch_warnings():
            # Pillow warns (rather than fails) between MAX_IMAGE_PIXELS and twice that.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(_file(upload)) as image:
                image_format = image.format
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise ValidationError(_too_big(width, height))
                if "exif" in image.info and image.getexif().get(ORIENTATION) in QUARTER_TURNS:
                    width, height = height, width  # stored sideways: shown as `upright` turns it
                image.verify()
            # verify() reads the structure, not the pixels: a file cut short in transfer passes
            # it and then breaks every rendition. Decoding it once finds that here.
            with Image.open(_file(upload)) as image:
                image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError(
            "This file would expand to an enormous picture (a decompression bomb) and is refused."
        ) from None
    except UnidentifiedImageError:
        raise ValidationError(
            "This file is not a picture we can read. Use JPEG, PNG, WebP or GIF."
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValidationError(f"This picture is damaged and cannot be used ({exc}).") from None
    finally:
        _rewind(upload)
    if image_format not in ACCEPTED_FORMATS:
        raise ValidationError(
            f"{image_format} pictures are not accepted for hero images: use JPEG, PNG or WebP."
        )
    if width < MIN_WIDTH:
        raise ValidationError(
            f"The picture is {width} pixels wide; hero images need at least {MIN_WIDTH}."
        )


def upright(upload) -> SimpleUploadedFile | None:
    """A copy of `upload` rotated as its EXIF orientation says (phones store pictures sideways
    and set a flag), or None when it is already upright."""
    with Image.open(_file(upload)) as image:
        orientation = image.getexif().get(ORIENTATION, 1)
        if orientation in (None, 1):
            _rewind(upload)
            return None
        image_format = image.format
        fixed = ImageOps.exif_transpose(image)
        out = io.BytesIO()
        params = {"quality": 92} if image_format == "JPEG" else {}
        fixed.save(out, format=image_format, **params)
    _rewind(upload)
    return SimpleUploadedFile(
        upload.name, out.getvalue(), content_type=ACCEPTED_FORMATS.get(image_format)
    )


def _too_big(width, height):
    return (
        f"The picture is {width:,} × {height:,} pixels; the limit is {MAX_PIXELS // 1_000_000} "
        "million pixels. Export it smaller and try again."
    )


def _file(upload):
    _rewind(upload)
    return upload.file if hasattr(upload, "file") else upload


def _peek(upload, n):
    _rewind(upload)
    data = _file(upload).read(n)
    _rewind(upload)
    return data


def _rewind(upload):
    target = upload.file if hasattr(upload, "file") else upload
    if hasattr(target, "seek"):
        target.seek(0)
