"""API consumers in the admin: adding one, or asking for a new key, shows the key once."""

from django.contrib import admin, messages

from .models import Consumer


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
