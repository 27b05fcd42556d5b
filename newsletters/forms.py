from django import forms
from django.core.exceptions import ValidationError

from .addresses import InvalidAddress, normalize_email
from .models import Newsletter


class NewsletterChoiceField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj):
        return obj.name


class SignupForm(forms.Form):
    """The newsletters page (several newsletters) and the sign-up box on article pages (no
    choice: the default newsletter). `website` is a honeypot: people never see it, bots fill it."""

    email = forms.EmailField(max_length=254, label="Your email address")
    newsletters = NewsletterChoiceField(
        queryset=Newsletter.objects.filter(is_public=True).order_by("name"),
        to_field_name="slug",
        required=False,
        label="Choose your newsletters",
    )
    choosing = forms.BooleanField(required=False, widget=forms.HiddenInput)
    website = forms.CharField(required=False, max_length=200, label="Leave this empty")
    next = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)

    def clean_email(self):
        # The spelling stored, counted and sent to (newsletters.addresses).
        try:
            return normalize_email(self.cleaned_data["email"])
        except InvalidAddress as exc:
            raise ValidationError(str(exc)) from exc

    def clean_next(self):
        # Only a path on this site, on one printable line, is kept as the page the reader
        # signed up on (it goes into the subscriber export).
        value = self.cleaned_data["next"]
        on_site = value.startswith("/") and not value.startswith("//")
        return value if on_site and value.isprintable() else ""

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("choosing") and not cleaned.get("newsletters"):
            self.add_error("newsletters", "Choose at least one newsletter.")
        return cleaned

    @property
    def is_bot(self) -> bool:
        return bool(self.data.get("website"))


class PreferencesForm(forms.Form):
    newsletters = NewsletterChoiceField(
        queryset=Newsletter.objects.none(), required=False, label="Newsletters you receive"
    )

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["newsletters"].queryset = choices


class ScheduleForm(forms.Form):
    scheduled_at = forms.DateTimeField(
        label="Send at",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        help_text="In the newsroom's time zone.",
    )
