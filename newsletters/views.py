"""Readers' newsletter pages: choose and sign up, confirm, unsubscribe (also RFC 8058 one-click)
and preferences. Every page works without JavaScript.

The sign-up form sits on cached public pages, which cannot carry a per-reader CSRF token; a
forged sign-up only records a pending request that nothing is sent to before the reader
confirms. The other forms are authorised by the signed token in their URL, which a forger
does not have, and mail providers' one-click POSTs carry no CSRF token at all; so all are
exempt from CSRF checks.
"""

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from newsroom.cache import public_page

from . import ratelimit
from .addresses import InvalidAddress
from .forms import PreferencesForm, SignupForm
from .models import NEWSLETTERS_KEY, Newsletter, Subscription
from .services import (
    confirm_subscriptions,
    default_newsletters,
    newsletters_received,
    peek_confirmation,
    preference_choices,
    read_preferences,
    request_subscription,
    unsubscribe,
    update_preferences,
)
from .tokens import ExpiredToken, InvalidToken, read_unsubscribe_token


def _newsletters_page(request, form, *, status=200):
    """The page listing every public newsletter, where one address may choose several."""
    newsletters = Newsletter.objects.filter(is_public=True).order_by("name")
    return render(
        request,
        "newsletters/newsletter_list.html",
        {"form": form, "newsletters": newsletters},
        status=status,
    )


def _signup_page(request, form, *, status=200):
    """The plain sign-up page: one address, the default newsletter (like the box on articles)."""
    return render(
        request,
        "newsletters/signup.html",
        {"form": form, "default_newsletter": default_newsletters().first()},
        status=status,
    )


@public_page(keys=[NEWSLETTERS_KEY])
@require_http_methods(["GET", "HEAD"])
def newsletter_list(request):
    return _newsletters_page(request, SignupForm(initial={"choosing": True, "next": request.path}))


@csrf_exempt
@public_page(keys=[NEWSLETTERS_KEY])
@require_http_methods(["GET", "HEAD", "POST"])
def signup(request):
    """Where the sign-up box, the sign-up page and the newsletters page post to."""
    if request.method != "POST":
        return _signup_page(request, SignupForm(initial={"next": request.path}))
    form = SignupForm(request.POST)
    if form.is_bot:
        return render(request, "newsletters/signup_done.html")  # what a person would see
    if not ratelimit.allow(
        "ip", ratelimit.client_ip(request), limit=settings.NEWSROOM_NEWSLETTER_SIGNUPS_PER_IP
    ):
        return render(request, "newsletters/signup_limited.html", status=429)
    if not form.is_valid():
        page = _newsletters_page if request.POST.get("choosing") else _signup_page
        return page(request, form, status=400)
    # Past the per-address limit, the reader sees the same page but no further email goes out
    # (request_subscription counts it): the form says nothing about the address.
    request_subscription(
        form.cleaned_data["email"],
        newsletters=form.cleaned_data["newsletters"] or default_newsletters(),
        source_url=form.cleaned_data["next"],
    )
    return render(request, "newsletters/signup_done.html")


def _link_problem(request, exc: InvalidToken, *, what: str):
    expired = isinstance(exc, ExpiredToken)
    return render(
        request,
        "newsletters/link_problem.html",
        {"expired": expired, "what": what},
        status=410 if expired else 400,
    )


@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request, token):
    """GET shows a button (link scanners that follow every link in an email must not confirm
    on the reader's behalf); POST confirms."""
    try:
        if request.method == "POST":
            outcome = confirm_subscriptions(token)
        else:
            outcome = peek_confirmation(token)
    except InvalidToken as exc:
        return _link_problem(request, exc, what="confirmation")
    if request.method != "POST" and outcome.confirmed:
        return render(request, "newsletters/confirm.html", {"outcome": outcome})
    return render(request, "newsletters/confirm_done.html", {"outcome": outcome, "token": token})


@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe_view(request, token):
    """The link in every email (GET: a button) and the RFC 8058 one-click endpoint (POST, from
    the button or from the mail provider, with no CSRF token, cookie or login). The link never
    expires, so it does nothing but unsubscribe: the page after it offers to sign up again,
    which emails a confirmation link like any sign-up (POST with action=resubscribe), and links
    to nothing that could do more."""
    try:
        subscription_id = read_unsubscribe_token(token)
    except InvalidToken as exc:
        return _link_problem(request, exc, what="unsubscribe")
    subscription = (
        Subscription.objects.select_related("newsletter").filter(pk=subscription_id).first()
    )
    if subscription is None:  # erased since: there is nothing left to send to
        return render(request, "newsletters/unsubscribe_done.html", {"subscription": None})
    if request.method == "POST" and request.POST.get("action") == "resubscribe":
        try:
            request_subscription(
                subscription.email, newsletters=[subscription.newsletter], source_url="unsubscribe"
            )
        except InvalidAddress:  # a row stored before such addresses were refused
            pass
        return render(request, "newsletters/resubscribe_done.html", {"subscription": subscription})
    if request.method == "POST":
        unsubscribe(subscription)
    elif subscription.status != Subscription.Status.UNSUBSCRIBED:
        return render(request, "newsletters/unsubscribe.html", {"subscription": subscription})
    return render(request, "newsletters/unsubscribe_done.html", {"subscription": subscription})


@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def preferences(request, token):
    """What an address receives: unticking stops a newsletter at once; ticking one asks for
    it by double opt-in (update_preferences)."""
    try:
        email = read_preferences(token)
    except InvalidToken as exc:
        return _link_problem(request, exc, what="preferences")
    choices = preference_choices(email)
    saved = None
    if request.method == "POST":
        form = PreferencesForm(request.POST, choices=choices)
        if form.is_valid():
            saved = update_preferences(email, chosen=form.cleaned_data["newsletters"])
    if request.method != "POST" or saved is not None:
        receiving = newsletters_received(email, choices)
        form = PreferencesForm(initial={"newsletters": list(receiving)}, choices=choices)
    return render(
        request,
        "newsletters/preferences.html",
        {"form": form, "email": email, "saved": saved},
        status=200 if saved is not None or request.method != "POST" else 400,
    )
