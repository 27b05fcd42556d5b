"""Sections and articles: what the newsroom writes and what readers may see."""

from __future__ import annotations

import math
from datetime import datetime

from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from imagekit.models import ImageSpecField
from imagekit.processors import ResizeToFit
from simple_history.models import HistoricalRecords
from taggit.managers import TaggableManager

from . import body as article_body
from .parsing import MAX_HEADLINE_LENGTH, headline_key

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
    "healthz",
    "readyz",
    "archive",
    "corrections",
}
READING_WORDS_PER_MINUTE = 230
SLUG_MAX_LENGTH = 255


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
        return reverse("articles:section", args=[self.slug])


RENDITION_WIDTHS = (480, 800, 1200)


def rendition(width: int, image_format: str) -> dict:
    return {
        "source": "hero_image",
        "processors": [ResizeToFit(width, upscale=False)],
        "format": image_format,
        "options": {"quality": 82},
    }


class ArticleQuerySet(models.QuerySet):
    def published(self, *, now: datetime | None = None):
        """What readers may see: published status and a publication time already passed.
        The one definition of visibility, so a scheduled story appears by itself."""
        return self.filter(status=Article.Status.PUBLISHED, published_at__lte=now or timezone.now())

    def breaking(self, *, now: datetime | None = None):
        """Published stories flagged breaking whose banner time has not run out."""
        now = now or timezone.now()
        return (
            self.published(now=now)
            .filter(is_breaking=True)
            .filter(Q(breaking_until__isnull=True) | Q(breaking_until__gt=now))
        )

    def next_change_after(self, now: datetime) -> datetime | None:
        """The next moment at which `published()` or `breaking()` will give other rows without
        anyone saving anything (a scheduled story's time, a banner's expiry). A cached page
        must not outlive it."""
        published = Q(status=Article.Status.PUBLISHED)
        times = self.filter(published).aggregate(
            scheduled=models.Min("published_at", filter=Q(published_at__gt=now)),
            expiring=models.Min(
                "breaking_until", filter=Q(is_breaking=True, breaking_until__gt=now)
            ),
        )
        scheduled, expiring = times["scheduled"], times["expiring"]
        return min((t for t in (scheduled, expiring) if t), default=None)

    def in_section(self, section: Section | str):
        if isinstance(section, Section):
            return self.filter(section=section)
        return self.filter(section__slug=section)

    def for_listing(self):
        """Everything a story card needs, newest first, in a fixed number of queries (one for
        the rows, one for all their bylines). Not the body, nor the search vector (a few KB a
        row that only the database reads)."""
        return (
            self.select_related("section")
            .prefetch_related(models.Prefetch("authors", queryset=_bylines()))
            .defer("body", "standfirst", "search_vector")
            .order_by("-published_at", "-pk")
        )

    def for_detail(self):
        """Everything the article page shows, in a fixed number of queries."""
        return (
            self.select_related("section")
            .defer("search_vector")
            .prefetch_related(
                models.Prefetch("authors", queryset=_bylines()),
                "tags",
                "corrections",
                models.Prefetch("related", queryset=Article.objects.published().for_links()),
            )
        )

    def for_links(self):
        """Just what a link to each story needs (headline, address, section), newest first:
        one query, without the bylines, body and search vector a story card or page loads."""
        return (
            self.select_related("section")
            .only("headline", "slug", "published_at", "section__slug", "section__name")
            .order_by("-published_at", "-pk")
        )

    def linked_by_headline(self, titles):
        """Published articles whose headline matches one of `titles` (teasers, navigation),
        as a dict from headline key to article: one query however many titles."""
        keys = {headline_key(title) for title in titles if title}
        if not keys:
            return {}
        rows = (
            self.published()
            .filter(headline_key__in=keys)
            .select_related("section")
            .only("headline", "slug", "headline_key", "section__slug")
            .order_by("-published_at")
        )
        found = {}
        for article in rows:
            found.setdefault(article.headline_key, article)
        return found


def _bylines():
    from accounts.models import Author

    return Author.objects.only("name", "slug")


