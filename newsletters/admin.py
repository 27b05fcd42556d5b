"""The newsroom's newsletter admin. Who may do what is model permissions, `newsletters.*`:
the "Newsletter editor" role is meant to get them all (see accounts.roles), including
`send_edition` (test, send, schedule) and `export_subscription` (the CSV export)."""

import csv

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from .forms import ScheduleForm
from .models import Bounce, Delivery, Edition, EditionStory, Newsletter, Subscription, Suppression
from .services import (
    confirmed_subscriber_rows,
    edition_progress,
    render_edition,
    schedule_edition,
    send_edition_now,
    send_test_edition,
    unschedule_edition,
)
from .services.editions import SEND_PERMISSION

EXPORT_PERMISSION = "newsletters.export_subscription"
PREVIEW_LINK = "#preview-link"


class _Echo:
    def write(self, value):
        return value


def _csv_safe(value) -> str:
    # A cell a spreadsheet would run as a formula is kept as text.
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


@admin.register(Newsletter)
class NewsletterAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "cadence", "is_public", "digest", "confirmed_subscribers"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]
    actions = ["export_subscribers"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "description", "cadence", "is_public"]}),
        ("Daily digest", {"fields": ["digest", "digest_at", "digest_size"]}),
    ]

    def get_queryset(self, request):
        from django.db.models import Count, Q

        return (
            super()
            .get_queryset(request)
            .annotate(
                confirmed=Count(
                    "subscriptions", filter=Q(subscriptions__status=Subscription.Status.CONFIRMED)
                )
            )
        )

    @admin.display(description="confirmed subscribers", ordering="confirmed")
    def confirmed_subscribers(self, obj):
        return obj.confirmed

    def has_export_permission(self, request):
        return request.user.has_perm(EXPORT_PERMISSION)

    @admin.action(description="Export confirmed subscribers (CSV)", permissions=["export"])
    def export_subscribers(self, request, queryset):
        """Stream a CSV of the confirmed subscribers of the selected newsletters. Pending and
        unsubscribed addresses are never in it."""
        writer = csv.writer(_Echo())
        header = ["email", "newsletter", "consent_at", "confirmed_at", "source_url"]
        rows = confirmed_subscriber_rows(list(queryset.values_list("pk", flat=True)))

        def lines():
            yield writer.writerow(header)
            for row in rows:
                yield writer.writerow([_csv_safe(value) for value in row])

        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="subscribers-{stamp}.csv"'
        return response


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["email", "newsletter", "status", "consent_at", "confirmed_at"]
    list_filter = ["status", "newsletter"]
    list_select_related = ["newsletter"]
    search_fields = ["email"]
    readonly_fields = ["consent_at", "confirmed_at", "unsubscribed_at", "source_url", "created_at"]


class EditionStoryInline(admin.TabularInline):
    model = EditionStory
    autocomplete_fields = ["article"]
    fields = ["article", "position"]
    extra = 3

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (obj is None or obj.is_editable)

    has_add_permission = has_delete_permission = has_change_permission


