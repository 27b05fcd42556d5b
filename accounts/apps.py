from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_delete, post_migrate, post_save


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "People"

    def ready(self):
        from django_otp.plugins.otp_static.models import StaticDevice
        from django_otp.plugins.otp_totp.models import TOTPDevice

        from .roles import sync_roles_after_migrate
        from .services import end_sessions_on_device_change

        # After every app's permissions exist (they are created on post_migrate too).
        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="accounts-sync-roles")
        # A second-factor device added or removed, by any route, ends the person's sessions.
        for model in (TOTPDevice, StaticDevice):
            for name, signal in (("saved", post_save), ("deleted", post_delete)):
                signal.connect(
                    end_sessions_on_device_change,
                    sender=model,
                    dispatch_uid=f"accounts-sessions-{model.__name__}-{name}",
                )


class NewsroomAdminConfig(admin_apps.AdminConfig):
    """Django's admin, with `admin.site` being the newsroom's (see `accounts.admin_site`)."""

    default = False  # named in INSTALLED_APPS; `accounts` itself is AccountsConfig
    default_site = "accounts.admin_site.NewsroomAdminSite"
