"""Template context every public page shares: the section navigation."""

from django.utils.functional import SimpleLazyObject

from newsroom.cache import kept_until_any_change

from .models import Section

NAVIGATION_KEY = "navigation"


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
