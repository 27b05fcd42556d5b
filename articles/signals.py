"""Cached public pages go stale when anything they show changes, whoever changes it (admin,
services, importer, shell). The receivers here are the one place that decides it: Django's
save, delete and many-to-many signals, and `stories_inserted`, which the importer sends for its
bulk inserts (`bulk_create` sends no signals). The cache forgets after the change commits."""

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import Signal
from taggit.models import TaggedItem

from accounts.models import Author
from newsroom.cache import content_changed

from .models import Article, Correction, Section

# Sent with `ids`, the new stories' primary keys, after a bulk insert of stories.
stories_inserted = Signal()


def _changed(sender, **kwargs):
    content_changed()


def connect():
    for model in (Article, Correction, Section, Author, TaggedItem):
        post_save.connect(_changed, sender=model, dispatch_uid=f"page-cache-save-{model.__name__}")
        post_delete.connect(
            _changed, sender=model, dispatch_uid=f"page-cache-delete-{model.__name__}"
        )
    for through in (Article.authors.through, Article.related.through):
        m2m_changed.connect(_changed, sender=through, dispatch_uid=f"page-cache-m2m-{through}")
    stories_inserted.connect(_changed, sender=Article, dispatch_uid="page-cache-inserted")
