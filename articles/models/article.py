"""Stories: what the newsroom writes. Which of them readers may see is `queries.visible`."""

from __future__ import annotations

import math
from datetime import datetime

from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from taggit.managers import TaggableManager

from newsroom.links import address
from newsroom.slugs import base_slug, unique_slug
from newsroom.text import clean_text_fields

from .. import body as article_body
from ..parsing import MAX_HEADLINE_LENGTH, headline_key
from .choices import LiveStatus, Status, WithdrawalReason, default_language, language_choices
from .history import RecordedHistory
from .queries import ArticleQuerySet
from .section import Section

READING_WORDS_PER_MINUTE = 230
SLUG_MAX_LENGTH = 255
# Every save of a story is one record here (see `RecordedHistory.recorded`).
ARTICLE_HISTORY = RecordedHistory(
    excluded_fields=["search_vector", "headline_key", "word_count", "version"],
    m2m_fields=["authors"],
)


def to_the_second(moment: datetime) -> datetime:
    """Publication times are kept to the second: what the admin's form sends back and what an
    HTML date may carry, so opening and saving a story never changes its time."""
    return moment.replace(microsecond=0)


# Crawlers' large previews (Google Discover, JSON-LD `image`) want pictures this wide.
LARGE_PICTURE_WIDTH = 1200


