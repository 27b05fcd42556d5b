"""Pictures in the library: the file (cleaned on upload, see `pictures.checks`), what it shows,
who took it and on what terms, where to crop it, and its renditions."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from taggit.managers import TaggableManager

from newsroom.text import clean_text_fields

from .. import placements


class Licence(models.TextChoices):
    STAFF = "staff", "Staff picture (ours)"
    COMMISSIONED = "commissioned", "Commissioned (ours to use)"
    AGENCY = "agency", "Agency licence"
    HANDOUT = "handout", "Handout or press release"
    READER = "reader", "Reader's picture, permission given"
    CC0 = "cc0", "Public domain or CC0"
    CC_BY = "cc-by", "Creative Commons with credit (CC BY)"
    EMBED = "embed", "Thumbnail of an embedded post (the provider's)"
    UNKNOWN = "unknown", "Not recorded"


def shown(now: datetime.datetime | None = None, *, prefix: str = "") -> Q:
    """Pictures readers may see: renditions made and the licence not run out. The one rule,
    used by every page, feed, email and JSON-LD (through `Image.is_shown` for a row in hand)."""
    now = now or timezone.now()
    return ~Q(**{f"{prefix}rendition_key": ""}) & (
        Q(**{f"{prefix}rights_expire_at__isnull": True})
        | Q(**{f"{prefix}rights_expire_at__gt": now})
    )


class ImageQuerySet(models.QuerySet):
    def shown(self, *, now: datetime.datetime | None = None):
        """Pictures readers may see (see `shown`)."""
        return self.filter(shown(now))

    def expiring(self, *, within: datetime.timedelta, now: datetime.datetime | None = None):
        """Pictures whose licence runs out in the next `within`, soonest first."""
        now = now or timezone.now()
        return self.filter(rights_expire_at__gt=now, rights_expire_at__lte=now + within).order_by(
            "rights_expire_at"
        )

    def expired(self, *, now: datetime.datetime | None = None):
        return self.filter(rights_expire_at__lte=now or timezone.now())

    def matching(self, text: str):
        """Pictures whose caption, alt text, credit, source or tags contain `text`."""
        text = text.strip()
        if not text:
            return self
        return self.filter(
            Q(caption__icontains=text)
            | Q(alt_text__icontains=text)
            | Q(credit__icontains=text)
            | Q(source__icontains=text)
            | Q(tags__name__iexact=text)
        ).distinct()

    def next_expiry_after(self, now: datetime.datetime) -> datetime.datetime | None:
        return (
            self.filter(rights_expire_at__gt=now)
            .aggregate(first=models.Min("rights_expire_at"))
            .get("first")
        )


class Image(models.Model):
    """A picture in the library. The stored file has been turned upright, converted to 8-bit
    sRGB and stripped of every piece of metadata (location, camera serial number) on upload:
    what is kept about it is these fields."""

    file = models.ImageField(upload_to="library/%Y/%m/", width_field="width", height_field="height")
    width = models.PositiveIntegerField(editable=False, default=0)
    height = models.PositiveIntegerField(editable=False, default=0)
    alt_text = models.CharField(
        max_length=300,
        blank=True,
        help_text="What the picture shows, for readers who cannot see it. Needed to publish.",
    )
    caption = models.CharField(max_length=300, blank=True, help_text="Shown under the picture.")
    credit = models.CharField(
        max_length=150, blank=True, help_text="Photographer, as printed: “Jane Doe/Agency”."
    )
    source = models.CharField(
        "source or agency", max_length=150, blank=True, help_text="Where the picture came from."
    )
    licence = models.CharField(max_length=20, choices=Licence.choices, default=Licence.UNKNOWN)
    rights = models.TextField(
        "usage rights",
        blank=True,
        help_text="The terms: what we may do with it, where, and anything the licence forbids.",
    )
    rights_expire_at = models.DateTimeField(
        "rights expire at",
        null=True,
        blank=True,
        help_text="When the licence runs out, the picture disappears from every page, feed, "
        "newsletter and search result by itself (the stories stay up). Empty: no end.",
    )
    focal_x = models.FloatField(
        default=0.5,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="Where the crops centre, from the left (0) to the right (1).",
    )
    focal_y = models.FloatField(
        default=0.5,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="Where the crops centre, from the top (0) to the bottom (1).",
    )
    processing_note = models.CharField(
        max_length=300, blank=True, editable=False, help_text="What the upload checks changed."
    )
    rendition_key = models.CharField(
        max_length=16,
        blank=True,
        editable=False,
        help_text="The set of renditions pages use; empty until the first set is made.",
    )
    uploaded_by = models.ForeignKey(
        "accounts.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        editable=False,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(default=timezone.now, editable=False)
    tags = TaggableManager(blank=True, help_text="Words to find the picture again.")

    objects = ImageQuerySet.as_manager()

    class Meta:
        ordering = ["-uploaded_at", "-pk"]
        indexes = [models.Index(fields=["rights_expire_at"], name="image_rights_expiry_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(focal_x__gte=0, focal_x__lte=1, focal_y__gte=0, focal_y__lte=1),
                name="image_focal_point_inside",
            )
        ]

    def __str__(self):
        return (
            self.caption
            or self.alt_text
            or (self.file.name.rpartition("/")[2] if self.file else f"Picture {self.pk}")
        )

    def save(self, *args, **kwargs):
        clean_text_fields(self)
        super().save(*args, **kwargs)

    def clean(self):
        if self.rights_expire_at and self.licence in (Licence.STAFF, Licence.CC0):
            raise ValidationError(
                {
                    "rights_expire_at": "Our own and public-domain pictures have no licence "
                    "to run out."
                }
            )

    # --- what readers see ------------------------------------------------------------------

    @property
    def is_shown(self) -> bool:
        """`shown()` for a row in hand, without a query."""
        expiry = self.rights_expire_at
        return bool(self.rendition_key) and (expiry is None or expiry > timezone.now())

    @property
    def wanted_key(self) -> str:
        """The key of the renditions this row's file and focal point call for."""
        return placements.rendition_key(self.file.name, self.focal_x, self.focal_y)

    @property
    def renditions_current(self) -> bool:
        return self.rendition_key == self.wanted_key

    def sources(self, placement: str) -> dict | None:
        """`srcset` per format, the fallback `src` and the intrinsic size of the picture in
        `placement` (see `pictures.placements`), or None while it has no renditions. Computed
        from stored numbers: one storage call for the folder's address, no file opened."""
        if not self.rendition_key or not self.width or not self.height:
            return None
        spec = placements.PLACEMENTS[placement]
        sizes = placements.sizes_for(self.width, self.height, spec)
        base = self._renditions_url()
        out = {}
        for extension in spec.formats:
            out[extension] = ", ".join(
                f"{base}{placement}-{target}.{extension} {actual}w" for target, actual, _ in sizes
            )
        target, width, height = sizes[-1]
        out.update(src=f"{base}{placement}-{target}.jpeg", width=width, height=height)
        return out

    def rendition_url(self, placement: str, *, at_least: int = 0) -> tuple[str, int, int] | None:
        """(URL, width, height) of the JPEG of `placement` at least `at_least` pixels wide (the
        widest there is when none is), for feeds, emails and crawlers."""
        if not self.rendition_key or not self.width or not self.height:
            return None
        spec = placements.PLACEMENTS[placement]
        sizes = placements.sizes_for(self.width, self.height, spec)
        target, width, height = next((s for s in sizes if s[1] >= at_least), sizes[-1])
        base = self._renditions_url()
        return f"{base}{placement}-{target}.jpeg", width, height

    def _renditions_url(self) -> str:
        """The URL of the folder of this picture's renditions, found once an instance (a page
        asks it for each crop, size and format it shows)."""
        key = (self.pk, self.rendition_key)
        found = self.__dict__.get("_renditions_at")
        if found is None or found[0] != key:
            found = self._renditions_at = (key, default_storage.url(placements.directory(*key)))
        return found[1]
