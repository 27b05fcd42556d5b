"""Background tasks of the library. Each takes ids and calls one idempotent function."""

from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from . import renditions, upkeep

# How long a replaced set of renditions is kept: cached pages (and the CDN) may still point at
# it for their max-age, so it goes well after they have.
OLD_RENDITIONS_KEPT = timedelta(hours=1)


@task()
def make_renditions_task(image_id: int) -> dict | None:
    """Make the renditions a picture's file and focal point call for, and switch to them; the
    set they replace is removed an hour later."""
    made, old = upkeep.bring_renditions_up_to_date(image_id)
    if made is None:
        return None
    if old:
        later = delete_renditions_task
        if later.get_backend().supports_defer:
            later = later.using(run_after=timezone.now() + OLD_RENDITIONS_KEPT)
        later.enqueue(image_id, old)
    return {"key": made.key, "written": made.written}


@task()
def delete_renditions_task(image_id: int, key: str) -> int:
    """Remove a replaced set of renditions (kept a while for cached pages)."""
    return renditions.delete_renditions(image_id, key)
