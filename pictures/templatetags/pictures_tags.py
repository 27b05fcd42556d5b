"""Template helpers for library pictures: their `srcset` per placement, and absolute links to
a rendition for crawlers, feeds and emails."""

from django import template

register = template.Library()


@register.simple_tag
def picture_sources(image, placement: str):
    """`image.sources(placement)` (see `pictures.models.Image.sources`), or None."""
    return image.sources(placement) if image else None
