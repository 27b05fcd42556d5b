"""The web benchmarks' stories: `seedgen`'s files imported in groups of 5–15, each with one
section, byline, tag set and time (`ImportOptions`), as on a live site: seven sections, five
weeks (oldest first: "Previous post" names the story before), 40 bylines (one group in five has
two), 0–3 of 60 tags; a few groups drafts, scheduled, withdrawn or featured; the two newest
breaking. Deterministic but for times; `make` runs in `manage.py shell` and prints JSON."""

import json
import random
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from django.db import connection
from django.db.models import Count
from django.utils import timezone
from taggit.models import TaggedItem

from accounts.services import resolve_authors
from articles.models import Article, Section
from articles.services.importing import ImportOptions, Outcome, import_paths
from bench.lib import seedgen
from pictures.models import Image

# Share of the stories per section (a tabloid: news and showbiz lead).
SECTION_WEIGHTS = {
    "news": 25, "showbiz": 20, "sport": 15, "world": 12, "politics": 10, "money": 10, "science": 8,
}  # fmt: skip
NAMES = "Amy Ben Chloe Dan Ella Femi Grace Harry Isla Jack".split(), "Hughes Patel Clarke O'Brien"
BYLINES = [f"{first} {last}" for first in NAMES[0] for last in NAMES[1].split()]
TAGS = [name.strip(" ,‘’") for name in seedgen.PEOPLE + seedgen.THINGS]  # 60


def make(count: int) -> None:
    started, now = time.monotonic(), timezone.now()
    rng = random.Random(f"newsroom-bench-web:{seedgen.SEED}:{count}")
    with tempfile.TemporaryDirectory(prefix="newsroom-bench-stories-") as folder:
        seedgen.write_seed_files(Path(folder), count)
        paths = sorted(Path(folder).iterdir())
        for start, end, options in _groups(rng, count, now):
            for result in import_paths(paths[start:end], options=options):
                if result.outcome != Outcome.CREATED:
                    raise SystemExit(f"{result.name}: {result.outcome} {result.reason}")
    _pictures()
    with connection.cursor() as cursor:  # as autovacuum would have by the time readers arrive
        cursor.execute("VACUUM ANALYZE")
    by_status = dict(Article.objects.values_list("status").annotate(Count("pk")))
    by_status = {status: by_status.get(status, 0) for status in Article.Status.values}
    made = {
        "articles": sum(by_status.values()), "by_status": by_status, "authors": len(BYLINES),
        "tags": len(TAGS), "scheduled": Article.objects.scheduled().count(),
        "visible": Article.objects.published().count(), "tagged_items": TaggedItem.objects.count(),
        "bylines": Article.authors.through.objects.count(),
    }  # fmt: skip
    print(json.dumps(made | {"seconds": round(time.monotonic() - started, 2)}))


def _pictures() -> None:
    """A library picture per story (renditions marked made), one in three with a gallery too."""
    articles = list(Article.objects.order_by("pk"))
    images = Image.objects.bulk_create(
        Image(file=f"bench/{n}.jpg", width=1600, height=900, alt_text="Picture", credit="Bench",
              rendition_key="benchmark01") for n in range(len(articles) * 2)
    )  # fmt: skip
    for n, article in enumerate(articles):
        article.hero_image = images[2 * n]
        pks = [images[(2 * n + k) % len(images)].pk for k in (1, 3, 5)]
        if n % 3 == 0:
            gallery = ", ".join(map(str, pks))
            article.body += f'<p class="picture">{pks[0]}</p><p class="gallery">{gallery}</p>'
    Article.objects.bulk_update(articles, ["hero_image", "body"], batch_size=1000)


def _groups(rng: random.Random, count: int, now) -> list[tuple[int, int, ImportOptions]]:
    """(first, end, options) of each group, oldest first: the newest story ten minutes old, each
    2–8 minutes older than the next (about five weeks for 10,000)."""
    sections = Section.objects.in_bulk(list(SECTION_WEIGHTS), field_name="slug")
    authors, groups, end, moment = resolve_authors(BYLINES), [], count, now - timedelta(minutes=10)
    while end > 0:
        start = max(0, end - rng.randint(5, 15)) if end < count else count - 2  # breaking
        slug = rng.choices(list(SECTION_WEIGHTS), list(SECTION_WEIGHTS.values()))[0]
        options = {
            "section": sections[slug],
            "status": Article.Status.PUBLISHED,  # the importer's default is review
            "authors": tuple(rng.sample(authors, 2 if rng.random() < 0.2 else 1)),
            "tags": tuple(rng.sample(TAGS, rng.choice([0, 1, 1, 2, 2, 3]))),
            "published_at": moment,
            "is_breaking": end == count,
            "is_featured": rng.random() < 0.005,
        }
        roll = rng.random() if end < count else 1.0  # the breaking pair is published
        if roll < 0.01:
            options |= {"status": Article.Status.DRAFT, "published_at": None}
        elif roll < 0.015:  # scheduled: days ahead, so cached pages keep their full lifetime
            ahead = timedelta(days=rng.randint(1, 3), minutes=rng.randint(0, 600))
            options["published_at"] = now + ahead
        elif roll < 0.018:
            options["status"] = Article.Status.WITHDRAWN
        groups.append((start, end, ImportOptions(**options)))
        moment -= timedelta(seconds=sum(rng.randint(120, 480) for _ in range(end - start)))
        end = start
    return groups[::-1]
