"""RSS 2.0 and Atom feeds: the whole site and each section, tag and author.

Each item's picture (when readers may see it) goes out as Media RSS: `media:content` with its
size and type, `media:description` (the alt text) and `media:credit`, which feed readers,
aggregators and news apps show; the feed declares the Media RSS namespace.

Summaries are sent as HTML, as feed readers read them (RSS `description`, Atom `summary`
type="html"): the plain text is escaped, so "<3" stays two characters. Whatever a story holds,
the feed writers cannot put a control character into the XML, which XML 1.0 refuses.
"""

import contextvars

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed
from django.utils.html import escape
from taggit.models import Tag

from accounts.models import Author
from newsroom.cache import tag_response
from newsroom.text import one_line

from . import surrogates
from .body import plain_text
from .models import LARGE_PICTURE_WIDTH, Article, Correction, Section

MEDIA_RSS = "http://search.yahoo.com/mrss/"
# The surrogate keys of the feed being written (a feed object serves every request: the keys
# of one request's items cannot be kept on it).
_shown: contextvars.ContextVar[set | None] = contextvars.ContextVar("feed_keys", default=None)

ITEMS = 30
SUMMARY_WORDS = 60


def _xml_safe(value):
    if isinstance(value, str):
        return one_line(value)
    if isinstance(value, list | tuple):
        return type(value)(_xml_safe(item) for item in value)
    return value


class XMLSafe:
    """A feed generator whose texts lose any control character on the way in."""

    def __init__(self, *args, **kwargs):
        super().__init__(
            *[_xml_safe(a) for a in args], **{k: _xml_safe(v) for k, v in kwargs.items()}
        )

    def add_item(self, *args, **kwargs):
        super().add_item(
            *[_xml_safe(a) for a in args], **{k: _xml_safe(v) for k, v in kwargs.items()}
        )


class MediaRSS:
    """Adds each item's `picture` (see `LatestFeed.item_extra_kwargs`) as Media RSS."""

    def root_attributes(self):
        return {**super().root_attributes(), "xmlns:media": MEDIA_RSS}

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        picture = item.get("picture")
        if not picture:
            return
        handler.startElement(
            "media:content",
            {
                "url": picture["url"],
                "medium": "image",
                "type": "image/jpeg",
                "width": str(picture["width"]),
                "height": str(picture["height"]),
            },
        )
        if picture["alt"]:
            handler.addQuickElement("media:description", one_line(picture["alt"]))
        if picture["credit"]:
            handler.addQuickElement("media:credit", one_line(picture["credit"]))
        handler.endElement("media:content")


class RSSFeed(XMLSafe, MediaRSS, Rss201rev2Feed):
    pass


class AtomFeed(XMLSafe, MediaRSS, Atom1Feed):
    pass


class KeyedFeed(Feed):
    """A feed whose response carries the surrogate keys of what it lists (`listing_keys` and
    what `items` adds through `shows`)."""

    def get_feed(self, obj, request):
        token = _shown.set(set(self.listing_keys(obj)))
        try:
            feed = super().get_feed(obj, request)
            tag_response(request, _shown.get())
        finally:
            _shown.reset(token)
        return feed

    def listing_keys(self, obj):
        return {surrogates.FEEDS}

    @staticmethod
    def shows(keys) -> None:
        if (shown := _shown.get()) is not None:
            shown |= set(keys)


