"""The forms of the second login step and of setting up an authenticator app."""

from django import forms


class CodeForm(forms.Form):
    """A code from the authenticator app, or one of the recovery codes."""

    code = forms.CharField(
        label="Code",
        max_length=32,
        strip=True,
        help_text="The six digits your authenticator app shows now, or one of your recovery codes.",
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autocapitalize": "none",
                "spellcheck": "false",
                "autofocus": True,
            }
        ),
    )


class AuthenticatorSetupForm(forms.Form):
    """The first code from a newly added authenticator app, proving it holds the key."""

    code = forms.CharField(
        label="Code from the app",
        max_length=16,
        strip=True,
        help_text="Six digits.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )
