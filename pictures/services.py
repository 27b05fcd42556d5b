"""Library services: adding a picture, changing it, and bringing its renditions up to date."""

from __future__ import annotations

from functools import partial

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.text import get_valid_filename

from newsroom.cache import purge

from . import checks, keys, signals
from .models import Image
from .tasks import make_renditions_task


@transaction.atomic
def add_image(upload, *, by=None, min_width: int = checks.MIN_WIDTH, tags=(), **fields) -> Image:
    """A new library picture from `upload`, checked and cleaned (`pictures.checks`: a
    `ValidationError` with the reason otherwise, and nothing stored), with `fields` (alt text,
    caption, credit, …). Its renditions are made by a background task once it is committed."""
    clean = checks.check_and_clean(upload, min_width=min_width)
    image = Image(uploaded_by=by, processing_note=" ".join(clean.notes), **fields)
    image.full_clean(exclude=["file", "uploaded_by"])
    stem = get_valid_filename(str(getattr(upload, "name", "") or "picture")).rsplit(".", 1)[0]
    image.file.save(
        f"{stem[:60] or 'picture'}.{clean.extension}", ContentFile(clean.content), save=False
    )
    image.width, image.height = clean.width, clean.height
    image.save()
    if tags:
        image.tags.set(list(tags))
    request_renditions(image)
    return image


@transaction.atomic
def update_image(image: Image, *, fields: list[str] | None = None) -> Image:
    """Save edits to `image` (caption, credit, rights, focal point…). A new focal point gets a
    new set of renditions; pages keep the old set until the new one is complete."""
    image.full_clean(exclude=["file", "uploaded_by"])
    image.save(update_fields=fields)
    if not image.renditions_current:
        request_renditions(image)
    return image


def request_renditions(image: Image) -> None:
    """Have the renditions made after the current transaction commits, off the request."""
    transaction.on_commit(partial(make_renditions_task.enqueue, image.pk))


@transaction.atomic
def remove_from_storage(image: Image, *, reason: str) -> None:
    """Take a picture off every page at once (a hard purge of its key) and out of storage (a
    legal takedown): its renditions and original file are deleted once the change commits;
    the row stays, not shown, with `reason` as its note, for the record."""
    files = partial(
        signals.delete_files, image.pk, image.rendition_key, image.file.name, image.file.storage
    )
    # The row no longer names the file either: nothing can make renditions of it again.
    Image.objects.filter(pk=image.pk).update(
        rendition_key="",
        file="",
        processing_note=reason[: Image._meta.get_field("processing_note").max_length],
    )
    image.rendition_key = ""
    purge({keys.image(image.pk)})
    transaction.on_commit(files)