class LatestFeed(KeyedFeed):
    """The newest published stories."""

    feed_type = RSSFeed

    def title(self, obj=None):
        return f"{settings.SITE_NAME}: latest stories"

    def link(self, obj=None):
        return reverse("articles:home")

    def description(self, obj=None):
        return f"The newest stories from {settings.SITE_NAME}."

    def stories(self, obj):
        return Article.objects.published()

    def items(self, obj=None):
        items = list(self.stories(obj).for_listing(text=True)[:ITEMS])
        self.shows(surrogates.of_cards(items))
        return items

    def item_title(self, item):
        return f"LIVE: {item.headline}" if item.is_live else item.headline

    def item_description(self, item):
        if item.standfirst:
            return escape(item.standfirst)
        words = plain_text(item.body).split()
        summary = " ".join(words[:SUMMARY_WORDS]) + (" …" if len(words) > SUMMARY_WORDS else "")
        return escape(summary)

    def item_pubdate(self, item):
        return item.published_at

    def item_updateddate(self, item):
        return item.revised_at or item.published_at

    def item_author_name(self, item):
        return ", ".join(author.name for author in item.authors.all()) or None

    def item_categories(self, item):
        return [item.section.name]

    def item_guid(self, item):
        return f"{settings.SITE_URL}/story/{item.pk}"

    item_guid_is_permalink = False

    def item_extra_kwargs(self, item):
        picture = item.hero
        found = picture.rendition_url("wide", at_least=LARGE_PICTURE_WIDTH) if picture else None
        if found is None:
            return {}
        url, width, height = found
        address = url if url.startswith(("http://", "https://")) else f"{settings.SITE_URL}{url}"
        return {
            "picture": {
                "url": address,
                "width": width,
                "height": height,
                "alt": picture.alt_text,
                "credit": picture.credit,
            }
        }


class SectionFeed(LatestFeed):
    def get_object(self, request, section):
        return get_object_or_404(Section, slug=section)

    def title(self, obj=None):
        return f"{settings.SITE_NAME}: {obj.name}"

    def link(self, obj=None):
        return obj.get_absolute_url()

    def description(self, obj=None):
        return obj.description or f"The newest {obj.name} stories."

    def stories(self, obj):
        return Article.objects.published().in_section(obj)

    def listing_keys(self, obj):
        return {surrogates.FEEDS, surrogates.section(obj.pk)}


class TagFeed(LatestFeed):
    def get_object(self, request, slug):
        return get_object_or_404(Tag, slug=slug)

    def title(self, obj=None):
        return f"{settings.SITE_NAME}: stories tagged {obj.name}"

    def link(self, obj=None):
        return reverse("articles:tag", args=[obj.slug])

    def description(self, obj=None):
        return f"The newest stories tagged “{obj.name}”."

    def stories(self, obj):
        return Article.objects.published().tagged(obj.slug)

    def listing_keys(self, obj):
        return {surrogates.FEEDS, surrogates.tag(obj.pk), surrogates.tag_listing(obj.pk)}


class AuthorFeed(LatestFeed):
    def get_object(self, request, slug):
        return get_object_or_404(Author, slug=slug)

    def title(self, obj=None):
        return f"{settings.SITE_NAME}: stories by {obj.name}"

    def link(self, obj=None):
        return reverse("articles:author", args=[obj.slug])

    def description(self, obj=None):
        return f"The newest stories by {obj.name}."

    def stories(self, obj):
        return Article.objects.published().by_author(obj)

    def listing_keys(self, obj):
        return {surrogates.FEEDS, surrogates.author(obj.pk), surrogates.author_listing(obj.pk)}


def atom(feed_class):
    """The same feed in Atom."""
    return type(
        f"Atom{feed_class.__name__}",
        (feed_class,),
        {"feed_type": AtomFeed, "subtitle": feed_class.description},
    )


class CorrectionsFeed(KeyedFeed):
    """Corrections, clarifications and updates, newest first."""

    feed_type = RSSFeed

    def title(self):
        return f"{settings.SITE_NAME}: corrections"

    def link(self):
        return reverse("articles:corrections")

    def description(self):
        return f"Corrections, clarifications and updates to {settings.SITE_NAME} stories."

    def listing_keys(self, obj):
        return {surrogates.CORRECTIONS}

    def items(self):
        items = list(Correction.objects.published()[:ITEMS])
        self.shows(surrogates.story(item.article_id) for item in items)
        return items

    def item_title(self, item):
        return f"{item.get_kind_display()}: {item.article.headline}"

    def item_description(self, item):
        return escape(item.text)

    def item_link(self, item):
        return f"{item.article.get_absolute_url()}#corrections-title"

    def item_pubdate(self, item):
        return item.published_at

    def item_guid(self, item):
        return f"{settings.SITE_URL}/corrections/{item.pk}"

    item_guid_is_permalink = False
