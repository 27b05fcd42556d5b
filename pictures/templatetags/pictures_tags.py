"""Template helpers for library pictures: the `<picture>` element of a placement, written in
Python rather than an included template, as a front page has dozens of them (an include costs
more than the element's whole markup)."""

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def picture_sources(image, placement: str):
    """`image.sources(placement)` (see `pictures.models.Image.sources`), or None."""
    return image.sources(placement) if image else None


@register.simple_tag
def picture(image, placement: str, sizes: str, *, eager=False, class_name=""):
    """`<picture>` with AVIF and WebP sources and a JPEG `<img>` (its `srcset`, intrinsic
    size and alt text) for a library picture readers may see; nothing without renditions.
    `eager`: the page's largest picture above the fold, fetched first (`fetchpriority`);
    every other is lazy. Nothing here reads a file or the database."""
    sources = image.sources(placement) if image else None
    if sources is None:
        return ""
    sizes = escape(sizes)
    loading = 'fetchpriority="high"' if eager else 'loading="lazy" decoding="async"'
    css = f' class="{escape(class_name)}"' if class_name else ""
    return mark_safe(
        f"<picture{css}>"
        f'<source type="image/avif" srcset="{sources["avif"]}" sizes="{sizes}">'
        f'<source type="image/webp" srcset="{sources["webp"]}" sizes="{sizes}">'
        f'<img src="{sources["src"]}" srcset="{sources["jpeg"]}" sizes="{sizes}" '
        f'width="{sources["width"]}" height="{sources["height"]}" '
        f'alt="{escape(image.alt_text)}" {loading}></picture>'
    )


CARD_SIZES = "(min-width: 72rem) 17rem, (min-width: 40rem) 45vw, 92vw"


@register.simple_tag
def card_picture(article, *, compact=False, eager=False):
    """A story card's picture: 4:3, or a small square beside the headline when `compact`;
    nothing when the story has none readers may see (`Article.hero`)."""
    if compact:
        return picture(article.hero, "square", "6rem", class_name="card__picture")
    return picture(article.hero, "standard", CARD_SIZES, eager=eager, class_name="card__picture")
