"""What happens whenever content is saved, whoever saves it (admin, services, importer, shell).

- Cached public pages go stale when anything they show changes. The receivers here are the one
  place that decides it: Django's save, delete and many-to-many signals, and `stories_inserted`,
  which the importer sends for its bulk inserts (`bulk_create` sends no signals). The cache
  forgets after the change commits.
- Text reaches the database without control characters (`Article.save` cleans its own first,
  as its slug and identity derive from the headline).
"""

from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import Signal
from django.utils.text import slugify
from taggit.models import Tag, TaggedItem

from accounts.models import Author
from newsroom.cache import content_changed
from newsroom.text import clean_text_fields

from .models import Article, Correction, Section

# Sent with `ids`, the new stories' primary keys, after a bulk insert of stories.
stories_inserted = Signal()


def _changed(sender, **kwargs):
    content_changed()


def _clean_text(sender, instance, raw=False, **kwargs):
    if not raw:  # fixtures are loaded as they are
        clean_text_fields(instance)


def _tag_slug(sender, instance, raw=False, **kwargs):
    """A tag of symbols alone ("!!!", "🔥") gets a slug of its code points, not an empty one
    (an empty slug made every page showing the tag a 500)."""
    if not raw and instance._state.adding and not slugify(instance.slug, allow_unicode=True):
        instance.slug = "tag-" + "-".join(f"{ord(c):x}" for c in instance.name.strip()[:20])


def connect():
    for model in (Correction, Section, Author, Tag):
        pre_save.connect(_clean_text, sender=model, dispatch_uid=f"clean-text-{model.__name__}")
    pre_save.connect(_tag_slug, sender=Tag, dispatch_uid="tag-slug")
    for model in (Article, Correction, Section, Author, TaggedItem):
        post_save.connect(_changed, sender=model, dispatch_uid=f"page-cache-save-{model.__name__}")
        post_delete.connect(
            _changed, sender=model, dispatch_uid=f"page-cache-delete-{model.__name__}"
        )
    for through in (Article.authors.through, Article.related.through):
        m2m_changed.connect(_changed, sender=through, dispatch_uid=f"page-cache-m2m-{through}")
    stories_inserted.connect(_changed, sender=Article, dispatch_uid="page-cache-inserted")
