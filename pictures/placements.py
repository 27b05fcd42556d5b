"""Where pictures go and what is made for each place: the crops (`PLACEMENTS`), their widths
and file formats, and the arithmetic of cropping around a focal point. Plain Python, so the
templates' `srcset` can be computed from a row's stored numbers without opening any file.

A crop is the largest box of the placement's shape that fits the picture, centred on the
focal point as far as the picture's edges allow: a face on the left of a wide shot stays in
the square card, where a centred crop would cut it out.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

# Raised when the way renditions are made changes (quality, sizes): every picture then gets a
# new set under a new key, and no browser or CDN keeps serving an old file for it.
RENDITION_VERSION = 1


@dataclass(frozen=True)
class Placement:
    name: str
    ratio: float | None  # width / height; None keeps the picture's own shape
    widths: tuple[int, ...]
    formats: tuple[str, ...]
    label: str


# Browsers take the first <source> type they support: AVIF is smallest, WebP next, JPEG is
# the fallback every client (and every email client) reads.
FORMATS = ("avif", "webp", "jpeg")
WIDTHS = (400, 800, 1200)
PLACEMENTS = {
    placement.name: placement
    for placement in (
        Placement("wide", 16 / 9, WIDTHS, FORMATS, "16:9: story top, front-page lead"),
        Placement("standard", 4 / 3, WIDTHS, FORMATS, "4:3: story cards"),
        Placement("square", 1.0, WIDTHS, FORMATS, "1:1: small cards, related stories"),
        Placement("free", None, WIDTHS, FORMATS, "as shot: pictures and galleries in the story"),
        Placement("social", 1.91, (1200,), ("jpeg",), "1.91:1: link previews on social networks"),
    )
}
CONTENT_TYPES = {"avif": "image/avif", "webp": "image/webp", "jpeg": "image/jpeg"}


def rendition_key(file_name: str, focal_x: float, focal_y: float) -> str:
    """The name of one set of renditions: a new file or focal point is a new set, so a page
    never mixes crops, and a cached page keeps working until the new set has replaced it."""
    text = f"{RENDITION_VERSION}:{file_name}:{focal_x:.3f}:{focal_y:.3f}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def rendition_name(image_id: int, key: str, placement: str, width: int, extension: str) -> str:
    return f"{directory(image_id, key)}{placement}-{width}.{extension}"


def directory(image_id: int, key: str) -> str:
    return f"renditions/{image_id}/{key}/"


def crop_size(width: int, height: int, ratio: float | None) -> tuple[int, int]:
    """The size of the largest `ratio`-shaped box inside a `width` × `height` picture."""
    if ratio is None:
        return width, height
    if width / height > ratio:
        return max(1, round(height * ratio)), height
    return width, max(1, round(width / ratio))


def crop_box(
    width: int, height: int, ratio: float | None, focal_x: float, focal_y: float
) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the crop: centred on the focal point (fractions of the
    width and height), moved back inside the picture where it would stick out."""
    box_width, box_height = crop_size(width, height, ratio)
    left = min(max(0, round(focal_x * width - box_width / 2)), width - box_width)
    top = min(max(0, round(focal_y * height - box_height / 2)), height - box_height)
    return left, top, left + box_width, top + box_height


@lru_cache(maxsize=4096)  # a page asks it of every picture on it, most of one size or a few
def sizes_for(width: int, height: int, placement: Placement) -> tuple[tuple[int, int, int], ...]:
    """(target width named in the file, actual width, actual height) of each rendition of a
    picture: never wider than its crop, so a small picture gets fewer, not blurred, files."""
    box_width, box_height = crop_size(width, height, placement.ratio)
    out, seen = [], set()
    for target in placement.widths:
        actual = min(target, box_width)
        if actual in seen:
            continue
        seen.add(actual)
        out.append((target, actual, max(1, round(box_height * actual / box_width))))
    return tuple(out)
