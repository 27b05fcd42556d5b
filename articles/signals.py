"""Cached public pages go stale when anything they show changes, whoever changes it (admin,
importer, shell): the content version is bumped after the change commits."""

from django.db.models.signals import m2m_changed, post_delete, post_save
from taggit.models import TaggedItem

from accounts.models import Author
from newsroom.cache import content_changed

from .models import Article, Correction, Section


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
