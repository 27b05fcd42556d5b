"""Site-wide template context: the outlet's name and description."""

from django.conf import settings


def site(request):
    return {"site_name": settings.SITE_NAME, "site_description": settings.SITE_DESCRIPTION}
