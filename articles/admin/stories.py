"""The newsroom's admin for stories and sections. Every rule lives in
`articles.services.workflow`: the admin asks it and shows the answer."""

from functools import partial

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import Http404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from ..models import Article, Correction, OldAddress, Section, Transition
from ..services import media, workflow
from ..views import render_article
from . import action_bar, drafts, previews, reads, takedowns
from . import live as live_desk
from .forms import ArticleAdminForm

Status = Article.Status
BADGE_COLOURS = {
    Status.DRAFT: "#555",
    Status.REVIEW: "#8a5a00",
    Status.PUBLISHED: "#0b6b2e",
    Status.WITHDRAWN: "#9b0a22",
}


@admin.register(Section)
class SectionAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "order"]
    list_editable = ["order"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


class CorrectionInline(admin.StackedInline):
    model = Correction
    extra = 0
    fields = ["kind", "text", "published_at"]


class OldAddressInline(admin.TabularInline):
    """The addresses the story had before: each redirects to it (delete one to free it)."""

    model = OldAddress
    extra = 0
    fields = ["path", "created_at"]
    readonly_fields = ["path", "created_at"]
    verbose_name_plural = "Old addresses (each redirects here)"
    template = "admin/articles/article/old_addresses.html"  # nothing shown without any

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Article)
class ArticleAdmin(SimpleHistoryAdmin):
    form = ArticleAdminForm
    change_form_template = "admin/articles/article/change_form.html"
    list_display = [
        "thumbnail",
        "headline",
        "status_badge",
        "section",
        "bylines",
        "publication",
        "is_breaking",
    ]
    list_display_links = ["headline"]
    list_filter = ["status", "section", "authors", "is_breaking", "is_featured"]
    list_select_related = ["section", "hero_image"]
    # Byline and tag names too: "everything Maggie wrote about seagulls" is how a desk searches.
    search_fields = ["headline", "standfirst", "seo_headline", "authors__name", "tags__name"]
    search_help_text = "Headline, standfirst, author or tag."
    date_hierarchy = "published_at"
    prepopulated_fields = {"slug": ["headline"]}
    autocomplete_fields = ["authors", "related"]
    raw_id_fields = ["hero_image"]
    readonly_fields = ["word_count", "created_at", "updated_at", "source_label", "version_info"]
    readonly_fields += ["coverage_started_at", "coverage_ended_at"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    inlines = [CorrectionInline, OldAddressInline]
    actions = ["publish_selected", "withdraw_selected", "mark_breaking"]
    history_list_display = ["status"]

    class Media:
        css = {"all": ["admin-extra/desk.css"]}  # full headlines; the action bar
        js = ["admin-extra/desk.js"]

    fieldsets = [
        (
            None,
            {
                "fields": [
                    "headline",
                    "slug",
                    "standfirst",
                    "body",
                    "edit_version",
                    "substantive_update",
                ]
            },
        ),
        ("Picture", {"fields": ["hero_image"]}),
        (
            "Placement",
            {
                "fields": [
                    "section",
                    "language",
                    "authors",
                    "tags",
                    "related",
                    "is_featured",
                    "is_breaking",
                    "breaking_until",
                ]
            },
        ),
        (
            "Live blog",
            {
                "fields": [
                    "live_status",
                    "live_summary",
                    "live_reporters_publish",
                    "coverage_started_at",
                    "coverage_ended_at",
                ],
                "classes": ["collapse"],
            },
        ),
        (
            "Publication",
            {
                "fields": [
                    "status",
                    "published_at",
                    "embargo_until",
                    "unpublish_at",
                    "revised_at",
                    "created_at",
                    "updated_at",
                    "word_count",
                    "version_info",
                ]
            },
        ),
        (
            "Search and social",
            {"fields": ["seo_headline", "social_headline"], "classes": ["collapse"]},
        ),
        ("Partners", {"fields": ["sponsored", "legal_hold", "no_syndication"]}),
        (
            "Source and navigation",
            {
                "fields": [
                    "source_name",
                    "source_url",
                    "source_label",
                    "previous_title",
                    "next_title",
                ],
                "classes": ["collapse"],
            },
        ),
    ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)

        class FormForUser(form):
            def __init__(self, *args, **inner):
                super().__init__(*args, user=request.user, **inner)

        return FormForUser

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.has_perm("articles.flag_article"):
            fields += [*workflow.FLAGS, *workflow.LIVE_SETTINGS]
        if not request.user.has_perm("articles.publish_article"):
            fields += list(workflow.PUBLICATION_FIELDS)
        return fields

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("authors")

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or workflow.can_edit(request.user, obj))

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or workflow.can_delete(request.user, obj))

    def save_model(self, request, obj, form, change):
        """One service call for the story with its bylines and tags (`form.save_m2m`), so the
        history records the result once; corrections follow in `save_related`."""
        data = form.cleaned_data
        if obj.status == Status.PUBLISHED:
            for warning in media.publishing_warnings(obj):
                self.message_user(request, warning, messages.WARNING)
        workflow.save_article(
            obj,
            by=request.user,
            expected_version=data.get("edit_version") if change else None,
            to=obj.status,
            substantive=bool(data.get("substantive_update")),
            related=form.save_m2m,
            note=data.get("move_note", ""),
        )
        drafts.forget(request.user, obj, new=not change)

    def save_related(self, request, form, formsets, change):
        for formset in formsets:  # the bylines and tags were saved with the story
            self.save_formset(request, form, formset, change=change)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        for attempt in (1, 2):
            try:
                return super().changeform_view(request, object_id, form_url, extra_context)
            except (workflow.EditConflict, PermissionDenied, ValidationError):
                if request.method != "POST" or attempt == 2:
                    raise
                # The story changed between the form's checks and the save (rolled back): the
                # form checks again against the row as it is now and shows what stands in the way.

    def render_change_form(self, request, context, *args, **kwargs):
        form = context.get("adminform").form if context.get("adminform") else None
        context["conflict"] = getattr(form, "conflict", None)
        original = context.get("original")
        if original is not None and original.pk and original.live_status:
            context.update(live_desk.desk_context(request, original))
        if original is not None and original.pk:
            context.update(previews.preview_context(request, original))
        context.update(action_bar.context(request, form, original))
        return super().render_change_form(request, context, *args, **kwargs)

    def view_on_site(self, obj):
        if obj.is_visible:
            return obj.get_absolute_url()
        return reverse("admin:articles_article_preview", args=[obj.pk])

    def get_urls(self):
        return [
            path(
                "<int:pk>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="articles_article_preview",
            ),
            path(
                "<int:pk>/preview-links/",
                self.admin_site.admin_view(partial(previews.preview_links_view, self)),
                name="articles_article_preview_links",
            ),
            path(
                "<int:pk>/reads/",
                self.admin_site.admin_view(partial(reads.reads_view, self)),
                name="articles_article_reads",
            ),
            path(
                "drafts/<str:story>/",
                self.admin_site.admin_view(drafts.draft_view),
                name="articles_article_draft",
            ),
            path(
                "<int:pk>/withdraw/",
                self.admin_site.admin_view(partial(takedowns.withdraw_view, self)),
                name="articles_article_withdraw",
            ),
            path(
                "<int:pk>/live/",
                self.admin_site.admin_view(live_desk.post_view),
                name="articles_article_live_post",
            ),
            path(
                "<int:pk>/live/<int:entry>/<str:action>/",
                self.admin_site.admin_view(live_desk.entry_action_view),
                name="articles_article_live_entry",
            ),
            *super().get_urls(),
        ]

    def preview_view(self, request, pk):
        """The article exactly as readers will see it, whatever its status."""
        article = Article.objects.detail(pk=pk)
        if article is None:
            raise Http404("No such story")
        if not workflow.can_preview(request.user, article):
            raise PermissionDenied
        if article.published_at is None:
            # Not yet given a time: shown as if published now, since the page's dates and its
            # structured data need one (without it the preview of any draft was a 500).
            article.published_at = timezone.now()
        response = render_article(request, article, preview=True)
        response["Cache-Control"] = "private, no-store"
        response["X-Robots-Tag"] = "noindex"
        return response

    @admin.display(description="")
    def thumbnail(self, article):
        found = article.hero_image.rendition_url("square") if article.hero_image_id else None
        if found is None:
            return ""
        return format_html('<img src="{}" alt="" width="64" height="64">', found[0])

    @admin.display(description="Status", ordering="status")
    def status_badge(self, article):
        label = article.get_status_display()
        if article.has_ended:
            label = "Ended"
        elif article.is_scheduled:
            label = "Scheduled"
        if article.is_embargoed:
            label = f"{label} · embargoed"
        return format_html(
            '<span style="color:#fff;background:{};padding:2px 8px;border-radius:8px">{}</span>',
            BADGE_COLOURS.get(article.status, "#555"),
            label,
        )

    @admin.display(description="Authors")
    def bylines(self, article):
        return ", ".join(author.name for author in article.authors.all())

    @admin.display(description="Published / scheduled", ordering="published_at")
    def publication(self, article):
        if not article.published_at:
            return "—"
        return timezone.localtime(article.published_at).strftime("%d %b %Y %H:%M")

    @admin.display(description="Version")
    def version_info(self, article):
        if not article.pk:
            return "—"
        who = article.updated_by.display_name if article.updated_by else "import"
        return f"{article.version} (last saved by {who})"

    def _each(self, request, queryset, action, done):
        ok = refused = 0
        for article in queryset:
            try:
                action(article)
                ok += 1
            except (PermissionDenied, ValidationError) as exc:
                refused += 1
                message = exc.messages[0] if isinstance(exc, ValidationError) else str(exc)
                self.message_user(request, f"“{article}”: {message}", messages.WARNING)
        if ok:
            self.message_user(request, f"{ok} {done}.", messages.SUCCESS)

    @admin.action(description="Publish selected stories now")
    def publish_selected(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda a: workflow.publish_article(a, by=request.user),
            "stories published",
        )

    @admin.action(description="Withdraw selected stories (410 Gone)…")
    def withdraw_selected(self, request, queryset):
        return takedowns.withdraw_selected(self, request, queryset)

    @admin.action(description="Mark selected stories as breaking news")
    def mark_breaking(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda a: workflow.set_breaking(a, by=request.user),
            "stories marked breaking",
        )


@admin.register(Transition)
class TransitionAdmin(admin.ModelAdmin):
    list_display = ["article", "from_status", "to_status", "by", "at"]
    list_filter = ["to_status"]
    list_select_related = ["article", "by"]
    search_fields = ["article__headline"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # A transition is deleted with its article (the admin asks about each related row), so
        # whoever may delete the article may delete its record: a Reporter's own draft that has
        # been to review and back can be deleted, as `workflow.can_delete` says.
        if obj is not None:
            return workflow.can_delete(request.user, obj.article)
        return super().has_delete_permission(request, obj)
