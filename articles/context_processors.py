"""Template context every public page shares: the section navigation and the breaking-news
banner."""

from django.utils.functional import SimpleLazyObject

from newsroom.cache import kept_until_any_change, tag_response

from . import surrogates
from .models import Article, Section

NAVIGATION_KEY = "navigation"
BANNER_KEY = "breaking-banner"
BANNER_STORIES = 3


def navigation(request):
    # Lazy: made once, only for templates that show the navigation.
    return {"nav_sections": SimpleLazyObject(_sections)}


def _sections() -> list[Section]:
    """The sections in navigation order, names and slugs only, from the cache until a section
    changes (every change to one purges `all`): a query less on every page."""
    rows = kept_until_any_change(NAVIGATION_KEY, _section_rows)
    return [Section(name=name, slug=slug) for name, slug in rows]


def _section_rows() -> list[tuple[str, str]]:
    return list(Section.objects.order_by("order", "name").values_list("name", "slug"))


def breaking_news(request):
    # Lazy, as the navigation: only pages that show the banner read it (and carry its key).
    return {"breaking_news": SimpleLazyObject(lambda: _banner(request))}


def _banner(request) -> list[tuple[str, str]]:
    """(headline, address) of the newest breaking stories, newest first, from the cache until
    the banner changes (`surrogates.BREAKING`: flagged, unflagged, withdrawn, renamed, moved) or
    runs out; the page showing it carries that key."""
    tag_response(request, {surrogates.BREAKING})
    return kept_until_any_change(BANNER_KEY, _banner_rows, keys=[surrogates.BREAKING])


def _banner_rows() -> list[tuple[str, str]]:
    stories = Article.objects.breaking().for_links()[:BANNER_STORIES]
    return [(story.headline, story.get_absolute_url()) for story in stories]
