"""What happens whenever a newsletter row is saved, whoever saves it (admin, services, an API,
the shell): its text reaches the database without control characters, and its one-line fields
(names, subjects) without line breaks, as the article models' text does (articles.signals).
`bulk_create` and `update` send no signals: the services that use them store text that is
already clean (a normalised address, a one-line page path). A newsletter's change purges the
public pages listing newsletters."""

from django.db.models.signals import post_delete, post_save, pre_save

from newsroom.cache import purge
from newsroom.text import clean_text_fields

from .models import NEWSLETTERS_KEY, Edition, Newsletter, Subscription


def _clean_text(sender, instance, raw=False, **kwargs):
    if not raw:  # fixtures are loaded as they are
        clean_text_fields(instance)


def _listed(sender, raw=False, **kwargs):
    if not raw:
        purge({NEWSLETTERS_KEY}, soft=True)


def connect():
    from anymail.signals import tracking

    from .services.bounces import from_provider

    tracking.connect(from_provider, dispatch_uid="newsletters-bounces")
    for model in (Newsletter, Edition, Subscription):
        pre_save.connect(_clean_text, sender=model, dispatch_uid=f"clean-text-{model.__name__}")
    post_save.connect(_listed, sender=Newsletter, dispatch_uid="page-cache-newsletter-saved")
    post_delete.connect(_listed, sender=Newsletter, dispatch_uid="page-cache-newsletter-gone")
