"""Partners' own RSS feeds (`PartnerFeed`), at `/partners/feeds/<slug>/<token>/rss/`.

RSS 2.0 as the site's feeds write it (Media RSS pictures with their credit, stable GUIDs that
do not change with the address), plus what aggregators ask of a partner feed: the whole story
as `content:encoded` when the feed says so (the body's text, pictures and galleries as
figures with captions and credits, embeds as links; related-story teasers and the sign-up box
are the site's own and stay out), and each item's last change as `dcterms:modified`.

A wrong or old token and a switched-off feed are 404s. Answers are private (`Cache-Control`):
no shared cache may keep one partner's feed, nor keep serving a feed once it is switched off.
"""

import contextvars
import secrets
from dataclasses import dataclass, field

from django.conf import settings
from django.http import Http404
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.views.decorators.cache import cache_control

from articles.body import segments
from articles.feeds import LatestFeed, RSSFeed
from articles.models import LARGE_PICTURE_WIDTH, Article
from articles.services.media import body_media

from .models import PartnerFeed

CONTENT = "http://purl.org/rss/1.0/modules/content/"
DCTERMS = "http://purl.org/dc/terms/"


@dataclass
class Asked:
    """One request's feed: the partner's settings, its sections and the bodies written."""

    feed: PartnerFeed
    section_ids: list[int]
    bodies: dict[int, str] = field(default_factory=dict)


# The request being answered: a feed object serves every request.
_asked: contextvars.ContextVar[Asked | None] = contextvars.ContextVar("asked", default=None)


class PartnerRSS(RSSFeed):
    def root_attributes(self):
        return {**super().root_attributes(), "xmlns:content": CONTENT, "xmlns:dcterms": DCTERMS}

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        if item.get("modified"):
            handler.addQuickElement("dcterms:modified", item["modified"].isoformat())
        if item.get("content"):
            handler.addQuickElement("content:encoded", item["content"])


def absolute(url: str) -> str:
    return url if url.startswith(("http://", "https://")) else f"{settings.SITE_URL}{url}"


def figure(image) -> str:
    found = image.rendition_url("wide", at_least=LARGE_PICTURE_WIDTH) if image else None
    if found is None:
        return ""
    url, width, height = found
    words = " · ".join(part for part in (image.caption, image.credit) if part)
    caption = format_html("<figcaption>{}</figcaption>", words) if words else ""
    return format_html(
        '<figure><img src="{}" alt="{}" width="{}" height="{}">{}</figure>',
        absolute(url),
        image.alt_text,
        width,
        height,
        caption,
    )


def full_text(parts, pictures: dict, embeds: dict) -> str:
    """A story's body (its `segments`) for a partner: its own text and pictures, nothing of
    the site's."""
    out = []
    for segment in parts:
        if segment.kind == "html":
            out.append(segment.html)  # sanitised when saved
        elif segment.kind in ("picture", "gallery"):
            out.extend(figure(pictures.get(pk)) for pk in segment.ids)
        elif segment.kind == "embed" and (embed := embeds.get(segment.url)) is not None:
            out.append(
                format_html('<p><a href="{}">{}</a></p>', embed.url, embed.title or embed.url)
            )
    return "".join(out)


@method_decorator(cache_control(private=True, max_age=300), name="__call__")
class PartnerFeedView(LatestFeed):
    feed_type = PartnerRSS

    def get_object(self, request, slug, token):
        feed = PartnerFeed.objects.filter(slug=slug, is_active=True).first()
        if feed is None or not secrets.compare_digest(feed.token.encode(), token.encode()):
            raise Http404("No such feed")
        return Asked(feed, list(feed.sections.values_list("pk", flat=True)))

    def get_feed(self, obj, request):
        token = _asked.set(obj)
        try:
            return super().get_feed(obj, request)
        finally:
            _asked.reset(token)

    def title(self, obj=None):
        return f"{settings.SITE_NAME} for {obj.feed.name}"

    def description(self, obj=None):
        return f"Stories from {settings.SITE_NAME}, as agreed with {obj.feed.name}."

    def stories(self, obj):
        stories = Article.objects.for_partners()
        return stories.filter(section__in=obj.section_ids) if obj.section_ids else stories

    def items(self, obj=None):
        items = list(self.stories(obj).for_listing(text=True)[: obj.feed.items])
        if obj.feed.full_text:
            cut = {item.pk: segments(item.body) for item in items}
            pictures, embeds = body_media([s for parts in cut.values() for s in parts])
            pictures = pictures if obj.feed.pictures else {}
            obj.bodies = {pk: full_text(parts, pictures, embeds) for pk, parts in cut.items()}
        return items

    def item_extra_kwargs(self, item):
        asked = _asked.get()
        extra = super().item_extra_kwargs(item) if asked.feed.pictures else {}
        extra["modified"] = item.revised_at or item.updated_at
        if body := asked.bodies.get(item.pk):
            extra["content"] = body
        return extra
