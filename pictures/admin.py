"""The library in the admin: find pictures by caption, credit or tag (thumbnails), upload
them (checked and cleaned as every upload is), set the focal point by clicking and see each
placement's crop side by side before saving, and see where each picture is used. The story
form's picture panel (`static/admin-extra/pictures.js`) searches and uploads through the two
JSON views here."""

from datetime import timedelta
from functools import partial

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.http import JsonResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from . import checks, services
from .models import Embed, Image
from .placements import PLACEMENTS

PICKER_RESULTS = 24
PREVIEWS = ("wide", "standard", "square", "social")


class LibraryFileField(forms.ImageField):
    """The library's checks before Django's own, which would refuse a decompression bomb, an
    SVG or a renamed text file with a generic "Upload a valid image"; the clean copy
    (`pictures.checks`) is what gets stored."""

    def to_python(self, data):
        if data and hasattr(data, "read"):  # a new upload
            clean = checks.check_and_clean(data)
            stem = (getattr(data, "name", "") or "picture").rsplit(".", 1)[0][:60] or "picture"
            cleaned = ContentFile(clean.content, name=f"{stem}.{clean.extension}")
            cleaned.notes = clean.notes
            cleaned.content_type = "image/png" if clean.extension == "png" else "image/jpeg"
            return super().to_python(cleaned)
        return super().to_python(data)


class ImageAdminForm(forms.ModelForm):
    class Meta:
        model = Image
        fields = "__all__"  # noqa: DJ007 - the admin narrows it to its fieldsets
        field_classes = {"file": LibraryFileField}
        widgets = {"focal_x": forms.HiddenInput, "focal_y": forms.HiddenInput}


class RightsFilter(admin.SimpleListFilter):
    title = "rights"
    parameter_name = "rights"

    def lookups(self, request, model_admin):
        return [("soon", "Running out within 14 days"), ("expired", "Run out")]

    def queryset(self, request, queryset):
        if self.value() == "soon":
            return queryset.expiring(within=timedelta(days=14))
        if self.value() == "expired":
            return queryset.expired()
        return queryset


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    form = ImageAdminForm
    change_form_template = "admin/pictures/image/change_form.html"
    list_display = ["thumbnail", "__str__", "credit", "licence", "rights_expire_at", "uploaded_at"]
    list_display_links = ["thumbnail", "__str__"]
    list_filter = ["licence", RightsFilter, "uploaded_at"]
    list_select_related = ["uploaded_by"]
    search_fields = ["caption", "alt_text", "credit", "source", "tags__name"]
    readonly_fields = ["size", "uploaded_by", "uploaded_at", "processing_note", "used_in"]
    fieldsets = [
        (None, {"fields": ["file", "size", "focal_x", "focal_y", "alt_text", "caption", "credit"]}),
        ("Source and rights", {"fields": ["source", "licence", "rights", "rights_expire_at"]}),
        ("Finding it", {"fields": ["tags", "used_in"]}),
        ("Upload", {"fields": ["uploaded_by", "uploaded_at", "processing_note"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        # A new file is a new library picture: the stories using this one keep what they had.
        return [*self.readonly_fields, "file"] if obj is not None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if not change:
            obj.uploaded_by = request.user
            obj.processing_note = " ".join(getattr(form.cleaned_data.get("file"), "notes", []))
        services.update_image(obj)
        if obj.processing_note and not change:
            self.message_user(request, f"The upload was adjusted: {obj.processing_note}")

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        context["placements"] = [PLACEMENTS[name] for name in PREVIEWS]
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    @admin.display(description="")
    def thumbnail(self, image):
        url = _thumbnail_url(image)
        return (
            format_html('<img src="{}" alt="" width="96" style="height:auto">', url) if url else ""
        )

    @admin.display(description="Size")
    def size(self, image):
        return f"{image.width} × {image.height} pixels" if image.width else "—"

    @admin.display(description="Used in")
    def used_in(self, image):
        stories = list(image.stories.select_related("section").order_by("-published_at")[:50])
        if not stories:
            return "No story yet."
        return format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            ((reverse("admin:articles_article_change", args=[s.pk]), s.headline) for s in stories),
        )

    def get_urls(self):
        return [
            path(
                "picker/",
                self.admin_site.admin_view(self.picker_view),
                name="pictures_image_picker",
            ),
            path(
                "upload/",
                self.admin_site.admin_view(self.upload_view),
                name="pictures_image_upload",
            ),
            *super().get_urls(),
        ]

    def picker_view(self, request):
        """Library pictures matching `q` (caption, alt text, credit, source, tag), newest
        first, as JSON for the story form's picture panel."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        found = Image.objects.matching(request.GET.get("q", ""))[:PICKER_RESULTS]
        return JsonResponse({"results": [_as_json(image) for image in found]})

    @staticmethod
    def _fields(request):
        return {
            name: request.POST.get(name, "").strip()
            for name in ("alt_text", "caption", "credit", "source")
        }

    def upload_view(self, request):
        """A picture uploaded from the story form, checked and cleaned: the new picture as
        JSON, or the reason it was refused (400)."""
        return require_POST(partial(_upload, self))(request)


def _upload(model_admin, request):
    if not model_admin.has_add_permission(request):
        raise PermissionDenied
    upload = request.FILES.get("file")
    if upload is None:
        return JsonResponse({"errors": ["Choose a picture to upload."]}, status=400)
    try:
        image = services.add_image(upload, by=request.user, **ImageAdmin._fields(request))
    except ValidationError as error:
        return JsonResponse({"errors": error.messages}, status=400)
    return JsonResponse({"image": _as_json(image)}, status=201)


def _thumbnail_url(image) -> str:
    found = image.rendition_url("square") if image.rendition_key else None
    return found[0] if found else (image.file.url if image.file else "")


def _as_json(image) -> dict:
    expiry = image.rights_expire_at
    return {
        "id": image.pk,
        "thumbnail": _thumbnail_url(image),
        "file": image.file.url if image.file else "",
        "width": image.width,
        "height": image.height,
        "focal": [image.focal_x, image.focal_y],
        "alt": image.alt_text,
        "caption": image.caption,
        "credit": image.credit,
        "expired": bool(expiry and expiry <= timezone.now()),
        "note": image.processing_note,
        "change_url": reverse("admin:pictures_image_change", args=[image.pk]),
    }


@admin.register(Embed)
class EmbedAdmin(admin.ModelAdmin):
    list_display = ["provider", "title", "author_name", "url", "fetched_at"]
    list_filter = ["provider"]
    list_select_related = ["thumbnail"]
    search_fields = ["title", "author_name", "url"]
    readonly_fields = [f.name for f in Embed._meta.fields if f.name != "id"]

    def has_add_permission(self, request):
        return False  # made from the link an editor pastes into a story
