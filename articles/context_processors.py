"""Template context every public page shares: the section navigation and the breaking-news
banner, both read from the cache in one round trip when a page first asks for either."""

from django.utils.functional import SimpleLazyObject

from newsroom.cache import tag_response
from newsroom.fragments import Kept, kept_together

from . import surrogates
from .models import Article, Section

# The entries' names say their shape: a new shape takes a new name, so a deploy never reads
# the old one's entries.
NAVIGATION_KEY = "navigation:v2"
BANNER_KEY = "breaking-banner"
BANNER_STORIES = 3


def navigation(request):
    # Lazy: made once, only for templates that show the navigation.
    return {"nav_sections": SimpleLazyObject(lambda: _chrome(request)[0])}


def breaking_news(request):
    # Lazy, as the navigation: only pages that show the banner read it (and carry its key).
    return {"breaking_news": SimpleLazyObject(lambda: _banner(request))}


def _chrome(request) -> tuple[list, list]:
    """The navigation's (name, slug, address) of each section, in navigation order, kept until
    a section changes (every change to one purges `all`), and the banner's (headline, address)
    of the newest breaking stories, kept until it changes (`surrogates.BREAKING`: flagged,
    unflagged, withdrawn, renamed, moved) or runs out. Read together, once a request."""
    found = getattr(request, "_newsroom_chrome", None)
    if found is None:
        found = kept_together(
            CHROME,
            upcoming=getattr(request, "upcoming_changes", None),  # read before the page's rows
            reads=getattr(request, "cache_reads", None),  # with the page (`articles.apps`)
        )
        request._newsroom_chrome = found
    return found


def _banner(request) -> list[tuple[str, str]]:
    """The banner's stories; the page showing it carries its key."""
    tag_response(request, {surrogates.BREAKING})
    return _chrome(request)[1]


def _section_rows() -> list[tuple[str, str, str]]:
    sections = Section.objects.order_by("order", "name").only("name", "slug")
    return [(section.name, section.slug, section.get_absolute_url()) for section in sections]


def _banner_rows() -> list[tuple[str, str]]:
    stories = Article.objects.breaking().for_links()[:BANNER_STORIES]
    return [(story.headline, story.get_absolute_url()) for story in stories]


# Read together; a page not served from the cache reads them with the page (`articles.apps`).
# (Each maker is looked up when it is called, as the module's own function.)
CHROME = [
    Kept(NAVIGATION_KEY, lambda: _section_rows()),
    Kept(BANNER_KEY, lambda: _banner_rows(), keys=(surrogates.BREAKING,)),
]
