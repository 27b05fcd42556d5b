"""Keeping a picture's renditions in step with its file and focal point (run by the tasks in
`pictures.tasks`, and by `manage.py make_renditions`)."""

from __future__ import annotations

from django.db import transaction

from . import renditions
from .models import Image


def bring_renditions_up_to_date(
    image_id: int, *, force: bool = False
) -> tuple[renditions.RenditionSet | None, str]:
    """Make the renditions `image_id`'s file and focal point call for, then point the row at
    them. Returns the set made and the key of the set it replaced ("" for none), which the
    caller removes once cached pages no longer point at it. Idempotent: a set already made is
    only checked. (None, "") when the picture has gone."""
    image = Image.objects.filter(pk=image_id).first()
    if image is None:
        return None, ""
    made = renditions.make_renditions(image, force=force)
    with transaction.atomic():
        row = Image.objects.select_for_update().get(pk=image_id)
        old = row.rendition_key
        if row.wanted_key != made.key or old == made.key:
            # Changed meanwhile (the task its change enqueued makes that set), or already live.
            return made, ""
        row.rendition_key = made.key
        row.save(update_fields=["rendition_key"])  # post_save: cached pages go stale
    return made, old
