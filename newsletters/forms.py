from django import forms


class SignupForm(forms.Form):
    email = forms.EmailField(max_length=254, label="Your email address")
    next = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)
