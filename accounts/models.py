"""People: the staff who log in (`User`) and the bylines readers see (`Author`)."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.crypto import salted_hmac

from newsroom.links import address
from newsroom.slugs import base_slug, unique_slug


class User(AbstractUser):
    """A member of staff who logs into the newsroom. Custom from the first migration so that
    fields can be added later without a painful swap."""

    security_stamp = models.CharField(
        max_length=32,
        blank=True,
        editable=False,
        help_text="Changes when the second factor is set up, replaced or removed, which ends "
        "every other session of this person.",
    )

    def _get_session_auth_hash(self, secret=None):
        # Django keeps a session only while this hash is unchanged: a new password ends the
        # others, and so does a new security stamp (`services.rotate_security_stamp`). Until the
        # first stamp the hash is Django's own, so sessions from before it stay valid. (Django
        # calls this private method for SECRET_KEY_FALLBACKS too, hence overriding it.)
        if not self.security_stamp:
            return super()._get_session_auth_hash(secret=secret)
        return salted_hmac(
            "accounts.User.get_session_auth_hash",
            f"{self.password}\n{self.security_stamp}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    @property
    def display_name(self) -> str:
        """How the newsroom names this person: their full name, else their login."""
        return self.get_full_name() or self.get_username()


class Author(models.Model):
    """A byline. Agency and desk bylines ("Newsroom Reporter") have no login, so the link to a
    `User` is optional."""

    name = models.CharField(max_length=150, help_text="As printed in the byline.")
    slug = models.SlugField(max_length=160, unique=True, allow_unicode=True)
    job_title = models.CharField(
        max_length=150, blank=True, help_text="For example “Showbiz editor”."
    )
    bio = models.TextField(blank=True, help_text="A few sentences shown on the author's page.")
    avatar = models.ImageField(upload_to="authors/", blank=True)
    user = models.OneToOneField(
        "accounts.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="author",
        help_text="The staff login behind this byline, if any.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = unique_author_slug(self.name)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return address("articles:author", self.slug)


def unique_author_slug(name: str) -> str:
    """A slug for `name` that no other author has: "jane-doe", then "jane-doe-2", …"""
    return unique_slug(Author.objects.all(), base_slug(name, max_length=160, fallback="author"))
