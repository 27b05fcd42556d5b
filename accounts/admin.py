from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import Exists, OuterRef
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import Author, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = [*BaseUserAdmin.list_display, "has_second_factor"]
    list_filter = [*BaseUserAdmin.list_filter, "groups"]

    def get_queryset(self, request):
        authenticator = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
        return super().get_queryset(request).annotate(second_factor=Exists(authenticator))

    @admin.display(boolean=True, description="Two-factor", ordering="second_factor")
    def has_second_factor(self, user):
        # Who has not set an app up yet: until they do, their password alone lets whoever
        # holds it set one up (docs/DEPLOY.md, "Logins").
        return user.second_factor


@admin.register(Author)
class AuthorAdmin(admin.ModelAdmin):
    list_display = ["name", "job_title", "user"]
    list_select_related = ["user"]
    search_fields = ["name", "job_title"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["user"]
