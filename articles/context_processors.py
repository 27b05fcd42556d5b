"""Template context every public page shares: the section navigation."""

from .models import Section


def navigation(request):
    # Lazy: evaluated once, only by templates that show the navigation.
    return {"nav_sections": Section.objects.only("name", "slug").order_by("order", "name")}
