"""What crawlers read off a story page: schema.org `NewsArticle` as JSON-LD data."""

from collections.abc import Callable

from django.conf import settings
from django.templatetags.static import static

from .body import plain_text
from .models import LARGE_PICTURE_WIDTH
from .models.choices import language_tag

# The crops search engines ask for (Google: 16:9, 4:3 and 1:1, large).
CRAWLER_CROPS = ("wide", "standard", "square")


def picture_objects(picture, *, absolute: Callable[[str], str]) -> list[dict]:
    """`ImageObject`s of a library picture readers may see, one per crawler crop, each
    at least `LARGE_PICTURE_WIDTH` wide when the picture is (the widest there is otherwise)."""
    if picture is None:
        return []
    out = []
    for crop in CRAWLER_CROPS:
        found = picture.rendition_url(crop, at_least=LARGE_PICTURE_WIDTH)
        if found is None:
            continue
        url, width, height = found
        entry = {"@type": "ImageObject", "url": absolute(url), "width": width, "height": height}
        if picture.caption:
            entry["caption"] = picture.caption
        if picture.credit:
            entry["creditText"] = picture.credit
        out.append(entry)
    return out


def news_article(article, *, absolute: Callable[[str], str]) -> dict:
    """`NewsArticle` for `article` (loaded by `detail`), its links made absolute by
    `absolute` (the request's `build_absolute_uri`)."""
    images = picture_objects(article.hero, absolute=absolute)
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
        "inLanguage": language_tag(article.language),
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


def live_blog_posting(article, live, *, absolute: Callable[[str], str]) -> dict:
    """`LiveBlogPosting` for a live blog's page: the story's `NewsArticle` facts, when its
    coverage started (and ended), and the entries the page shows as `liveBlogUpdate`s."""
    data = news_article(article, absolute=absolute)
    data["@type"] = "LiveBlogPosting"
    if article.coverage_started_at:
        data["coverageStartTime"] = article.coverage_started_at.isoformat()
    if article.coverage_ended_at:
        data["coverageEndTime"] = article.coverage_ended_at.isoformat()
    updates, latest = [], article.revised_at or article.updated_at
    for entry in live.rows:
        if not entry.is_shown:
            continue
        text = plain_text(entry.body).strip()
        update = {
            "@type": "BlogPosting",
            "headline": (entry.title or text)[:110],
            "articleBody": text,
            "datePublished": entry.posted_at.isoformat(),
            "url": absolute(f"{live.permalink_base}{entry.pk}/"),
        }
        if entry.edited_at:
            update["dateModified"] = entry.edited_at.isoformat()
        latest = max(latest, entry.edited_at or entry.posted_at)
        if entry.author_id:
            update["author"] = {"@type": "Person", "name": entry.author.name}
        updates.append(update)
    if updates:
        data["liveBlogUpdate"] = updates
        data["dateModified"] = latest.isoformat()
    return data
