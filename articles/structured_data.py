"""What crawlers read off a story page: schema.org `NewsArticle` as JSON-LD data."""

from collections.abc import Callable

from django.conf import settings
from django.templatetags.static import static


def news_article(article, *, absolute: Callable[[str], str]) -> dict:
    """`NewsArticle` for `article` (loaded `for_detail`), its links made absolute by
    `absolute` (the request's `build_absolute_uri`)."""
    images = [absolute(article.hero_image.url)] if article.hero_image else []
    authors = [
        {"@type": "Person", "name": author.name, "url": absolute(author.get_absolute_url())}
        for author in article.authors.all()
    ] or [{"@type": "Organization", "name": settings.SITE_NAME, "url": absolute("/")}]
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "mainEntityOfPage": {"@type": "WebPage", "@id": absolute(article.get_absolute_url())},
        "url": absolute(article.get_absolute_url()),
        "headline": article.headline[:110],
        "datePublished": article.published_at.isoformat(),
        "dateModified": (article.revised_at or article.updated_at).isoformat(),
        "author": authors,
        "publisher": {
            "@type": "NewsMediaOrganization",
            "name": settings.SITE_NAME,
            "url": absolute("/"),
            "logo": {
                "@type": "ImageObject",
                "url": absolute(static("img/logo.png")),
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
