import functools

from anymail import urls as anymail_urls
from anymail.exceptions import AnymailError
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404, HttpResponseBadRequest
from django.urls import URLPattern, include, path

from . import views


def _set_up_only(view):
    """A provider's webhook answers only once it is secured: with no shared secret (anymail
    would take anyone's events) or without the provider's own key (anymail refuses to run,
    ImproperlyConfigured) it is not there, a 404; a body anymail cannot read is a 400."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not settings.ANYMAIL.get("WEBHOOK_SECRET"):
            raise Http404("Provider webhooks are not set up here")
        try:
            return view(request, *args, **kwargs)
        except ImproperlyConfigured:
            raise Http404("This provider's webhook is not set up here") from None
        except AnymailError as error:
            return HttpResponseBadRequest(f"Not a webhook this provider sends: {error}")

    return wrapper


PROVIDER_WEBHOOKS = [
    URLPattern(p.pattern, _set_up_only(p.callback), p.default_args, p.name)
    for p in anymail_urls.urlpatterns
    if p.name.endswith("_tracking_webhook")  # bounces and complaints; inbound mail is not read
]

app_name = "newsletters"
urlpatterns = [
    path("", views.newsletter_list, name="list"),
    path("sign-up/", views.signup, name="signup"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("unsubscribe/<str:token>/", views.unsubscribe_view, name="unsubscribe"),
    path("preferences/<str:token>/", views.preferences, name="preferences"),
    # Mail providers' bounce and complaint webhooks (`services.bounces.from_provider`).
    path("anymail/", include((PROVIDER_WEBHOOKS, "anymail"))),
]
