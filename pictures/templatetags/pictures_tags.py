"""Template helpers for library pictures: the `<picture>` element of a placement, a story's
figure and gallery, written in Python rather than included templates, as a front page has
dozens of pictures and a template include costs more than the element's whole markup."""

from django import template
from django.utils.html import escape, format_html, format_html_join
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


def _caption(image) -> str:
    credit = format_html('<span class="credit">Picture: {}</span>', image.credit)
    return format_html("{} {}", image.caption, credit if image.credit else "")


@register.simple_tag
def figure(image):
    """A picture in the story: its own shape, its caption and credit."""
    caption = ""
    if image.caption or image.credit:
        caption = format_html("<figcaption>{}</figcaption>", _caption(image))
    shown = picture(image, "free", "(min-width: 46rem) 44rem, 100vw")
    return format_html('<figure class="story__figure">{}{}</figure>', shown, caption)


@register.simple_tag
def gallery(images, number: int, prefix: str = ""):
    """A gallery: its pictures in order, in a row that scrolls sideways (and snaps) with no
    script, each with its caption, credit, place ("2 of 5") and a link of its own. `number`
    (after `prefix`: a live entry's) tells the page's galleries apart in their addresses."""
    count = len(images)
    number = f"{prefix}{number}"
    items = format_html_join(
        "",
        '<li class="gallery__item" id="gallery-{0}-{1}"><figure>{2}<figcaption>'
        '<span class="gallery__position">{1} of {3}</span> {4} '
        '<a class="gallery__link" href="#gallery-{0}-{1}">Link to this picture</a>'
        "</figcaption></figure></li>",
        (
            (
                number,
                position,
                picture(image, "free", "(min-width: 46rem) 36rem, 85vw"),
                count,
                _caption(image),
            )
            for position, image in enumerate(images, start=1)
        ),
    )
    return format_html(
        '<section class="gallery" aria-labelledby="gallery-{0}-title">'
        '<h2 id="gallery-{0}-title" class="gallery__title">In pictures '
        '<span class="gallery__count">{1} picture{2}</span></h2>'
        '<ol class="gallery__items">{3}</ol></section>',
        number,
        count,
        "" if count == 1 else "s",
        items,
    )
