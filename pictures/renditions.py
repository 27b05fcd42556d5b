"""Making the renditions of a picture: every placement's crop (`pictures.placements`) at each
width, in AVIF, WebP and JPEG, written to the default storage under a key of the file and
focal point. Runs off the reader's path (a background task after an upload or a new focal
point, `manage.py make_renditions` for what is missing); a reader's request never resizes.

Each file is written from pixels alone: no EXIF, XMP or ICC data is passed to the encoders, so
whatever the upload carried (it is stripped then too), no rendition can carry a location.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image as PILImage

from . import placements

# A picture is first reduced to this many pixels across its longer side: twice the widest
# rendition, so crops stay sharp, without holding a 24-megapixel bitmap through every step.
WORKING_SIZE = 2400
ENCODER_OPTIONS = {
    "avif": {"format": "AVIF", "quality": 60, "speed": 8},
    "webp": {"format": "WEBP", "quality": 80, "method": 4},
    "jpeg": {"format": "JPEG", "quality": 82, "optimize": True, "progressive": True},
}
WHITE = (255, 255, 255)


@dataclass(frozen=True)
class RenditionSet:
    key: str
    files: int
    written: int
    seconds: float


def make_renditions(image, *, force: bool = False) -> RenditionSet:
    """Write every rendition of `image` (a library `Image`) for its current file and focal
    point, skipping files already there unless `force`. Returns the set's key, to be made
    the row's `rendition_key` once every file is written."""
    started = time.monotonic()
    key = placements.rendition_key(image.file.name, image.focal_x, image.focal_y)
    wanted = _wanted(image, key)
    missing = wanted if force else [w for w in wanted if not default_storage.exists(w[0])]
    if missing:
        with default_storage.open(image.file.name, "rb") as stored, PILImage.open(stored) as source:
            working = _working_copy(source)
            for name, placement, actual, extension in missing:
                _write(name, _cut(working, image, placement, actual), extension)
    return RenditionSet(key, len(wanted), len(missing), time.monotonic() - started)


def delete_renditions(image_id: int, key: str) -> int:
    """Remove one set of renditions (a replaced set, or a deleted picture's)."""
    folder = placements.directory(image_id, key)
    try:
        _dirs, files = default_storage.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return 0
    for name in files:
        default_storage.delete(folder + name)
    return len(files)


def _wanted(image, key: str) -> list[tuple[str, placements.Placement, int, str]]:
    out = []
    for placement in placements.PLACEMENTS.values():
        for target, actual, _height in placements.sizes_for(image.width, image.height, placement):
            for extension in placement.formats:
                name = placements.rendition_name(image.pk, key, placement.name, target, extension)
                out.append((name, placement, actual, extension))
    return out


def _working_copy(source: PILImage.Image) -> PILImage.Image:
    # JPEG can decode at 1/2, 1/4 or 1/8 size directly (`draft`): far less memory and time
    # for a camera original than decoding it whole and shrinking afterwards.
    source.draft("RGB", (WORKING_SIZE, WORKING_SIZE))
    picture = source.convert("RGBA" if _has_alpha(source) else "RGB")
    picture.thumbnail((WORKING_SIZE, WORKING_SIZE), PILImage.Resampling.LANCZOS)
    picture.info = {}
    return picture


def _has_alpha(picture: PILImage.Image) -> bool:
    return picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info


def _cut(working: PILImage.Image, image, placement, width: int) -> PILImage.Image:
    # The crop is worked out on the stored picture's size and scaled to the working copy.
    scale = working.width / image.width
    left, top, right, bottom = placements.crop_box(
        image.width, image.height, placement.ratio, image.focal_x, image.focal_y
    )
    box = (left * scale, top * scale, right * scale, bottom * scale)
    _target, actual_width, actual_height = next(
        size
        for size in placements.sizes_for(image.width, image.height, placement)
        if size[1] == width
    )
    return working.resize((actual_width, actual_height), PILImage.Resampling.LANCZOS, box=box)


def _write(name: str, picture: PILImage.Image, extension: str) -> None:
    options = dict(ENCODER_OPTIONS[extension])
    if extension == "jpeg" and picture.mode != "RGB":
        flat = PILImage.new("RGB", picture.size, WHITE)
        flat.paste(picture, mask=picture.getchannel("A"))
        picture = flat
    out = io.BytesIO()
    picture.save(out, **options)
    if default_storage.exists(name):  # a forced remake: the name must stay the same
        default_storage.delete(name)
    saved = default_storage.save(name, ContentFile(out.getvalue()))
    if saved != name:
        raise RuntimeError(f"storage stored {name} as {saved}")
