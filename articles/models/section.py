"""Sections: the parts of the paper (News, Sport, …), each a navigation entry and a page."""

from django.core.exceptions import ValidationError
from django.db import models

from newsroom.links import address

# First path segments that belong to the site, not to a section.
RESERVED_SECTION_SLUGS = {
    "admin",
    "newsletters",
    "search",
    "static",
    "media",
    "feeds",
    "tags",
    "authors",
    "sitemap.xml",
    "robots.txt",
    "favicon.ico",
    "healthz",
    "readyz",
    "archive",
    "corrections",
    "preview",
}


def validate_section_slug(value: str) -> None:
    if value in RESERVED_SECTION_SLUGS:
        raise ValidationError(f"“{value}” is used by another part of the site; choose another.")


class Section(models.Model):
    """A part of the paper (News, Sport, …): a navigation entry and a page of its own."""

    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True, validators=[validate_section_slug])
    description = models.TextField(blank=True, help_text="Shown under the section's title.")
    order = models.PositiveSmallIntegerField(
        default=0, help_text="Position in the navigation; lower comes first."
    )

    class Meta:
        ordering = ["order", "name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return address("articles:section", self.slug)
