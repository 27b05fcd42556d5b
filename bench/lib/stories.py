"""Fill a migrated, empty web benchmark database (`DATABASE_URL`) with stories, quickly:
`python -m bench.lib.stories COUNT SEED` (from the project root) prints what it made as JSON.

The stories are `seedgen`'s, parsed and sanitised as the importer does, stored with
`bulk_create`, and spread as a live site's are: seven sections, five weeks of publication
times, 40 bylines, 0–3 of 60 tags, related stories, corrections, a featured lead, two breaking
stories, and drafts, scheduled and withdrawn stories readers must not see. Deterministic for a
COUNT and SEED, apart from times, which are relative to now.
"""

import itertools
import json
import os
import random
import sys
import time
from datetime import timedelta

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings")

import django

django.setup()

from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from django.utils.text import slugify  # noqa: E402
from taggit.models import Tag, TaggedItem  # noqa: E402

from accounts.models import Author  # noqa: E402
from articles.body import blocks_to_html, sanitize  # noqa: E402
from articles.models import Article, Correction, Section  # noqa: E402
from articles.parsing import parse  # noqa: E402
from bench.lib import seedgen  # noqa: E402

# Share of the stories per section (a tabloid: news and showbiz lead).
SECTION_WEIGHTS = {
    "news": 25, "showbiz": 20, "sport": 15, "world": 12, "politics": 10, "money": 10, "science": 8,
}  # fmt: skip
FIRST_NAMES = ["Amy", "Ben", "Chloe", "Dan", "Ella", "Femi", "Grace", "Harry", "Isla", "Jack"]
LAST_NAMES = ["Hughes", "Patel", "O'Brien", "Clarke"]
TAGS = [
    "Royal family", "Prince Harry", "Meghan Markle", "King Charles", "Love Island",
    "Coronation Street", "EastEnders", "Strictly Come Dancing", "I'm A Celebrity", "Eurovision",
    "Premier League", "Manchester United", "Liverpool FC", "Darts", "Boxing", "Cricket",
    "Ukraine", "Russia", "Vladimir Putin", "Donald Trump", "Brexit", "Westminster",
    "Boris Johnson", "Labour", "Conservatives", "Council tax", "Energy bills", "Cost of living",
    "Mortgages", "Lottery", "Supermarkets", "Holidays", "Weather", "Heatwave", "Snow",
    "Crime", "Police", "Courts", "NHS", "Schools", "Aliens", "UFOs", "Space", "Dinosaurs",
    "Animals", "Dogs", "Cats", "Food", "Pubs", "TikTok", "Social media", "Elon Musk",
    "Kim Kardashian", "Gordon Ramsay", "Jeremy Clarkson", "Piers Morgan", "Katie Price",
    "Holly Willoughby", "Blackpool", "Manchester",
]  # fmt: skip
BATCH = 1000


def main(count: int, seed: int) -> dict:
    """Store `count` stories and what goes with them; returns what was made."""
    started = time.monotonic()
    rng = random.Random(f"newsroom-bench-web:{seed}:{count}")
    now = timezone.now()
    sections = {section.slug: section for section in Section.objects.all()}
    missing = set(SECTION_WEIGHTS) - set(sections)
    if missing:
        raise SystemExit(f"sections missing (migrations not run?): {sorted(missing)}")
    names = [f"{first} {last}" for first in FIRST_NAMES for last in LAST_NAMES]
    authors = Author.objects.bulk_create([Author(name=name, slug=slugify(name)) for name in names])
    tags = Tag.objects.bulk_create([Tag(name=name, slug=slugify(name)) for name in TAGS])

    headlines = seedgen.make_headlines(rng, count)
    moments = _publication_times(rng, count, now)
    taken: set[str] = set()
    articles = [
        _article(rng, headlines, index, moments[index], now=now, sections=sections, taken=taken)
        for index in range(count)
    ]
    # Two breaking stories among the newest, their banners running for hours yet.
    live = [a for a in articles[-50:] if a.status == Article.Status.PUBLISHED and a.published_at]
    for article in live[-2:]:
        article.is_breaking = True
        article.breaking_until = now + timedelta(hours=6)
    parsed_seconds = time.monotonic() - started
    links = _store(rng, articles, authors, tags)
    # As autovacuum would have by the time readers arrive: planner statistics for the new rows.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")

    counts = dict.fromkeys(Article.Status.values, 0)
    scheduled = 0
    for article in articles:
        counts[article.status] += 1
        scheduled += bool(article.published_at and article.published_at > now)
    return {
        "articles": count,
        "by_status": counts,
        "scheduled": scheduled,
        "visible": counts[Article.Status.PUBLISHED] - scheduled,
        "authors": len(authors),
        "tags": len(tags),
        **links,
        "body_bytes_mean": round(sum(len(a.body.encode()) for a in articles) / count),
        "parse_seconds": round(parsed_seconds, 2),
        "seconds": round(time.monotonic() - started, 2),
    }


