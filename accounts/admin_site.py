"""The newsroom's admin site: Django's, with the second factor part of being let in.

`has_permission` (which every admin page, the editorial dashboard included, goes through)
admits an active staff member only when their session passed the second factor, or when they
need none: not required for their role (`services.second_factor_required`) and none set up.
The login view is Django's with one change: a correct password alone logs in only those who
need no second factor; the others are sent on to the code or set-up step (`accounts.views`)."""

from functools import partial

from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth import logout as auth_logout
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django_otp import DEVICE_ID_SESSION_KEY

from . import services, views


def second_factor_passed(request) -> bool:
    """Whether this request's session passed the second factor its user needs, if any.

    django-otp's `login` records the device in the session after a right code. The record
    cannot outlive the device: adding or removing one gives its owner a new security stamp,
    which ends their sessions. So the record is believed without a query (django-otp's
    OTPMiddleware would load the device on every request)."""
    if request.session.get(DEVICE_ID_SESSION_KEY):
        return True
    return not services.needs_second_factor(request.user)


class NewsroomAdminSite(admin.AdminSite):
    def has_permission(self, request):
        return super().has_permission(request) and second_factor_passed(request)

    def login(self, request, extra_context=None):
        user = request.user
        admitted = self.has_permission(request)
        if request.method == "GET" and admitted:
            return HttpResponseRedirect(reverse("admin:index", current_app=self.name))
        if not admitted and user.is_authenticated and user.is_active and user.is_staff:
            # Logged in with a password alone (a session from before two-factor was required,
            # say): start again, so the second factor is asked for.
            auth_logout(request)
            messages.info(request, "Log in again: the admin needs your second factor too.")
        context = {
            **self.each_context(request),
            "title": "Log in",
            "subtitle": None,
            "app_path": request.get_full_path(),
            "username": request.user.get_username(),
        }
        if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
            context[REDIRECT_FIELD_NAME] = reverse("admin:index", current_app=self.name)
        context.update(extra_context or {})
        request.current_app = self.name
        return views.TwoStepLoginView.as_view(
            extra_context=context,
            authentication_form=self.login_form or AdminAuthenticationForm,
            template_name=self.login_template or "admin/login.html",
            next_page=reverse("admin:index", current_app=self.name),
        )(request)

    def get_app_list(self, request, app_label=None):
        """Django's list in the newsroom's words: tags among the stories, not an app of their
        own called "Taggit"."""
        apps = super().get_app_list(request, app_label)
        tags = next((app for app in apps if app["app_label"] == "taggit"), None)
        stories = next((app for app in apps if app["app_label"] == "articles"), None)
        if tags is not None and stories is not None:
            apps.remove(tags)
            stories["models"] = sorted(
                [*stories["models"], *tags["models"]], key=lambda model: model["name"]
            )
        return apps

    def get_urls(self):
        # Before Django's own: its last pattern catches every other path under /admin/.
        own = [
            path(
                "login/verify/",
                self._login_step(views.verify_code),
                name="two_factor_verify",
            ),
            path(
                "login/set-up/",
                self._login_step(views.set_up_authenticator),
                name="two_factor_setup",
            ),
            path(
                "security/",
                self.admin_view(partial(views.security, site=self)),
                name="two_factor",
            ),
            path(
                "security/recovery-codes/",
                self.admin_view(partial(views.recovery_codes, site=self)),
                name="two_factor_recovery_codes",
            ),
            path(
                "security/remove/",
                self.admin_view(partial(views.remove_second_factor, site=self)),
                name="two_factor_remove",
            ),
        ]
        return own + super().get_urls()

    def _login_step(self, view):
        """A step of the login, open to a pending login as well as a logged-in user (the view
        decides which it accepts)."""

        def step(request, *args, **kwargs):
            request.current_app = self.name
            return view(request, *args, site=self, **kwargs)

        return step