@admin.register(Edition)
class EditionAdmin(admin.ModelAdmin):
    list_display = [
        "subject",
        "newsletter",
        "status",
        "scheduled_at",
        "sent_at",
        "sent_count",
        "failed_count",
    ]
    list_filter = ["status", "newsletter", ("digest_of", admin.EmptyFieldListFilter)]
    list_select_related = ["newsletter"]
    search_fields = ["subject"]
    autocomplete_fields = ["newsletter"]
    inlines = [EditionStoryInline]
    fields = [
        "newsletter",
        "subject",
        "preheader",
        "intro",
        "status",
        "digest_of",
        "scheduled_at",
        "progress",
        "actions_links",
    ]
    readonly_fields = [
        "status", "failure_reason", "digest_of", "scheduled_at", "progress", "actions_links"
    ]  # fmt: skip

    def get_fields(self, request, obj=None):
        if obj is not None and obj.failure_reason:
            at = self.fields.index("status") + 1
            return [*self.fields[:at], "failure_reason", *self.fields[at:]]
        return self.fields

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and not obj.is_editable:
            return ["newsletter", "subject", "preheader", "intro", *self.readonly_fields]
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description="progress")
    def progress(self, obj):
        if obj is None or obj.pk is None:
            return "–"
        p = edition_progress(obj)
        if "audience" in p:
            return f"Not sent yet. {p['audience']:,} confirmed subscribers would receive it."
        return format_html(
            "<strong>{}</strong> sent, <strong>{}</strong> failed, <strong>{}</strong> "
            "remaining of {} ({} interrupted, {} skipped as unsubscribed).",
            f"{p['sent']:,}",
            f"{p['failed']:,}",
            f"{p['remaining']:,}",
            f"{p['total']:,}",
            p["interrupted"],
            p["skipped"],
        )

    @admin.display(description="preview and send")
    def actions_links(self, obj):
        if obj is None or obj.pk is None:
            return "Save the edition first."
        return format_html(
            '<a href="{}" target="_blank">Preview (HTML)</a> · '
            '<a href="{}" target="_blank">Preview (plain text)</a> · '
            '<a href="{}">Test, send or schedule…</a>',
            reverse("admin:newsletters_edition_preview_html", args=[obj.pk]),
            reverse("admin:newsletters_edition_preview_text", args=[obj.pk]),
            reverse("admin:newsletters_edition_send", args=[obj.pk]),
        )

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:pk>/preview/html/",
                wrap(self.preview_html),
                name="newsletters_edition_preview_html",
            ),
            path(
                "<int:pk>/preview/text/",
                wrap(self.preview_text),
                name="newsletters_edition_preview_text",
            ),
            path("<int:pk>/send/", wrap(self.send_view), name="newsletters_edition_send"),
            *super().get_urls(),
        ]

    def _edition(self, request, pk) -> Edition:
        edition = get_object_or_404(Edition.objects.select_related("newsletter"), pk=pk)
        if not self.has_view_or_change_permission(request, edition):
            raise PermissionDenied
        return edition

    def preview_html(self, request, pk):
        rendered = render_edition(
            self._edition(request, pk), unsubscribe=PREVIEW_LINK, preferences=PREVIEW_LINK
        )
        return HttpResponse(rendered.html)

    def preview_text(self, request, pk):
        rendered = render_edition(
            self._edition(request, pk), unsubscribe=PREVIEW_LINK, preferences=PREVIEW_LINK
        )
        return HttpResponse(
            f"Subject: {rendered.subject}\n\n{rendered.text}",
            content_type="text/plain; charset=utf-8",
        )

    def send_view(self, request, pk):
        """One page to send a test to yourself, send now, schedule or unschedule."""
        edition = self._edition(request, pk)
        if not request.user.has_perm(SEND_PERMISSION):
            raise PermissionDenied
        form = ScheduleForm(request.POST or None)
        if request.method == "POST":
            return self._send_action(request, edition, form)
        if edition.status == Edition.Status.FAILED:
            messages.error(
                request, f"Sending stopped: {edition.failure_reason} Then send it again."
            )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Send “{edition.subject}”",
            "edition": edition,
            "progress": edition_progress(edition),
            "form": form,
            "opts": self.model._meta,
            "change_url": reverse("admin:newsletters_edition_change", args=[edition.pk]),
        }
        return TemplateResponse(request, "admin/newsletters/edition/send.html", context)

    @staticmethod
    def _send_action(request, edition, form):
        back = reverse("admin:newsletters_edition_send", args=[edition.pk])
        action = request.POST.get("action")
        try:
            if action == "test":
                send_test_edition(edition, to=request.user.email, by=request.user)
                messages.success(request, f"A test copy was sent to {request.user.email}.")
            elif action == "send":
                send_edition_now(edition, by=request.user)
                messages.success(request, "Sending has started; progress shows below.")
            elif action == "schedule":
                if not form.is_valid():
                    messages.error(request, "Enter the date and time to send it at.")
                    return HttpResponseRedirect(back)
                edition = schedule_edition(
                    edition, at=form.cleaned_data["scheduled_at"], by=request.user
                )
                when = timezone.localtime(edition.scheduled_at).strftime("%d %b %Y, %H:%M")
                messages.success(request, f"Scheduled for {when}.")
            elif action == "unschedule":
                unschedule_edition(edition, by=request.user)
                messages.success(request, "No longer scheduled; the edition is a draft again.")
            else:
                messages.error(request, "Unknown action.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        except OSError as exc:  # the mail server could not be reached for the test
            messages.error(request, f"The test could not be sent: {exc}")
        return HttpResponseRedirect(back)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """Read only: one row per edition and subscriber, to look up what happened to one reader."""

    list_display = ["edition", "email", "status", "attempts", "sent_at", "last_error"]
    list_filter = ["status"]
    list_select_related = ["edition", "subscription"]
    search_fields = ["subscription__email"]
    raw_id_fields = ["edition", "subscription"]

    @admin.display(ordering="subscription__email")
    def email(self, obj):
        return obj.subscription.email

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    """Addresses no edition goes to. Delete one to lift it (once the reader has fixed their
    mailbox); add one to stop mail to an address by hand."""

    list_display = ["email", "reason", "created_at"]
    list_filter = ["reason"]
    search_fields = ["email", "email_key"]
    fields = ["email", "reason", "detail", "created_at"]
    readonly_fields = ["created_at"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "email"] if obj else self.readonly_fields


@admin.register(Bounce)
class BounceAdmin(admin.ModelAdmin):
    """Every bounce and complaint as it came: a record, read-only."""

    list_display = ["email_key", "kind", "source", "at", "detail"]
    list_filter = ["kind", "source"]
    search_fields = ["email_key", "reference"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