class Article(models.Model):
    """A story. Its body is sanitised HTML (see `articles.body`)."""

    Status = Status
    WithdrawalReason = WithdrawalReason
    LiveStatus = LiveStatus

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
        help_text="The story's address. Made from the headline if left empty; after "
        "publication the old address keeps working (a permanent redirect to the new one).",
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
    body = models.TextField(blank=True, validators=[article_body.validate_length])
    hero_image = models.ForeignKey(
        "pictures.Image",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="hero_of",
        verbose_name="picture",
        help_text="The story's main picture, from the library: on the story, its cards, "
        "feeds, newsletters and link previews.",
    )
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
    embargo_until = models.DateTimeField(
        "embargoed until",
        null=True,
        blank=True,
        help_text="A source's embargo: nothing of the story may appear anywhere (pages, "
        "search, feeds, newsletters) before this time. Publishing puts it out then at the "
        "earliest; nobody can publish it sooner.",
    )
    unpublish_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the story leaves the site by itself (a licence or an offer that "
        "ends): its address then answers “no longer available”.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    source_name = models.CharField(
        max_length=150, blank=True, help_text="Publication a syndicated story first appeared in."
    )
    source_url = models.URLField(max_length=500, blank=True)
    language = models.CharField(
        max_length=15, choices=language_choices, default=default_language,
        help_text="What it is written in, as the page, search engines and Google News say.",
    )  # fmt: skip
    # Kept from partners' feeds (`ArticleQuerySet.for_partners`); readers still see the story.
    sponsored = models.BooleanField(default=False, help_text="Paid for by an advertiser.")
    legal_hold = models.BooleanField(default=False, help_text="Lawyers are still reading it.")
    no_syndication = models.BooleanField(
        default=False, help_text="Not to be passed on to partners (rights, a source's terms)."
    )
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
    live_status = models.CharField(
        "live blog",
        max_length=10,
        choices=LiveStatus.choices,
        blank=True,
        default=LiveStatus.NONE,
        help_text="A live blog shows timestamped entries under its summary; while live, its "
        "page updates itself and its cards carry a LIVE badge.",
    )
    live_summary = models.TextField(
        "summary",
        blank=True,
        help_text="Where things stand, at the top of the live blog: one short point a line.",
    )
    coverage_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    coverage_ended_at = models.DateTimeField(null=True, blank=True, editable=False)
    live_reporters_publish = models.BooleanField(
        "reporters' entries go live at once",
        default=False,
        help_text="Off: an editor approves each entry a reporter posts.",
    )
    related = models.ManyToManyField("self", blank=True, symmetrical=False)
    pictures = models.ManyToManyField(
        "pictures.Image",
        blank=True,
        editable=False,
        related_name="stories",
        help_text="Every library picture the story shows (its picture, those in the body, "
        "embed thumbnails): the library's “used in”. Kept by `save_article`.",
    )
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

    # Maintained by a PostgreSQL trigger (migration 0003) from headline, standfirst and body;
    # stays empty on SQLite, where search falls back to simple matching.
    search_vector = SearchVectorField(null=True, editable=False)

    objects = ArticleQuerySet.as_manager()
    history = ARTICLE_HISTORY

    class Meta:
        ordering = ["-published_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "-published_at"], name="article_visible_idx"),
            # With `unpublish_at`, a section's story count reads only the index (on PostgreSQL);
            # with the id, the index holds the stories in their full order (ties by id), so a
            # listing, or "the stories just after this one" (`rails_showing`), reads only the
            # rows it returns: a batch of 250 imported stories' rails took 139 ms without it.
            models.Index(
                fields=["section", "status", "-published_at", "-id"],
                include=["unpublish_at"],
                name="article_section_idx",
            ),
            # The home page's lead and breaking banner: a few rows each, which without these
            # were found by reading most published stories (5 and 11 ms at 10,000 stories).
            models.Index(
                fields=["-published_at"],
                condition=Q(status=Status.PUBLISHED, is_featured=True),
                name="article_featured_idx",
            ),
            models.Index(
                fields=["-published_at"],
                condition=Q(status=Status.PUBLISHED, is_breaking=True),
                name="article_breaking_idx",
            ),
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
            # The embargo is the database's to keep: no published story has a time before it,
            # so every reader of visibility (raw SQL, replicas, a shell) honours it unaware.
            models.CheckConstraint(
                condition=~Q(status="published")
                | Q(embargo_until__isnull=True)
                | Q(published_at__gte=models.F("embargo_until")),
                name="article_published_after_embargo",
                violation_error_message="A story cannot be published before its embargo.",
            ),
            models.CheckConstraint(
                condition=Q(unpublish_at__isnull=True)
                | Q(published_at__isnull=True)
                | Q(unpublish_at__gt=models.F("published_at")),
                name="article_unpublished_after_published",
                violation_error_message="A story can only be unpublished after it is published.",
            ),
        ]

    def __str__(self):
        return self.headline

    def save(self, *args, **kwargs):
        # Derived fields stay current whoever saves: admin, importer or shell.
        clean_text_fields(self)
        self.refresh_derived_fields()
        if not self.slug:
            self.slug = unique_slug(
                Article.objects.all(), article_slug(self.headline), exclude_pk=self.pk
            )
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"body", "headline"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "body", "headline_key", "word_count"}
        if update_fields is not None and "live_status" in update_fields:
            kwargs["update_fields"] = {
                *kwargs["update_fields"],
                "coverage_started_at",
                "coverage_ended_at",
            }
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return address("articles:detail", self.section.slug, self.slug)

    def refresh_derived_fields(self, *, body_is_sanitized: bool = False) -> None:
        """Sanitise the body and recompute what derives from the row's own fields. `save()`
        calls it; bulk inserts, which bypass `save()`, must call it themselves."""
        if not body_is_sanitized:
            self.body = article_body.sanitize(self.body)
        self.headline_key = headline_key(self.headline)
        self.word_count = len(article_body.plain_text(self.body).split())
        self.refresh_coverage_times()

    def refresh_coverage_times(self) -> None:
        """When live coverage started and ended, from `live_status`: started when first made
        live, ended when ended (resuming clears the end)."""
        if self.live_status:
            self.coverage_started_at = self.coverage_started_at or timezone.now()
        if self.live_status == LiveStatus.ENDED:
            self.coverage_ended_at = self.coverage_ended_at or timezone.now()
        else:
            self.coverage_ended_at = None

    def mark_published(self, at: datetime | None = None) -> None:
        """Publish at `at` (a future time schedules the story; default: the time it already
        has, or now). Status and time are set together, by every writer: workflow, importer."""
        self.status = Status.PUBLISHED
        moment = to_the_second(at or self.published_at or timezone.now())
        if self.embargo_until is not None and moment < self.embargo_until:
            moment = self.embargo_until  # "publish now": when the embargo lifts
        self.published_at = moment
        self.withdrawn_reason = ""

    @property
    def reading_time(self) -> int:
        """Minutes an average reader needs, never less than one."""
        return max(1, math.ceil(self.word_count / READING_WORDS_PER_MINUTE))

    @property
    def hero(self):
        """The story's picture when readers may see it (see `pictures.models.shown`: an
        expired licence takes it off every page), else None. No query when loaded with
        `select_related("hero_image")`, as the read queries do."""
        image = self.hero_image if self.hero_image_id else None
        return image if image is not None and image.is_shown else None

    @property
    def is_visible(self) -> bool:
        """`queries.visible` for a row in hand, without a query."""
        now = timezone.now()
        return (
            self.status == Status.PUBLISHED
            and self.published_at is not None
            and self.published_at <= now
            and (self.unpublish_at is None or self.unpublish_at > now)
        )

    @property
    def is_embargoed(self) -> bool:
        """An embargo still to lift."""
        return self.embargo_until is not None and self.embargo_until > timezone.now()

    @property
    def has_ended(self) -> bool:
        """Published, and its "unpublish at" time has come: gone from the site by itself."""
        return (
            self.status == Status.PUBLISHED
            and self.unpublish_at is not None
            and self.unpublish_at <= timezone.now()
        )

    @property
    def is_live(self) -> bool:
        """A live blog whose coverage is running (the LIVE badge, the page polling)."""
        return self.live_status == LiveStatus.LIVE

    @property
    def summary_points(self) -> list[str]:
        return [line.strip(" •-*") for line in self.live_summary.splitlines() if line.strip()]

    @property
    def is_scheduled(self) -> bool:
        """`ArticleQuerySet.scheduled` for a row in hand: published, its time still to come."""
        return (
            self.status == Status.PUBLISHED
            and self.published_at is not None
            and self.published_at > timezone.now()
        )


def article_slug(headline: str) -> str:
    """The slug a headline would get before any "-2" suffix (see `newsroom.slugs`)."""
    return base_slug(headline, max_length=SLUG_MAX_LENGTH, fallback="story")