class Article(models.Model):
    """A story. Its body is sanitised HTML (see `articles.body`)."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        REVIEW = "review", "In review"
        PUBLISHED = "published", "Published"
        WITHDRAWN = "withdrawn", "Withdrawn"

    class WithdrawalReason(models.TextChoices):
        EDITORIAL = "editorial", "Editorial decision"
        LEGAL = "legal", "Legal takedown"

    headline = models.CharField(max_length=MAX_HEADLINE_LENGTH)
    seo_headline = models.CharField(
        "SEO headline",
        max_length=MAX_HEADLINE_LENGTH,
        blank=True,
        help_text="For search engines (the page title). Empty: the headline.",
    )
    social_headline = models.CharField(
        max_length=MAX_HEADLINE_LENGTH,
        blank=True,
        help_text="For shares on social networks. Empty: the headline.",
    )
    slug = models.SlugField(
        max_length=SLUG_MAX_LENGTH,
        unique=True,
        allow_unicode=True,
        blank=True,
        help_text="The story's address. Made from the headline if left empty; "
        "changing it after publication breaks links.",
    )
    headline_key = models.CharField(
        max_length=MAX_HEADLINE_LENGTH,
        editable=False,
        db_index=True,
        help_text="The headline normalised for matching teasers and navigation links.",
    )
    standfirst = models.TextField(
        blank=True, help_text="The one or two sentences under the headline."
    )
    body = models.TextField(blank=True)
    hero_image = models.ImageField(
        upload_to="heroes/%Y/%m/", blank=True, width_field="hero_width", height_field="hero_height"
    )
    hero_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    hero_height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    hero_alt = models.CharField(
        "hero image alt text",
        max_length=300,
        blank=True,
        help_text="What the picture shows, for readers who cannot see it.",
    )
    hero_caption = models.CharField(max_length=300, blank=True)
    hero_credit = models.CharField(max_length=150, blank=True, help_text="Photographer or agency.")
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="articles")
    authors = models.ManyToManyField("accounts.Author", blank=True, related_name="articles")
    tags = TaggableManager(blank=True)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    published_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When readers may see it. A future time schedules the story.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    source_name = models.CharField(
        max_length=150, blank=True, help_text="Publication a syndicated story first appeared in."
    )
    source_url = models.URLField(max_length=500, blank=True)
    source_label = models.CharField(
        max_length=300,
        blank=True,
        editable=False,
        help_text="The source line as the imported file gave it.",
    )
    previous_title = models.CharField(
        max_length=MAX_HEADLINE_LENGTH,
        blank=True,
        help_text="Headline of the story before this one; a link when that story exists.",
    )
    next_title = models.CharField(
        max_length=MAX_HEADLINE_LENGTH,
        blank=True,
        help_text="Headline of the story after this one; a link when that story exists.",
    )
    revised_at = models.DateTimeField(
        "updated at (shown)",
        null=True,
        blank=True,
        help_text="The “Updated” time readers see, for substantive changes; typo fixes leave it.",
    )
    is_breaking = models.BooleanField("breaking", default=False)
    breaking_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the breaking-news banner stops showing this story. Empty: until unflagged.",
    )
    is_featured = models.BooleanField("featured", default=False)
    related = models.ManyToManyField("self", blank=True, symmetrical=False)
    word_count = models.PositiveIntegerField(default=0, editable=False)
    withdrawn_reason = models.CharField(
        max_length=20, choices=WithdrawalReason.choices, blank=True, editable=False
    )
    created_by = models.ForeignKey(
        "accounts.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        editable=False,
        related_name="+",
    )
    updated_by = models.ForeignKey(
        "accounts.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        editable=False,
        related_name="+",
    )
    version = models.PositiveIntegerField(
        default=1,
        editable=False,
        help_text="Raised on every save; an edit based on an older version is refused.",
    )
    import_key = models.CharField(
        max_length=MAX_HEADLINE_LENGTH,
        unique=True,
        null=True,
        blank=True,
        editable=False,
        help_text="Identity of an imported story: importing it again updates this article.",
    )

    # Renditions for `srcset`, made when the image is saved (imagekit's optimistic strategy, so
    # rendering a page never touches storage).
    hero_480 = ImageSpecField(**rendition(480, "JPEG"))
    hero_800 = ImageSpecField(**rendition(800, "JPEG"))
    hero_1200 = ImageSpecField(**rendition(1200, "JPEG"))
    hero_480_webp = ImageSpecField(**rendition(480, "WEBP"))
    hero_800_webp = ImageSpecField(**rendition(800, "WEBP"))
    hero_1200_webp = ImageSpecField(**rendition(1200, "WEBP"))

    # Maintained by a PostgreSQL trigger (migration 0003) from headline, standfirst and body;
    # stays empty on SQLite, where search falls back to simple matching.
    search_vector = SearchVectorField(null=True, editable=False)

    objects = ArticleQuerySet.as_manager()
    history = HistoricalRecords(
        excluded_fields=["search_vector", "headline_key", "word_count", "version"],
        m2m_fields=[authors],
    )

    class Meta:
        ordering = ["-published_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "-published_at"], name="article_visible_idx"),
            models.Index(fields=["section", "status", "-published_at"], name="article_section_idx"),
        ]
        permissions = [
            ("publish_article", "Can publish, schedule, unpublish and withdraw articles"),
            ("flag_article", "Can mark articles as breaking or featured"),
            ("edit_any_article", "Can edit articles written by others"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="published") | Q(published_at__isnull=False),
                name="article_published_has_time",
                violation_error_message="A published article needs a publication time.",
            ),
        ]

    def __str__(self):
        return self.headline

    def save(self, *args, **kwargs):
        # Derived fields stay current whoever saves: admin, importer or shell.
        self.refresh_derived_fields()
        if not self.slug:
            self.slug = unique_article_slug(self.headline, exclude_pk=self.pk)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "body", "headline_key", "word_count"}
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("articles:detail", args=[self.section.slug, self.slug])

    def refresh_derived_fields(self, *, body_is_sanitized: bool = False) -> None:
        """Sanitise the body and recompute what derives from the row's own fields. `save()`
        calls it; bulk inserts, which bypass `save()`, must call it themselves."""
        if not body_is_sanitized:
            self.body = article_body.sanitize(self.body)
        self.headline_key = headline_key(self.headline)
        self.word_count = len(article_body.plain_text(self.body).split())

    def clean(self):
        super().clean()
        if self.status == self.Status.PUBLISHED and not self.published_at:
            self.published_at = timezone.now()

    @property
    def reading_time(self) -> int:
        """Minutes an average reader needs, never less than one."""
        return max(1, math.ceil(self.word_count / READING_WORDS_PER_MINUTE))

    def hero_sources(self) -> dict | None:
        """`srcset` strings (JPEG and WebP) and the intrinsic size of the hero image, or None.
        Computed from stored dimensions: no storage access."""
        if not self.hero_image or not self.hero_width or not self.hero_height:
            return None
        # A rendition is never wider than its source, so small images give fewer candidates.
        by_width: dict[int, int] = {}
        for target in RENDITION_WIDTHS:
            by_width.setdefault(min(target, self.hero_width), target)
        jpeg = [f"{getattr(self, f'hero_{t}').url} {w}w" for w, t in by_width.items()]
        webp = [f"{getattr(self, f'hero_{t}_webp').url} {w}w" for w, t in by_width.items()]
        width, target = max(by_width.items())
        return {
            "jpeg": ", ".join(jpeg),
            "webp": ", ".join(webp),
            "src": getattr(self, f"hero_{target}").url,
            "width": width,
            "height": round(self.hero_height * width / self.hero_width),
        }

    @property
    def is_visible(self) -> bool:
        return (
            self.status == self.Status.PUBLISHED
            and self.published_at is not None
            and self.published_at <= timezone.now()
        )


def base_slug(headline: str, *, max_length: int = SLUG_MAX_LENGTH - 8) -> str:
    """The slug a headline would get: Unicode letters kept (a Greek or Cyrillic headline keeps
    its words), cut at a word boundary, leaving room for a "-2"-style suffix."""
    slug = slugify(headline, allow_unicode=True)
    if len(slug) > max_length:
        slug = slug[:max_length]
        if "-" in slug[max_length // 2 :]:
            slug = slug.rsplit("-", 1)[0]
        slug = slug.strip("-")
    return slug or "story"


def next_free_slug(base: str, taken: set[str]) -> str:
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def unique_article_slug(headline: str, *, exclude_pk: int | None = None) -> str:
    """A slug no other article has: the headline's, then "-2", "-3", … when headlines collide."""
    base = base_slug(headline)
    taken = set(
        Article.objects.filter(Q(slug=base) | Q(slug__startswith=f"{base}-"))
        .exclude(pk=exclude_pk)
        .values_list("slug", flat=True)
    )
    return next_free_slug(base, taken)


class Correction(models.Model):
    """A published correction, clarification or update note, shown on the article."""

    class Kind(models.TextChoices):
        CORRECTION = "correction", "Correction"
        CLARIFICATION = "clarification", "Clarification"
        UPDATE = "update", "Update"

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="corrections")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.CORRECTION)
    text = models.TextField(help_text="What was wrong and what is right, in plain words.")
    published_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["published_at", "pk"]

    def __str__(self):
        return f"{self.get_kind_display()} to “{self.article}”"


class Transition(models.Model):
    """A move between workflow states: who moved the article, from what, to what, when."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=20, choices=Article.Status.choices)
    to_status = models.CharField(max_length=20, choices=Article.Status.choices)
    by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"{self.get_from_status_display()} → {self.get_to_status_display()}"
