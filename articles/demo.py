"""The demo content shipped in `fixtures/`: the seed files imported as their manifest says.

`fixtures/seeds/manifest.json` gives each file its section, bylines, tags and publication time.
`manage.py build_demo_fixtures` turns them into `fixtures/demo.json` for `loaddata`, and a test
checks that the JSON still matches what the importer makes of the files."""

import json
from pathlib import Path

from django.conf import settings
from django.utils.dateparse import parse_datetime

from accounts.services import resolve_authors

from .models import Article, Section
from .services.importing import ImportOptions, ImportResult, import_paths

SEED_DIR = Path(settings.BASE_DIR) / "fixtures" / "seeds"
FIXTURE_PATH = Path(settings.BASE_DIR) / "fixtures" / "demo.json"
FIXTURE_MODELS = [
    "articles.section",
    "accounts.author",
    "articles.article",
    "taggit.tag",
    "taggit.taggeditem",
]


def load_manifest(seed_dir: Path = SEED_DIR) -> dict[str, dict]:
    return json.loads((seed_dir / "manifest.json").read_text(encoding="utf-8"))


def build_demo_content(seed_dir: Path = SEED_DIR) -> list[ImportResult]:
    """Import every file of the manifest, in name order, with the options it lists. Created and
    updated times are set to the publication time so the output does not depend on today."""
    results = []
    for name, entry in sorted(load_manifest(seed_dir).items()):
        when = parse_datetime(entry["published_at"])
        options = ImportOptions(
            section=Section.objects.get(slug=entry["section"]),
            authors=resolve_authors(entry.get("authors", [])),
            tags=tuple(entry.get("tags", [])),
            published_at=when,
            is_featured=entry.get("featured", False),
            is_breaking=entry.get("breaking", False),
        )
        [result] = import_paths([seed_dir / name], options=options)
        if result.article_id:
            Article.objects.filter(pk=result.article_id).update(created_at=when, updated_at=when)
        results.append(result)
    return results