def _publication_times(rng: random.Random, count: int, now) -> list:
    """Oldest first, so "Previous post" names the story published before; the newest story is
    ten minutes old and each is 2–8 minutes older than the next (about five weeks for 10,000)."""
    moments, moment = [], now - timedelta(minutes=10)
    for _ in range(count):
        moments.append(moment)
        moment -= timedelta(seconds=rng.randint(120, 480))
    return moments[::-1]


def _article(rng, headlines, index, moment, *, now, sections, taken) -> Article:
    """The story of `headlines[index]`, parsed and sanitised as the importer does it."""
    previous = headlines[index - 1] if index else None
    following = headlines[index + 1] if index + 1 < len(headlines) else None
    others = [headlines[rng.randrange(len(headlines))] for _ in range(3)]
    parsed = parse(seedgen.article_text(rng, headlines[index], previous, following, others))
    # Django's slugify, as the app's slugs are for headlines like these, made unique the same way.
    slug = base = slugify(parsed.headline, allow_unicode=True)
    for n in itertools.count(2):
        if slug not in taken:
            break
        slug = f"{base}-{n}"
    taken.add(slug)
    first_paragraph = next((b.text for b in parsed.blocks if b.kind == "paragraph"), "")
    standfirst = first_paragraph.split(". ")[0][:300] if rng.random() < 0.6 else ""
    status, published_at = Article.Status.PUBLISHED, moment
    roll = rng.random()
    if roll < 0.01:
        status, published_at = Article.Status.DRAFT, None
    elif roll < 0.015:  # scheduled: days ahead, so cached pages keep their full lifetime
        published_at = now + timedelta(days=rng.randint(1, 3), minutes=rng.randint(0, 600))
    elif roll < 0.018:
        status = Article.Status.WITHDRAWN
    source = parsed.source
    article = Article(
        headline=parsed.headline,
        slug=slug,
        import_key=parsed.key,
        standfirst=standfirst,
        body=sanitize(blocks_to_html(parsed.blocks)),
        section=sections[rng.choices(list(SECTION_WEIGHTS), list(SECTION_WEIGHTS.values()))[0]],
        status=status,
        published_at=published_at,
        created_at=(published_at or now) - timedelta(minutes=rng.randint(20, 240)),
        source_name=source.name[:150] if source else "",
        source_url=source.url if source and source.url.startswith("https://") else "",
        source_label=source.label[:300] if source else "",
        previous_title=parsed.previous_title,
        next_title=parsed.next_title,
        withdrawn_reason=(
            Article.WithdrawalReason.EDITORIAL if status == Article.Status.WITHDRAWN else ""
        ),
        is_featured=rng.random() < 0.005,
    )
    article.refresh_derived_fields(body_is_sanitized=True)
    return article


@transaction.atomic
def _store(rng, articles, authors, tags) -> dict:
    """Insert the stories with their bylines, tags, related stories and corrections."""
    for start in range(0, len(articles), BATCH):
        Article.objects.bulk_create(articles[start : start + BATCH])
    bylines = [
        Article.authors.through(article_id=article.pk, author_id=author.pk)
        for article in articles
        for author in rng.sample(authors, 2 if rng.random() < 0.2 else 1)
    ]
    Article.authors.through.objects.bulk_create(bylines, batch_size=BATCH)
    content_type = ContentType.objects.get_for_model(Article)
    tagged = [
        TaggedItem(content_type=content_type, object_id=article.pk, tag=tag)
        for article in articles
        for tag in rng.sample(tags, rng.choice([0, 1, 1, 2, 2, 3]))
    ]
    TaggedItem.objects.bulk_create(tagged, batch_size=BATCH)
    related = [
        Article.related.through(from_article_id=article.pk, to_article_id=other.pk)
        for index, article in enumerate(articles)
        if index > 10 and rng.random() < 0.15
        for other in rng.sample(articles[max(0, index - 300) : index], rng.randint(1, 3))
    ]
    Article.related.through.objects.bulk_create(related, batch_size=BATCH)
    corrections = [
        Correction(
            article=article,
            kind=rng.choice(Correction.Kind.values),
            text="An earlier version of this story gave the wrong name for the council.",
            published_at=article.published_at + timedelta(hours=2),
        )
        for article in articles
        if article.published_at and rng.random() < 0.02
    ]
    Correction.objects.bulk_create(corrections, batch_size=BATCH)
    return {
        "bylines": len(bylines),
        "tagged_items": len(tagged),
        "related_links": len(related),
        "corrections": len(corrections),
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), int(sys.argv[2]))))
