"""Template helpers for metadata crawlers read: JSON-LD and absolute URLs."""

import json

from django import template
from django.conf import settings
from django.templatetags.static import static
from django.utils.html import _json_script_escapes
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def jsonld(data) -> str:
    """`data` as a JSON-LD script element, escaped so no text can close the element."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")).translate(
        _json_script_escapes
    )
    return mark_safe(f'<script type="application/ld+json">{text}</script>')


@register.simple_tag(takes_context=True)
def absolute(context, url: str) -> str:
    request = context.get("request")
    if not url or url.startswith(("http://", "https://")):
        return url
    return request.build_absolute_uri(url) if request else f"{settings.SITE_URL}{url}"


@register.simple_tag(takes_context=True)
def article_structured_data(context, article, hero=None) -> dict:
    """schema.org `NewsArticle` for an article page."""
    request = context["request"]

    def full(url):
        return request.build_absolute_uri(url)

    images = [full(article.hero_image.url)] if article.hero_image else []
    authors = [
        {"@type": "Person", "name": author.name, "url": full(author.get_absolute_url())}
        for author in article.authors.all()
    ] or [{"@type": "Organization", "name": settings.SITE_NAME, "url": full("/")}]
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "mainEntityOfPage": {"@type": "WebPage", "@id": full(article.get_absolute_url())},
        "url": full(article.get_absolute_url()),
        "headline": article.headline[:110],
        "datePublished": article.published_at.isoformat(),
        "dateModified": (article.revised_at or article.updated_at).isoformat(),
        "author": authors,
        "publisher": {
            "@type": "NewsMediaOrganization",
            "name": settings.SITE_NAME,
            "url": full("/"),
            "logo": {
                "@type": "ImageObject",
                "url": full(static("img/logo.png")),
                "width": 600,
                "height": 60,
            },
        },
        "articleSection": article.section.name,
        "wordCount": article.word_count,
        "isAccessibleForFree": True,
    }
    if images:
        data["image"] = images
    if article.standfirst:
        data["description"] = article.standfirst
    keywords = [tag.name for tag in article.tags.all()]
    if keywords:
        data["keywords"] = keywords
    if article.source_url:
        data["isBasedOn"] = article.source_url
    corrections = list(article.corrections.all())
    if corrections:
        data["correction"] = [
            {
                "@type": "CorrectionComment",
                "text": correction.text,
                "datePublished": correction.published_at.isoformat(),
            }
            for correction in corrections
        ]
    return data


@register.simple_tag
def absolute_static(path: str) -> str:
    """An absolute URL for a static file, for tags read off-site (Open Graph images)."""
    url = static(path)
    return url if url.startswith(("http://", "https://")) else f"{settings.SITE_URL}{url}"
