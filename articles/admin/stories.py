"""The newsroom's admin for articles and sections. Every rule lives in `articles.workflow`:
the admin only asks it and shows the answer."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django_prose_editor.widgets import AdminProseEditorWidget
from simple_history.admin import SimpleHistoryAdmin

from ..body import EDITOR_CONFIG
from ..images import upright, validate_hero_image
from ..models import Article, Correction, Section, Transition
from ..services import workflow
from ..views import render_article

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


class HeroImageField(forms.ImageField):
    """Runs the newsroom's checks before Django's own, which would otherwise refuse a
    decompression bomb, an SVG or a renamed text file with its generic "Upload a valid image"
    and never let the editor see why."""

    def to_python(self, data):
        if data and hasattr(data, "read"):  # a new upload
            validate_hero_image(data)
        return super().to_python(data)


class ArticleAdminForm(forms.ModelForm):
    body = forms.CharField(
        required=False,
        widget=AdminProseEditorWidget(config=EDITOR_CONFIG, preset="configurable"),
        help_text="Mark a paragraph as a related-story teaser (its text is the other story's "
        "headline) or as the place of the newsletter sign-up box with the paragraph style menu.",
    )
    edit_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    source_url = forms.URLField(
        required=False,
        max_length=500,
        assume_scheme="https",
        label="Source URL",
    )
    substantive_update = forms.BooleanField(
        required=False,
        label="Show readers an “Updated” time",
        help_text="Tick for a change of substance to a published story; leave it for typo fixes.",
    )

    class Meta:
        model = Article
        fields = "__all__"  # noqa: DJ007 - the admin narrows it to its fieldsets
        field_classes = {"hero_image": HeroImageField}

    class Media:
        js = ["admin-extra/tag-suggest.js"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.conflict = None
        if "tags" in self.fields:
            # Suggestions come from the admin's autocomplete view for this field.
            query = "app_label=articles&model_name=article&field_name=tags"
            self.fields["tags"].widget.attrs["data-autocomplete-url"] = (
                f"{reverse('admin:autocomplete')}?{query}"
            )
        if self.instance.pk:
            self.fields["edit_version"].initial = self.instance.version
        if "status" in self.fields and user is not None:
            allowed = workflow.allowed_statuses(user, self.instance)
            self.fields["status"].choices = [
                (value, label) for value, label in Status.choices if value in allowed
            ]
        if "published_at" in self.fields:
            zone = timezone.get_current_timezone_name()
            self.fields[
                "published_at"
            ].help_text = (
                f"Newsroom time ({zone}). A future time schedules the story: it appears by itself."
            )

    def clean_hero_image(self):
        image = self.cleaned_data.get("hero_image")
        if image and hasattr(image, "content_type"):  # a new upload (checked by its field)
            return upright(image) or image
        return image

    def clean(self):
        cleaned = super().clean()
        article = self.instance
        if self.user is None:
            return cleaned
        target = cleaned.get("status", article.status)
        stored = Article.objects.filter(pk=article.pk).first() if article.pk else None
        current_status = stored.status if stored else Status.DRAFT
        if stored is not None and not workflow.can_edit(self.user, stored):
            raise ValidationError("You may not edit this article.")
        if target != current_status:
            probe = Article(
                status=current_status, created_by_id=article.created_by_id, pk=article.pk
            )
            if not workflow.can_move(self.user, probe, target):
                self.add_error("status", "You may not give this article that status.")
        flags = [f for f in workflow.FLAGS if f in self.changed_data]
        if flags and not self.user.has_perm("articles.flag_article"):
            raise ValidationError("Only editors can mark stories as breaking or featured.")
        hero = cleaned.get("hero_image")
        if target == Status.PUBLISHED and hero and not (cleaned.get("hero_alt") or "").strip():
            self.add_error("hero_alt", "Describe the hero image before publishing.")
        if stored is not None and cleaned.get("edit_version") != stored.version:
            self.conflict = self._differences(stored)
            self.data = self.data.copy()
            self.data["edit_version"] = stored.version  # saving again keeps what was typed
            raise ValidationError(str(workflow.EditConflict(stored)), code="conflict")
        return cleaned

    def _differences(self, stored):
        """(field label, their version, your version) for each field that now differs."""
        rows = []
        for name in ("headline", "standfirst", "body", "section", "published_at", "status"):
            if name not in self.fields:
                continue
            theirs = getattr(stored, name)
            yours = self.cleaned_data.get(name, theirs)
            if str(theirs or "") != str(yours or ""):
                rows.append((self.fields[name].label, theirs, yours))
        return rows


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
    list_select_related = ["section"]
    search_fields = ["headline", "standfirst", "seo_headline"]
    date_hierarchy = "published_at"
    prepopulated_fields = {"slug": ["headline"]}
    autocomplete_fields = ["authors", "related"]
    readonly_fields = ["word_count", "created_at", "updated_at", "source_label", "version_info"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    inlines = [CorrectionInline]
    actions = ["publish_selected", "withdraw_selected", "mark_breaking"]
    history_list_display = ["status"]
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
        ("Hero image", {"fields": ["hero_image", "hero_alt", "hero_caption", "hero_credit"]}),
        (
            "Placement",
            {
                "fields": [
                    "section",
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
            "Publication",
            {
                "fields": [
                    "status",
                    "published_at",
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
            fields += list(workflow.FLAGS)
        if not request.user.has_perm("articles.publish_article"):
            fields += ["published_at", "revised_at"]
        return fields

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("authors")

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or workflow.can_edit(request.user, obj))

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or workflow.can_delete(request.user, obj))

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        target = obj.status
        if change:
            obj.status = Article.objects.values_list("status", flat=True).get(pk=obj.pk)
        else:
            obj.status = Status.DRAFT
        workflow.save_article(
            obj,
            by=request.user,
            expected_version=form.cleaned_data.get("edit_version"),
            substantive=bool(form.cleaned_data.get("substantive_update")),
            flags_changed=any(f in form.changed_data for f in workflow.FLAGS),
        )
        if target != obj.status:
            workflow.transition_article(obj, to=target, by=request.user, at=obj.published_at)

    def render_change_form(self, request, context, *args, **kwargs):
        form = context.get("adminform").form if context.get("adminform") else None
        context["conflict"] = getattr(form, "conflict", None)
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
            *super().get_urls(),
        ]

    def preview_view(self, request, pk):
        """The article exactly as readers will see it, whatever its status."""
        article = get_object_or_404(Article.objects.for_detail(), pk=pk)
        if not self.has_view_or_change_permission(request, article):
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
        if not article.hero_image or not article.hero_width:
            return ""
        return format_html(
            '<img src="{}" alt="" width="64" style="height:auto">', article.hero_480.url
        )

    @admin.display(description="Status", ordering="status")
    def status_badge(self, article):
        label = article.get_status_display()
        if article.status == Status.PUBLISHED and not article.is_visible:
            label = "Scheduled"
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
        editor = article.updated_by
        who = (editor.get_full_name() or editor.get_username()) if editor else "import"
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

    @admin.action(description="Withdraw selected stories (410 Gone)")
    def withdraw_selected(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda a: workflow.withdraw_article(a, by=request.user),
            "stories withdrawn",
        )

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
