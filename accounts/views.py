"""The admin's two-step login and each person's own two-factor page.

A correct password logs in at once only those who need no second factor. For anyone who has
one, or must have one, it leaves a *pending login* in the still anonymous session: who, by
which backend, where to go next, since when. The code step (`verify_code`), or for someone who
must first set an authenticator app up, the set-up step (`set_up_authenticator`), completes it
with Django's `login` and django-otp's, so no session is ever logged in on a password alone.
A pending login lasts ten minutes and five wrong codes; each wrong code also counts as a failed
login for django-axes, so passwords and codes share one lockout per username and address.
"""

from __future__ import annotations

import time

import segno
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_lockout_response
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import LoginView, redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice

from . import services
from .forms import AuthenticatorSetupForm, CodeForm
from .models import User

PENDING_KEY = "accounts.pending_login"
# Long enough to install an authenticator app; short enough that a password typed on a shared
# computer does not stay usable there for long.
PENDING_SECONDS = 600
PENDING_TRIES = 5
SETUP_KEY = "accounts.authenticator_key"  # the key being set up, until a code confirms it
CODES_KEY = "accounts.recovery_codes"  # new recovery codes, until shown (once)


class TwoStepLoginView(LoginView):
    """Django's login view, which sends anyone who has or needs a second factor on to it
    instead of logging them in."""

    def form_valid(self, form):
        user = form.get_user()
        if not services.needs_second_factor(user):
            return super().form_valid(form)
        start_pending_login(self.request, user, next_url=self.get_success_url())
        if services.has_second_factor(user):
            return HttpResponseRedirect(reverse("admin:two_factor_verify"))
        return HttpResponseRedirect(reverse("admin:two_factor_setup"))


# --- The pending login ---------------------------------------------------------------------


def start_pending_login(request, user: User, *, next_url: str) -> None:
    if request.user.is_authenticated:
        request.session.flush()
    else:
        request.session.cycle_key()  # a session key planted before the password is no use
    request.session[PENDING_KEY] = {
        "user": user.pk,
        "backend": user.backend,
        "next": next_url,
        "since": int(time.time()),
        "tries": 0,
    }


def pending_login(request) -> tuple[User | None, dict | None]:
    """The user whose password was given in this session, and the login's state; (None, None)
    when there is none, or it expired, or that user may no longer log in."""
    pending = request.session.get(PENDING_KEY)
    if not pending:
        return None, None
    if time.time() - pending["since"] > PENDING_SECONDS or pending["tries"] >= PENDING_TRIES:
        end_pending_login(request)
        return None, None
    user = User.objects.filter(pk=pending["user"], is_active=True).first()
    if user is None:
        end_pending_login(request)
        return None, None
    return user, pending


def end_pending_login(request) -> None:
    request.session.pop(PENDING_KEY, None)
    request.session.pop(SETUP_KEY, None)


def complete_login(request, user: User, device, pending: dict) -> None:
    end_pending_login(request)
    auth_login(request, user, backend=pending["backend"])
    otp_login(request, device)


def count_wrong_code(request, user: User, pending: dict) -> None:
    pending["tries"] += 1
    request.session[PENDING_KEY] = pending
    # django-axes records it as a failed login (and locks the username+address out at the
    # limit: its middleware then answers 429 instead of this page).
    user_login_failed.send(
        sender=__name__, credentials={"username": user.get_username()}, request=request
    )


def login_locked(request, user: User) -> bool:
    credentials = {"username": user.get_username()}
    return settings.AXES_ENABLED and not AxesProxyHandler.is_allowed(request, credentials)


def back_to_login(request, note: str) -> HttpResponseRedirect:
    messages.error(request, note)
    return HttpResponseRedirect(reverse("admin:login"))


# --- The login's second step -------------------------------------------------------------


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def verify_code(request, *, site):
    """Ask for a code from the authenticator app, or a recovery code, and complete the login."""
    user, pending = pending_login(request)
    if user is None:
        return back_to_login(request, "Log in with your username and password first.")
    if not services.has_second_factor(user):
        return HttpResponseRedirect(reverse("admin:two_factor_setup"))
    if login_locked(request, user):
        end_pending_login(request)
        return get_lockout_response(request, None, {"username": user.get_username()})
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.verify_second_factor(user, form.cleaned_data["code"])
        except services.CodeThrottled as wait:
            form.add_error("code", f"Too many wrong codes: try again in {wait.seconds} s.")
        else:
            if device is not None:
                complete_login(request, user, device, pending)
                if isinstance(device, StaticDevice):
                    note_recovery_code_used(request, user)
                return HttpResponseRedirect(pending["next"])
            count_wrong_code(request, user, pending)
            if pending["tries"] >= PENDING_TRIES:
                end_pending_login(request)
                return back_to_login(request, "Too many wrong codes: log in again.")
            form.add_error("code", "That code is not right (a code from the app works once).")
    context = {
        **site.each_context(request),
        "title": "Two-factor authentication",
        "subtitle": None,
        "form": form,
        "person": user,
    }
    return TemplateResponse(request, "admin/two_factor/verify.html", context)


