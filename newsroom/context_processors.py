"""Site-wide template context: the outlet's name and the section navigation."""

from django.conf import settings


def site(request):
    from articles.models import Section

    return {
        "site_name": settings.SITE_NAME,
        "site_description": settings.SITE_DESCRIPTION,
        # Lazy: evaluated once, only by templates that show the navigation.
        "nav_sections": Section.objects.only("name", "slug").order_by("order", "name"),
    }
