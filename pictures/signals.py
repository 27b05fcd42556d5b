"""Cached pages show pictures and embed snapshots: a change to one makes the pages showing it
stale (by its surrogate key), and a deleted picture's files go with it."""

from functools import partial

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from newsroom.cache import purge

from . import keys
from .models import Embed, Image
from .renditions import delete_renditions


def _changed(sender, instance, raw=False, **kwargs):
    if not raw:
        key = keys.image(instance.pk) if sender is Image else keys.embed(instance.pk)
        purge({key}, soft=True)


def delete_files(image_id: int, key: str, name: str, storage) -> None:
    """Remove a picture's renditions and original file from `storage`."""
    if key:
        delete_renditions(image_id, key)
    if name:
        storage.delete(name)


def _removed(sender, instance, **kwargs):
    files = partial(
        delete_files,
        instance.pk,
        instance.rendition_key,
        instance.file.name,
        instance.file.storage,
    )
    transaction.on_commit(files)


def connect():
    for model in (Image, Embed):
        post_save.connect(_changed, sender=model, dispatch_uid=f"page-cache-save-{model.__name__}")
        post_delete.connect(
            _changed, sender=model, dispatch_uid=f"page-cache-delete-{model.__name__}"
        )
    post_delete.connect(_removed, sender=Image, dispatch_uid="picture-files-delete")
