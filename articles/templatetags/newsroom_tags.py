"""Template helpers: story cards and bylines (written in Python: a front page has dozens of
them, and a template include costs more than a card's whole markup), and what metadata
crawlers read, JSON-LD and absolute URLs."""

import json
from functools import lru_cache, partial

from django import template
from django.conf import settings
from django.core.signals import setting_changed
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.dates import MONTHS, MONTHS_3
from django.utils.html import _json_script_escapes, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.timezone import localtime

from articles.models.choices import language_tag, news_language
from newsroom.text import one_line
from pictures.templatetags.pictures_tags import card_picture, figure, gallery

from .. import cards, structured_data

register = template.Library()
# Where a card's snippet goes: a comment no story text can make (its `<` would be escaped).
SNIPPET_SLOT = "<!--snippet-->"
LIVE_BADGE = mark_safe('<span class="badge-live">Live</span> ')  # a live blog's, while live
# Paid-for stories say so wherever they are shown (advertising rules ask it of the publisher).
SPONSORED_BADGE = mark_safe(' <span class="badge-sponsored">Sponsored</span>')


@register.filter
def jsonld(data) -> str:
    """`data` as a JSON-LD script element, escaped so no text can close the element."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")).translate(
        _json_script_escapes
    )
    return mark_safe(f'<script type="application/ld+json">{text}</script>')


@register.simple_tag
def fixed_url(name: str) -> str:
    """`{% url name %}` for a page without arguments (the feeds, search), found once a process:
    a page's header and footer have a dozen, and finding one costs more than a card."""
    return _fixed(name, get_script_prefix(), get_urlconf())


@register.simple_tag
def fixed_static(path: str) -> str:
    """`{% static path %}`, looked up once a process (its hashed name does not change)."""
    return _fixed(path, get_script_prefix(), None, find=static)


@lru_cache(maxsize=512)
def _fixed(name: str, prefix: str, urlconf: str | None, *, find=None) -> str:
    return find(name) if find else reverse(name, urlconf=urlconf)


# Tests change the URLs and storages: what was found under the old settings is forgotten.
setting_changed.connect(lambda **kwargs: _fixed.cache_clear(), weak=False)


register.filter("language_tag", language_tag)
register.filter("news_language", news_language)


@register.filter
def xml_text(value) -> str:
    """`value` as XML 1.0 may carry it: no control characters, whatever the row holds."""
    return one_line(str(value))


@register.simple_tag(takes_context=True)
def absolute(context, url: str) -> str:
    request = context.get("request")
    if not url or url.startswith(("http://", "https://")):
        return url
    return request.build_absolute_uri(url) if request else f"{settings.SITE_URL}{url}"


@register.simple_tag(takes_context=True)
def article_structured_data(context, article) -> dict:
    """schema.org `NewsArticle` (`LiveBlogPosting` for a live blog, with `live`'s entries) for
    an article page (see `articles.structured_data`)."""
    absolute = _absolute_for(context["request"])
    live = context.get("live")
    if live:
        return structured_data.live_blog_posting(article, live, absolute=absolute)
    return structured_data.news_article(article, absolute=absolute)


def _absolute_for(request):
    """`request.build_absolute_uri`, quicker for the site's own paths ("/news/…"), of which a
    story's JSON-LD has a dozen."""
    origin = f"{request.scheme}://{request.get_host()}"

    def absolute(url: str) -> str:
        if url.startswith("/") and not url.startswith("//") and "/." not in url:
            return origin + url
        return request.build_absolute_uri(url)

    return absolute


@register.simple_tag(takes_context=True)
def social_picture(context, picture) -> dict | None:
    """The link-preview crop (1.91:1, 1,200 pixels wide when the picture allows) of a library
    picture, with an absolute URL, for Open Graph; None without a picture."""
    found = picture.rendition_url("social", at_least=1200) if picture else None
    if found is None:
        return None
    url, width, height = found
    return {
        "url": absolute(context, url),
        "width": width,
        "height": height,
        "alt": picture.alt_text,
    }


@register.simple_tag
def byline(authors) -> str:
    """ "By A, B and C", each name linked to the author's page; nothing without authors.
    A tag, not an include: every card on a front page has one, and an include costs more."""
    authors = list(authors or ())
    if not authors:
        return ""
    links = [
        format_html('<a href="{}" rel="author">{}</a>', a.get_absolute_url(), a.name)
        for a in authors
    ]
    names = links[0] if len(links) == 1 else ", ".join(links[:-1]) + " and " + links[-1]
    return mark_safe(f'<span class="byline">By {names}</span>')


@register.simple_tag
def section_nav(sections, current="") -> str:
    """The navigation's items: a link to each of `sections` ((name, slug, address), from
    `articles.context_processors`), the one whose slug is `current` marked as the page's."""
    here = mark_safe('aria-current="page" ')
    items = ((here if slug == current else "", url, name) for name, slug, url in sections)
    return format_html_join("", '<li><a {}href="{}">{}</a></li>', items)


@register.simple_tag
def absolute_static(path: str) -> str:
    """An absolute URL for a static file, for tags read off-site (Open Graph images)."""
    url = static(path)
    return url if url.startswith(("http://", "https://")) else f"{settings.SITE_URL}{url}"


