"""The story form of the admin. Its rules are the workflow's (`articles.services.workflow`):
the form asks them for early errors, shown beside the fields, and the save asks them again."""

import copy

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from django_prose_editor.widgets import AdminProseEditorWidget
from simple_history.manager import SIMPLE_HISTORY_REVERSE_ATTR_NAME

from pictures.embeds import EmbedError, snapshot_embed

from .. import body as article_body
from ..body import EDITOR_CONFIG
from ..models import Article, to_the_second
from ..models.article import READING_WORDS_PER_MINUTE
from ..services import workflow

Status = Article.Status
# The action bar's buttons (`_move`) and the status each asks for (None: the one it has).
MOVES = {
    "save": None,
    "review": Status.REVIEW,
    "return": Status.DRAFT,
    "publish": Status.PUBLISHED,
    "schedule": Status.PUBLISHED,
    "unpublish": Status.DRAFT,
    "restore": Status.DRAFT,
}


class ArticleAdminForm(forms.ModelForm):
    body = forms.CharField(
        required=False,
        widget=AdminProseEditorWidget(
            config=EDITOR_CONFIG,
            preset="configurable",
            # desk.js counts words and reading time as one types, as the site does.
            attrs={"data-words-per-minute": READING_WORDS_PER_MINUTE},
        ),
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
    move_note = forms.CharField(
        required=False,
        max_length=300,
        label="Note",
        help_text="With “Return to reporter”: what to fix. Kept with the status change.",
    )
    substantive_update = forms.BooleanField(
        required=False,
        label="Show readers an “Updated” time",
        help_text="Tick for a change of substance to a published story; leave it for typo fixes.",
    )

    class Meta:
        model = Article
        fields = "__all__"  # noqa: DJ007 - the admin narrows it to its fieldsets

    class Media:
        js = ["admin-extra/tag-suggest.js", "admin-extra/pictures.js"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.conflict = None
        self.stored = self._stored_row()
        if "tags" in self.fields:
            # Suggestions come from the admin's autocomplete view for this field.
            query = "app_label=articles&model_name=article&field_name=tags"
            self.fields["tags"].widget.attrs["data-autocomplete-url"] = (
                f"{reverse('admin:autocomplete')}?{query}"
            )
        if self.stored is not None:
            self.fields["edit_version"].initial = self.stored.version
        if "status" in self.fields and user is not None:
            allowed = workflow.allowed_statuses(user, self.instance)
            if self.instance.status != Status.WITHDRAWN:  # through "Withdraw…", with a reason
                allowed = [value for value in allowed if value != Status.WITHDRAWN]
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
        if "embargo_until" in self.fields:
            self.fields["embargo_until"].help_text += " Newsroom time."

    @property
    def is_revert(self) -> bool:
        """Whether the form edits an old version rebuilt from the history (simple-history marks
        such an instance with the record it came from)."""
        return hasattr(self.instance, SIMPLE_HISTORY_REVERSE_ATTR_NAME)

    def _stored_row(self) -> Article | None:
        """The story as it is now, before the form's values are put on it: the row the admin
        loaded for this request, or, when the form edits an old version from the history (a
        revert), the row in the database."""
        if self.instance.pk is None:
            return None
        if self.is_revert:
            return Article.objects.select_related("updated_by").get(pk=self.instance.pk)
        return copy.copy(self.instance)

    def clean_body(self):
        """Embeds are made into snapshots here, when the editor saves (one request to each
        provider): a provider that fails leaves nothing stored, and says why beside the body."""
        text = self.cleaned_data.get("body", "")
        _ids, links = article_body.media_references(article_body.sanitize(text))
        problems = []
        for link in links:
            try:
                snapshot_embed(link, by=self.user)
            except EmbedError as error:
                problems.extend(f"{link}: {message}" for message in error.messages)
        if problems:
            raise ValidationError(problems)
        return text

    def clean(self):
        cleaned = super().clean()
        self._apply_move(cleaned)
        stored = self.stored
        if self.user is not None and stored is not None:
            if cleaned.get("edit_version") != stored.version:
                self.conflict = self._differences(stored)
                self.data = self.data.copy()
                self.data["edit_version"] = stored.version  # saving again keeps what was typed
                raise ValidationError(str(workflow.EditConflict(stored)), code="conflict")
        return cleaned

    def _apply_move(self, cleaned) -> None:
        """The action bar's button (`_move`): the status it asks for, and for "Publish now" and
        "Schedule" the time. The workflow then checks the move as any other."""
        move = self.data.get("_move")
        if move not in MOVES or "status" not in self.fields:
            return
        if MOVES[move] is not None:
            cleaned["status"] = MOVES[move]
        if move == "publish" and "published_at" in self.fields:
            cleaned["published_at"] = None  # now (`Article.mark_published`)
        if move == "schedule":
            when = cleaned.get("published_at")
            if when is None or when <= timezone.now():
                self.add_error("published_at", "Give the time to publish it at, in the future.")

    def _get_validation_exclusions(self):
        exclude = super()._get_validation_exclusions()
        data = getattr(self, "cleaned_data", {})
        if data.get("status") == Status.PUBLISHED and not data.get("published_at"):
            # "Publish now": the save gives the story its time (`Article.mark_published`), so
            # the rule that a published story has one is checked then, not here.
            exclude.add("published_at")
        return exclude

    def _post_clean(self):
        super()._post_clean()  # the edited story, built from the form's values
        article, stored = self.instance, self.stored
        if self.is_revert:
            # A revert brings back what this form edits, nothing else: fields the user may not
            # change (flags, times for a Reporter) and the row's own keep their current values.
            for field in Article._meta.concrete_fields:
                if field.name not in self.fields:
                    setattr(article, field.attname, getattr(stored, field.attname))
        if stored is not None and article.published_at and stored.published_at:
            # The form carries seconds; a time kept with microseconds is not a change.
            if article.published_at == to_the_second(stored.published_at):
                article.published_at = stored.published_at
        if self.user is None or self.errors:
            return
        try:
            workflow.check_edit(article, stored=stored, by=self.user, to=article.status)
        except workflow.MoveRefused as refusal:
            self.add_error("status", str(refusal))
        except PermissionDenied as refusal:
            self.add_error(None, str(refusal))
        except ValidationError as problem:
            self._add_problem(problem)

    def _add_problem(self, problem: ValidationError) -> None:
        """A workflow refusal beside its field when the form shows that field, else on top."""
        if not hasattr(problem, "error_dict"):
            self.add_error(None, problem)
            return
        for name, errors in problem.error_dict.items():
            self.add_error(name if name in self.fields else None, errors)

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
