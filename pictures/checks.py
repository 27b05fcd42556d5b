"""Upload checks: what a picture must be to enter the library, and the clean copy that is
stored instead of the file as sent.

Accepted: JPEG, PNG, WebP, GIF and AVIF, at most `MAX_UPLOAD_BYTES` and `MAX_PIXELS`. SVG (which
can carry scripts), other formats, files that only claim to be pictures, decompression bombs
(small files that expand to enormous bitmaps) and files cut short in transfer are refused with
a message an editor can act on. What is accepted is normalised, with a note of what changed:

- turned upright as its EXIF orientation says (phones store pictures sideways with a flag);
- print colours (CMYK) converted to screen colours, 16-bit channels reduced to 8, palette
  pictures expanded; an animation keeps its first frame (pages show stills);
- every piece of metadata dropped: EXIF (GPS position, camera and lens serial numbers, the
  owner's name), XMP, IPTC and comments. A source photographed by a reader can be found from
  the GPS tags of the picture; nothing of them is kept, so no rendition can carry them.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "AVIF"}
MAX_UPLOAD_BYTES = 15 * 1024 * 1024
MAX_PIXELS = 40_000_000  # 8,000 × 5,000: more than any camera a newsroom uses
MIN_WIDTH = 400
ORIENTATION = 0x0112  # the EXIF tag
QUARTER_TURNS = {5, 6, 7, 8}  # orientations whose upright picture swaps width and height
FORMATS_TEXT = "JPEG, PNG, WebP, GIF or AVIF"
SRGB = ImageCms.createProfile("sRGB")


@dataclass
class CleanPicture:
    """The picture as stored: upright, 8-bit sRGB (with its transparency, if any), no metadata."""

    content: bytes
    extension: str  # "jpg" or "png"
    width: int
    height: int
    notes: list[str] = field(default_factory=list)


def check_and_clean(upload, *, min_width: int = MIN_WIDTH) -> CleanPicture:
    """The clean copy of `upload`, or `ValidationError` saying why it cannot be used."""
    size = getattr(upload, "size", None)
    if size is not None and size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            f"The picture is {size / 1_048_576:.1f} MB; the limit is "
            f"{MAX_UPLOAD_BYTES // 1_048_576} MB. Export it smaller and try again."
        )
    head = _peek(upload, 512)
    if b"<svg" in head.lower() or head.lstrip().startswith(b"<?xml"):
        raise ValidationError(f"SVG files are not accepted: use {FORMATS_TEXT}.")
    try:
        with warnings.catch_warnings():
            # Pillow warns (rather than fails) between MAX_IMAGE_PIXELS and twice that.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(_file(upload)) as image:
                _check_header(image)
                image.verify()
            # verify() reads the structure, not the pixels: a file cut short in transfer passes
            # it and then breaks every rendition. Decoding it here finds that.
            with Image.open(_file(upload)) as image:
                _check_width(image, min_width)
                return _clean(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError(
            "This file would expand to an enormous picture (a decompression bomb) and is refused."
        ) from None
    except UnidentifiedImageError:
        raise ValidationError(
            f"This file is not a picture we can read. Use {FORMATS_TEXT}."
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        if "truncated" in str(exc):
            raise ValidationError(
                "This picture is cut short (the file is truncated): it was probably not "
                "uploaded or exported completely. Export it again and upload the new file."
            ) from None
        raise ValidationError(f"This picture is damaged and cannot be used ({exc}).") from None
    finally:
        _rewind(upload)


def _check_header(image: Image.Image) -> None:
    if image.format not in ACCEPTED_FORMATS:
        raise ValidationError(f"{image.format} pictures are not accepted: use {FORMATS_TEXT}.")
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ValidationError(
            f"The picture is {width:,} × {height:,} pixels; the limit is "
            f"{MAX_PIXELS // 1_000_000} million pixels. Export it smaller and try again."
        )


def _check_width(image: Image.Image, min_width: int) -> None:
    width, height = image.size
    if image.getexif().get(ORIENTATION) in QUARTER_TURNS:
        width, height = height, width  # stored sideways: shown as `upright` turns it
    if width < min_width:
        raise ValidationError(
            f"The picture is {width} pixels wide; pictures need at least {min_width}."
        )


def _clean(image: Image.Image) -> CleanPicture:
    notes = []
    if getattr(image, "n_frames", 1) > 1:
        notes.append("An animation: its first frame is used as a still picture.")
        image.seek(0)
    image.load()
    upright = ImageOps.exif_transpose(image)
    if upright is not image and image.getexif().get(ORIENTATION, 1) != 1:
        notes.append("Turned upright as the camera recorded.")
    picture = _screen_colours(upright, notes)
    picture.info = {}  # no EXIF, XMP, ICC, comments: nothing is copied into what is saved
    out = io.BytesIO()
    if picture.mode in ("RGBA", "LA"):
        picture.save(out, "PNG", optimize=False, compress_level=6)
        extension = "png"
    else:
        picture.save(out, "JPEG", quality=92, subsampling=0)
        extension = "jpg"
    return CleanPicture(out.getvalue(), extension, *picture.size, notes=notes)


def _screen_colours(image: Image.Image, notes: list[str]) -> Image.Image:
    """8-bit RGB (or RGBA, or L/LA for greys) in sRGB."""
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        notes.append("16 bits per channel reduced to 8.")
        return image.convert("I").point(lambda value: value / 256).convert("L")
    if mode == "CMYK":
        notes.append("Print colours (CMYK) converted to screen colours (RGB).")
        return _to_srgb(image, "RGB")
    if mode in ("P", "PA"):
        keeps_transparency = "transparency" in image.info or mode == "PA"
        return image.convert("RGBA" if keeps_transparency else "RGB")
    if mode in ("1", "L", "LA", "RGB", "RGBA"):
        return _to_srgb(image, mode) if image.info.get("icc_profile") else image
    notes.append(f"Colour mode {mode} converted to RGB.")
    return image.convert("RGB")


def _to_srgb(image: Image.Image, mode: str) -> Image.Image:
    """Colours converted through the picture's own ICC profile when it has one, so a CMYK or
    wide-gamut picture keeps its look on screens; a plain conversion otherwise."""
    profile = image.info.get("icc_profile")
    target = "RGB" if mode in ("CMYK", "RGB", "P") else mode
    if profile and mode in ("CMYK", "RGB"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            return ImageCms.profileToProfile(image, source, SRGB, outputMode=target)
        except (ImageCms.PyCMSError, OSError):
            pass
    return image.convert(target)


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
