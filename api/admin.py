"""The content API in the admin: consumers (adding one, or asking for a new key, shows the key
once), their webhook endpoints, the log of every delivery, partner feeds, and what Apple News
holds of each story."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db import models
from django.utils.html import format_html

from . import webhooks
from .models import (
    EVENTS,
    AppleNewsArticle,
    Consumer,
    Delivery,
    Endpoint,
    PartnerFeed,
    new_feed_token,
)


@admin.register(Consumer)
class ConsumerAdmin(admin.ModelAdmin):
    list_display = ["name", "key_start", "requests_per_minute", "is_active", "last_used_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "contact", "key_start"]
    fields = ["name", "contact", "requests_per_minute", "is_active", "key_start", "last_used_at"]
    readonly_fields = ["key_start", "last_used_at"]
    actions = ["issue_new_keys"]

    def save_model(self, request, obj, form, change):
        key = obj.new_key() if not change else None
        super().save_model(request, obj, form, change)
        if key:
            self._show_key(request, obj, key)

    @admin.action(description="Issue a new key (the old one stops working)")
    def issue_new_keys(self, request, queryset):
        for consumer in queryset:
            key = consumer.new_key()
            consumer.save(update_fields=["key_start", "key_hash"])
            self._show_key(request, consumer, key)

    @staticmethod
    def _show_key(request, consumer, key):
        messages.warning(
            request,
            f"The key of “{consumer}” is {key}: copy it now, it is not shown again and "
            "Newsroom keeps only its hash.",
        )


class EndpointForm(forms.ModelForm):
    url = forms.URLField(label="Address", max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=list(EVENTS.items()), widget=forms.CheckboxSelectMultiple, required=True
    )

    class Meta:
        model = Endpoint
        fields = ["consumer", "url", "events", "is_active", "secret"]


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = ["url", "consumer", "is_active", "failing_since", "disabled_reason"]
    list_filter = ["is_active"]
    readonly_fields = ["secret", "failing_since", "disabled_reason"]
    fields = ["consumer", "url", "events", "is_active", "secret", "failing_since"]
    fields += ["disabled_reason"]

    def save_model(self, request, obj, form, change):
        switched_on = change and "is_active" in form.changed_data and obj.is_active
        super().save_model(request, obj, form, change)
        if switched_on:
            webhooks.resume(obj)
            messages.info(request, "Switched on: what it missed is being sent, in order.")


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The log: read-only, as a record should be."""

    list_display = ["event", "story_id", "endpoint", "status", "attempts", "last_code"]
    list_display += ["last_error", "created_at", "delivered_at"]
    list_filter = ["status", "event", "endpoint"]
    search_fields = ["message_id", "story_id"]
    list_select_related = ["endpoint"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AppleNewsArticle)
class AppleNewsArticleAdmin(admin.ModelAdmin):
    """What Apple News holds of each story, and what it last refused: read-only."""

    list_display = ["story", "apple_id", "revision", "synced_at", "last_error"]
    list_filter = [("last_error", admin.EmptyFieldListFilter)]
    search_fields = ["story__headline", "apple_id"]
    list_select_related = ["story"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PartnerFeed)
class PartnerFeedAdmin(admin.ModelAdmin):
    list_display = ["name", "full_text", "pictures", "items", "is_active"]
    list_filter = ["is_active", "full_text"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    # A handful of sections: ticked boxes, not a two-list picker.
    formfield_overrides = {models.ManyToManyField: {"widget": forms.CheckboxSelectMultiple}}
    fields = ["name", "slug", "consumer", "sections", "full_text", "pictures", "items"]
    fields += ["is_active", "address"]
    readonly_fields = ["address"]
    actions = ["new_addresses"]

    @admin.display(description="Address to give the partner")
    def address(self, obj):
        if not obj.pk:
            return "Shown once saved."
        return format_html("<code>{}{}</code>", settings.SITE_URL, obj.get_absolute_url())

    @admin.action(description="Give the selected feeds new addresses (the old ones stop working)")
    def new_addresses(self, request, queryset):
        for feed in queryset:
            feed.token = new_feed_token()
            feed.save(update_fields=["token"])
        self.message_user(request, f"{len(queryset)} feed(s) have new addresses.", messages.SUCCESS)
