"""The live desk in the admin: a short entry form on the blog's own page (not the whole story
form), its entries with their status and the buttons to approve or remove them, and a list of
every blog's entries. Every rule is `articles.services.live`'s; the admin shows its answers."""

from __future__ import annotations

import html
import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from accounts.models import Author
from pictures.embeds import EmbedError, snapshot_embed

from .. import body as article_body
from ..models import Article, LiveEntry
from ..services import live

RECENT_ON_DESK = 50
NUMBERS = re.compile(r"\d+")


class EntryForm(forms.Form):
    """What a reporter types on the desk: words, and pictures or an embed by the library's
    numbers and a link, which become the body's marked paragraphs."""

    title = forms.CharField(max_length=200, required=False)
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=article_body.MAX_TEXT_CHARACTERS,
        help_text="A blank line between paragraphs. Start a line with > to quote someone.",
    )
    pictures = forms.CharField(
        required=False,
        max_length=200,
        help_text="Library numbers: one for a picture, several for a gallery (12, 15, 9).",
    )
    embed = forms.URLField(required=False, assume_scheme="https", max_length=500)
    key_event = forms.BooleanField(required=False, label="Key event")
    author = forms.ModelChoiceField(
        Author.objects.order_by("name"), required=False, help_text="Empty: your own byline."
    )
    publish = forms.BooleanField(required=False, label="Publish now")

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_embed(self):
        link = self.cleaned_data.get("embed", "")
        if link:
            try:
                snapshot_embed(link, by=self.user)  # the snapshot is made now, as for a story
            except EmbedError as error:
                raise ValidationError(error.messages) from None
        return link

    def body(self) -> str:
        """The entry's HTML, in the body's vocabulary (`articles.body`)."""
        data = self.cleaned_data
        blocks = [b.strip() for b in re.split(r"\n\s*\n", data["text"].strip()) if b.strip()]
        out = []
        for block in blocks:
            if block.startswith(">"):
                quoted = "\n".join(line.lstrip("> ") for line in block.splitlines())
                out.append(f"<blockquote><p>{html.escape(quoted)}</p></blockquote>")
            else:
                out.append(f"<p>{html.escape(block)}</p>".replace("\n", "<br>"))
        numbers = NUMBERS.findall(data.get("pictures") or "")
        if len(numbers) == 1:
            out.append(f'<p class="picture">Picture {numbers[0]}</p>')
        elif numbers:
            out.append(f'<p class="gallery">Gallery {", ".join(numbers)}</p>')
        if data.get("embed"):
            out.append(f'<p class="embed">{html.escape(data["embed"])}</p>')
        return "".join(out)


def desk_context(request, article: Article) -> dict:
    """What the blog's change page shows above the story form."""
    entries = (
        LiveEntry.objects.filter(article=article)
        .select_related("author", "created_by")
        .order_by("-created_at", "-pk")[:RECENT_ON_DESK]
    )
    user = request.user
    return {
        "live_form": EntryForm(user=user, initial={"publish": live.can_publish(user, article)}),
        "live_entries": [(e, live.can_change(user, e)) for e in entries],
        "live_can_post": live.can_post(user, article),
        "live_can_publish": live.can_publish(user, article),
        "live_can_approve": user.has_perm(live.PUBLISH),
        "live_pending": LiveEntry.objects.filter(
            article=article, status=LiveEntry.Status.PENDING
        ).count(),
    }


def _back(article_pk: int):
    return redirect(reverse("admin:articles_article_change", args=[article_pk]) + "#live-desk")


@require_POST
def post_view(request, pk):
    """The desk's form: a new entry, live at once or waiting for approval. A forged request to
    publish from someone who may not is refused (403), and nothing is saved."""
    article = get_object_or_404(Article, pk=pk)
    form = EntryForm(request.POST, user=request.user)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{form.fields[field].label or field}: {' '.join(errors)}")
        return _back(pk)
    data = form.cleaned_data
    try:
        entry = live.post_entry(
            article,
            by=request.user,
            body=form.body(),
            title=data["title"],
            key_event=data["key_event"],
            publish=data["publish"],
            author=data["author"],
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return _back(pk)
    if entry.is_shown:
        messages.success(request, "Entry published.")
    else:
        messages.success(request, "Entry sent to an editor for approval.")
    return _back(pk)


@require_POST
def entry_action_view(request, pk, entry, action):
    if action not in ("approve", "remove"):
        raise Http404("No such action")
    found = get_object_or_404(LiveEntry, pk=entry, article_id=pk)
    try:
        if action == "approve":
            live.approve_entry(found, by=request.user)
            messages.success(request, "Entry approved: it is live.")
        else:
            live.remove_entry(found, by=request.user)
            messages.success(request, "Entry removed.")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return _back(pk)


class LiveEntryForm(forms.ModelForm):
    class Meta:
        model = LiveEntry
        fields = ["title", "body", "key_event", "author"]

    def clean_body(self):
        text = self.cleaned_data.get("body", "")
        for link in article_body.media_references(article_body.sanitize(text))[1]:
            try:
                snapshot_embed(link)
            except EmbedError as error:
                raise ValidationError([f"{link}: {m}" for m in error.messages]) from None
        return text

    def _post_clean(self):
        super()._post_clean()  # the instance now holds what was typed
        if not self.errors:
            try:
                live.check_text(self.instance, publishing=self.instance.is_shown)
            except ValidationError as error:
                self.add_error(None, error)


@admin.register(LiveEntry)
class LiveEntryAdmin(admin.ModelAdmin):
    """Every blog's entries; an entry is edited here, through `live.edit_entry`."""

    form = LiveEntryForm
    list_display = ["summary", "article", "status_label", "key_event", "posted_at", "author"]
    list_filter = ["status", "key_event", ("article", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["article", "author"]
    search_fields = ["title", "body", "article__headline"]
    readonly_fields = ["article", "status", "posted_at", "edited_at", "created_by", "approved_by"]
    actions = ["approve_selected"]

    def has_add_permission(self, request):
        return False  # entries are posted from the blog's own page

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or live.can_change(request.user, obj))

    def has_delete_permission(self, request, obj=None):
        return False  # removing leaves a note in its place: the blog page's Remove button

    @admin.display(description="Entry")
    def summary(self, entry):
        return str(entry)[:80]

    @admin.display(description="Status", ordering="status")
    def status_label(self, entry):
        colours = {"pending": "#8a5a00", "published": "#0b6b2e", "removed": "#555"}
        return format_html(
            '<span style="color:#fff;background:{};padding:2px 8px;border-radius:8px">{}</span>',
            colours.get(entry.status, "#555"),
            entry.get_status_display(),
        )

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        live.edit_entry(
            obj,
            by=request.user,
            body=data["body"],
            title=data["title"],
            key_event=data["key_event"],
            author=data["author"],
        )

    @admin.action(description="Approve selected entries (they go live)")
    def approve_selected(self, request, queryset):
        done = 0
        for entry in queryset:
            try:
                live.approve_entry(entry, by=request.user)
                done += 1
            except (PermissionDenied, ValidationError) as error:
                message = error.messages[0] if isinstance(error, ValidationError) else str(error)
                self.message_user(request, f"“{entry}”: {message}", messages.WARNING)
        if done:
            self.message_user(request, f"{done} entries approved.", messages.SUCCESS)
