"""Stories' changes turned into webhook events (`api.webhooks.announce`) and Apple News
updates (`api.apple_news_api`), whoever makes them:
the workflow, the admin, a bulk action or a script. (The importer's bulk inserts are not
announced: new stories go into review and are announced when an editor publishes them.)"""

from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from articles.models import Article, Correction
from articles.signals import story_changed

from . import apple_news_api, webhooks
from .models import Endpoint


def _story_changed(sender, article, was_visible, visible, text, **kwargs):
    if visible or was_visible:
        apple_news_api.story_changed(article)
    _announce(article, was_visible, visible, text)


def _announce(article, was_visible, visible, text):
    if visible and not was_visible:
        webhooks.announce("story.published", article)
    elif was_visible and not visible:
        webhooks.announce("story.withdrawn", article)
    elif visible and text:
        webhooks.announce("story.updated", article)
    now = timezone.now()
    if not visible and article.is_scheduled:  # it appears by itself at its time
        webhooks.announce("story.published", article, at=article.published_at)
        apple_news_api.story_changed(article, at=article.published_at)
    if article.unpublish_at and article.unpublish_at > now and article.status == "published":
        webhooks.announce("story.withdrawn", article, at=article.unpublish_at)
        apple_news_api.story_changed(article, at=article.unpublish_at)


def _corrected(sender, instance, created=False, raw=False, **kwargs):
    if created and not raw:
        webhooks.announce("story.corrected", instance.article)
        apple_news_api.story_changed(instance.article)


def connect():
    story_changed.connect(_story_changed, sender=Article, dispatch_uid="webhooks-story")
    post_save.connect(_corrected, sender=Correction, dispatch_uid="webhooks-correction")
    for signal in (post_save, post_delete):
        signal.connect(webhooks.forget_endpoints, sender=Endpoint, dispatch_uid="webhooks-list")