@register.simple_tag(takes_context=True)
def story_card(context, article, *, heading_level=3, snippet="", eager=False, compact=False):
    """A story's card: its picture (`card_picture`), section, headline as a link (an `<h2>` or,
    by default, an `<h3>`), `snippet` (safe HTML) if any and, unless `compact`, byline and
    time. `eager`: the page's first picture. Expects the story loaded `for_listing()`; kept in
    the cache when the view prepared it (`articles.cards`), the snippet put in afterwards."""
    options = {"heading_level": heading_level, "eager": eager, "compact": compact}
    style = cards.Style(**options)
    request = getattr(context, "request", None)  # kept by an include's `only`, unlike its variable
    card = cards.card(request, article, style, lambda: _story_card(article, **options))
    # The card is made (and kept) with a mark where a search result's snippet goes.
    snippet = format_html('<p class="card__snippet">{}</p>', mark_safe(snippet)) if snippet else ""
    return mark_safe(card.replace(SNIPPET_SLOT, snippet))


@register.simple_tag
def story_body(segments, next_url: str, gallery_prefix: str = "") -> str:
    """A story's (or a live entry's) body: each of `segments` ((segment, what it shows) pairs,
    from `articles.views`) as readers see it: its sanitised HTML, a teaser ("Read more", linked
    when its story is found), the sign-up box (returning to `next_url`), a picture, a gallery
    (numbered after `gallery_prefix`), an embed or its plain link."""
    parts = []
    for number, (segment, target) in enumerate(segments, 1):
        if segment.kind == "teaser":
            shown = (
                format_html('<a href="{}">{}</a>', target.get_absolute_url(), segment.title)
                if target
                else format_html('<span class="teaser__title">{}</span>', segment.title)
            )  # An aside without a name is no landmark: teasers do not crowd the landmark list.
            parts.append(format_html(TEASER, shown))
        elif segment.kind == "signup":
            parts.append(render_to_string("includes/signup_box.html", {"next_url": next_url}))
        elif segment.kind == "picture":
            parts.append(figure(target) if target else "")
        elif segment.kind == "gallery":
            parts.append(gallery(target, number, prefix=gallery_prefix) if target else "")
        elif segment.kind == "embed" and target:
            parts.append(render_to_string("includes/embed.html", {"embed": target}))
        elif segment.kind == "embed":
            link = '<p><a href="{0}" rel="noopener external">{0}</a></p>'
            parts.append(format_html(link, segment.url) if segment.url else "")
        else:
            parts.append(segment.html)  # sanitised when saved
    return mark_safe("".join(parts))


TEASER = '<aside class="teaser"><p><span class="teaser__label">Read more</span> {}</p></aside>'


@register.simple_tag(takes_context=True)
def lead_card(context, story) -> str:
    """The home page's lead story (`includes/lead.html`), kept in the cache as cards are."""
    request = getattr(context, "request", None)
    render = partial(render_to_string, "includes/lead.html", {"lead": story})
    return mark_safe(cards.card(request, story, cards.LEAD, render))


def _story_card(article, *, heading_level, eager, compact) -> str:
    classes = "card" + (" card--compact" if compact else "")
    classes += " card--breaking" if article.is_breaking else ""
    section = article.section
    tag = "h2" if heading_level == 2 else "h3"
    headline = format_html(
        '<{0} class="card__headline"><a href="{1}">{2}{3}</a></{0}>',
        mark_safe(tag),
        article.get_absolute_url(),
        LIVE_BADGE if article.is_live else "",
        article.headline,
    )
    extra = mark_safe(SNIPPET_SLOT)
    if not compact:
        extra += format_html(
            '<p class="card__meta">{} <time datetime="{}">{}</time></p>',
            byline(article.authors.all()),
            *_card_time(article.published_at),
        )
    return format_html(
        '<article class="{}">{}<div class="card__text"><p class="card__section">'
        '<a href="{}">{}</a>{}</p>{}{}</div></article>',
        classes,
        card_picture(article, compact=compact, eager=eager),
        section.get_absolute_url(),
        section.name,
        SPONSORED_BADGE if article.sponsored else "",
        headline,
        extra,
    )


def _card_time(moment, months=MONTHS_3) -> tuple[str, str]:
    """A card's time in newsroom time, as the date filters `Y-m-d\\TH:i:sO` and `j M Y, H:i`
    (`j F Y, H:i` with `MONTHS`) write it, without Django's date formatter (a quarter of a
    card's time)."""
    if moment is None:
        return "", ""
    local = localtime(moment)
    month = str(months[local.month]).title()
    return local.isoformat(timespec="seconds")[:-6] + local.strftime("%z"), (
        f"{local.day} {month} {local.year}, {local:%H:%M}"
    )


@register.simple_tag
def time_element(moment) -> str:
    """`<time>` of `moment` in newsroom time: "8 December 2026, 14:05", machine-readable in its
    `datetime`, as `{{ moment|date:"j F Y, H:i" }}` in one would be, in a tenth of the time."""
    machine, shown = _card_time(moment, MONTHS)
    return format_html('<time datetime="{}">{}</time>', machine, shown) if moment else ""
