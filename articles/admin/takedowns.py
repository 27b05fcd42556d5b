"""Withdrawing stories from the admin: a page that asks why (legal or editorial) and for a
note, for one story (its "Withdraw…" button) or for those chosen in the list; and the audit
list of takedowns. The rules are `articles.services.takedown`'s."""

from __future__ import annotations

from functools import partial

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.html import format_html_join

from ..models import Article, Takedown
from ..services import takedown, workflow

TEMPLATE = "admin/articles/article/withdraw.html"


class TakedownForm(forms.Form):
    reason = forms.ChoiceField(
        choices=[("editorial", "Editorial decision"), ("legal", "Legal reason")],
        widget=forms.RadioSelect,
        help_text="A legal takedown also removes from storage the pictures only this story "
        "shows, and its page says it was removed for legal reasons.",
    )
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=300,
        help_text="Why: the order, the complaint, the decision. Kept on record.",
    )

    def take_down(self, article: Article, *, by):
        data = self.cleaned_data
        return takedown.take_down(
            article, by=by, legal=data["reason"] == "legal", note=data["note"]
        )


def withdraw_view(model_admin, request, pk):
    """One story's "Withdraw…" page."""
    article = get_object_or_404(Article, pk=pk)
    if not workflow.can_move(request.user, article, Article.Status.WITHDRAWN):
        raise PermissionDenied
    form = TakedownForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            record = form.take_down(article, by=request.user)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            model_admin.message_user(request, f"{record} done: its address answers 410 Gone.")
            return redirect("admin:articles_article_change", pk)
    return _page(model_admin, request, form, [article], single=article)


def withdraw_selected(model_admin, request, queryset):
    """The list's action: the same page for the chosen stories, then each taken down."""
    form = TakedownForm(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid():
        take_down = partial(form.take_down, by=request.user)
        model_admin._each(request, queryset, take_down, "stories withdrawn")
        return None
    return _page(model_admin, request, form, list(queryset))


def _page(model_admin, request, form, stories, *, single=None):
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Withdraw a story" if single else "Withdraw stories",
        "opts": model_admin.model._meta,
        "form": form,
        "stories": stories,
        "single": single,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, TEMPLATE, context)


@admin.register(Takedown)
class TakedownAdmin(admin.ModelAdmin):
    """The audit list: every withdrawal, why, by whom, and what a legal one removed."""

    list_display = ["article", "legal", "by", "at", "note"]
    list_filter = ["legal"]
    list_select_related = ["article", "by"]
    search_fields = ["article__headline", "note"]
    readonly_fields = ["article", "legal", "note", "by", "at", "removed", "kept"]
    exclude = ["pictures_removed", "pictures_kept"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Pictures removed from storage")
    def removed(self, record):
        return _pictures(record.pictures_removed)

    @admin.display(description="Pictures kept (other stories show them)")
    def kept(self, record):
        return _pictures(record.pictures_kept)


def _pictures(entries) -> str:
    return (
        format_html_join(", ", "picture {} ({})", ((e["id"], e["caption"]) for e in entries)) or "—"
    )