def note_recovery_code_used(request, user: User) -> None:
    left = services.recovery_codes_left(user)
    messages.warning(
        request,
        f"You used a recovery code; {left} left. If your phone is lost, set up the app again "
        "on a new one (Two-factor, at the top right).",
    )


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def set_up_authenticator(request, *, site):
    """Add an authenticator app: show its key (as a QR code and as text), and store it once the
    app's first code matches. For a pending login (someone who must have a second factor and
    has none) this completes the login; for someone logged in it replaces their app."""
    user, pending = pending_login(request)
    if user is None:
        if not site.has_permission(request):
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        user = request.user
    elif services.has_second_factor(user):
        # One who has an app proves it first; replacing it is for after the login.
        return HttpResponseRedirect(reverse("admin:two_factor_verify"))
    key = request.session.get(SETUP_KEY)
    if not key:
        key = request.session[SETUP_KEY] = services.new_authenticator_key()
    form = AuthenticatorSetupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        step = services.authenticator_code_matches(key, form.cleaned_data["code"])
        if step is not None:
            device, codes = services.set_up_authenticator(user, key=key, verified_at_step=step)
            request.session.pop(SETUP_KEY, None)
            if pending:
                complete_login(request, user, device, pending)
                next_url = pending["next"]
            else:
                update_session_auth_hash(request, user)  # the new stamp ends the *other* sessions
                otp_login(request, device)
                next_url = reverse("admin:two_factor")
            request.session[CODES_KEY] = {"codes": codes, "next": next_url}
            return HttpResponseRedirect(reverse("admin:two_factor_recovery_codes"))
        if pending:
            pending["tries"] += 1
            request.session[PENDING_KEY] = pending
            if pending["tries"] >= PENDING_TRIES:
                end_pending_login(request)
                return back_to_login(request, "Too many wrong codes: log in again.")
        form.add_error("code", "That is not the code the app shows for this key: try the next one.")
    setup_uri = services.authenticator_setup_uri(user, key)
    context = {
        **site.each_context(request),
        "title": "Set up two-factor authentication",
        "subtitle": None,
        "form": form,
        "person": user,
        "pending": bool(pending),
        "required": services.second_factor_required(user),
        "qr_code": segno.make(setup_uri, error="m").svg_data_uri(scale=4, border=2),
        "key_text": services.authenticator_key_text(key),
    }
    return TemplateResponse(request, "admin/two_factor/set_up.html", context)


# --- One's own two-factor page (logged in) -----------------------------------------------


@never_cache
def security(request, *, site):
    """What protects this login, and the buttons to change it."""
    user = request.user
    device = services.authenticator_of(user)
    context = {
        **site.each_context(request),
        "title": "Two-factor authentication",
        "subtitle": None,
        "device": device,
        "required": services.second_factor_required(user),
        "codes_left": services.recovery_codes_left(user) if device else 0,
    }
    return TemplateResponse(request, "admin/two_factor/security.html", context)


@csrf_protect
@never_cache
def recovery_codes(request, *, site):
    """New recovery codes (POST), and the page that shows them, once."""
    if request.method == "POST":
        if not services.has_second_factor(request.user):
            raise PermissionDenied("Recovery codes back up an authenticator app: set one up.")
        codes = services.replace_recovery_codes(request.user)
        update_session_auth_hash(request, request.user)
        request.session[CODES_KEY] = {"codes": codes, "next": reverse("admin:two_factor")}
        return HttpResponseRedirect(request.path)
    shown = request.session.pop(CODES_KEY, None)
    if not shown:
        return HttpResponseRedirect(reverse("admin:two_factor"))
    context = {
        **site.each_context(request),
        "title": "Your recovery codes",
        "subtitle": None,
        "codes": [services.recovery_code_text(code) for code in shown["codes"]],
        "next_url": shown["next"],
    }
    return TemplateResponse(request, "admin/two_factor/recovery_codes.html", context)


@require_POST
@csrf_protect
def remove_second_factor(request, *, site):
    """Turn two-factor off, for someone whose role does not require it."""
    user = request.user
    if services.second_factor_required(user):
        raise PermissionDenied("Your role needs two-factor authentication; replace the app.")
    services.remove_second_factor(user)
    request.session.pop(DEVICE_ID_SESSION_KEY, None)
    update_session_auth_hash(request, user)
    messages.success(request, "Two-factor authentication is off; your other sessions ended.")
    return HttpResponseRedirect(reverse("admin:two_factor"))
