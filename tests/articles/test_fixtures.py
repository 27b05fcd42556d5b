"""fixtures/demo.json is what the importer makes of fixtures/seeds/, and loads cleanly."""

import json
import re
from pathlib import Path

import pytest
from django.core.management import call_command

from articles.demo import (
    FIXTURE_PATH,
    PICTURE_DIR,
    SEED_DIR,
    STORED_AS,
    build_demo_content,
    load_manifest,
)
from articles.models import Article
from articles.services.importing import Outcome
from pictures.models import Image

pytestmark = pytest.mark.django_db
COMPARED = [
    "headline",
    "slug",
    "headline_key",
    "standfirst",
    "body",
    "status",
    "published_at",
    "source_name",
    "source_url",
    "source_label",
    "previous_title",
    "next_title",
    "is_breaking",
    "is_featured",
    "word_count",
    "import_key",
]


def fixture_articles():
    """Articles from the JSON, keyed by headline, with authors, section and tags resolved."""
    rows = json.loads(Path(FIXTURE_PATH).read_text(encoding="utf-8"))
    by_model = {}
    for row in rows:
        by_model.setdefault(row["model"], []).append(row)
    sections = {r["pk"]: r["fields"]["slug"] for r in by_model["articles.section"]}
    pictures = {r["pk"]: picture_fields(r["fields"]) for r in by_model["pictures.image"]}
    authors = {r["pk"]: r["fields"]["name"] for r in by_model["accounts.author"]}
    tagged = {}
    for item in by_model["taggit.taggeditem"]:
        [tag_name] = item["fields"]["tag"]  # taggit tags are dumped by natural key (name)
        tagged.setdefault(item["fields"]["object_id"], set()).add(tag_name)
    out = {}
    for row in by_model["articles.article"]:
        fields = row["fields"]
        fields["body"] = named_pictures(fields["body"], {k: v["file"] for k, v in pictures.items()})
        out[fields["headline"]] = {
            **{name: fields[name] for name in COMPARED},
            "section": sections[fields["section"]],
            "authors": sorted(authors[pk] for pk in fields["authors"]),
            "tags": tagged.get(row["pk"], set()),
            "picture": pictures.get(fields["hero_image"]),
            "pictures": sorted(pictures[pk]["file"] for pk in fields["pictures"]),
        }
    return out


def named_pictures(body: str, files: dict) -> str:
    """The body with its galleries' library numbers as file names: the numbers are whatever
    the database gave, the files what the manifest chose."""
    return re.sub(
        r'<p class="gallery">Gallery ([\d, ]+)</p>',
        lambda m: ", ".join(files[int(n)] for n in m.group(1).split(", ")),
        body,
    )


PICTURE_FIELDS = ["file", "width", "height", "alt_text", "caption", "credit", "licence", "rights"]


def picture_fields(fields: dict) -> dict:
    return {name: fields[name] for name in PICTURE_FIELDS}


def database_articles():
    out = {}
    files = {image.pk: image.file.name for image in Image.objects.all()}
    rows = Article.objects.prefetch_related("authors", "tags", "pictures").select_related(
        "section", "hero_image"
    )
    for article in rows:
        fields = json.loads(
            json.dumps({name: getattr(article, name) for name in COMPARED}, default=str)
        )
        fields["published_at"] = article.published_at.isoformat().replace("+00:00", "Z")
        fields["body"] = named_pictures(fields["body"], files)
        out[article.headline] = {
            **fields,
            "section": article.section.slug,
            "authors": sorted(author.name for author in article.authors.all()),
            "tags": {tag.name for tag in article.tags.all()},
            "picture": picture_fields(
                {
                    n: str(getattr(article.hero_image, n))
                    if n == "file"
                    else getattr(article.hero_image, n)
                    for n in PICTURE_FIELDS
                }
            )
            if article.hero_image
            else None,
            "pictures": sorted(p.file.name for p in article.pictures.all()),
        }
    return out


def test_fixture_matches_what_the_importer_makes_of_the_seed_files():
    results = build_demo_content()
    assert {result.outcome for result in results} == {Outcome.CREATED}
    expected = fixture_articles()
    actual = database_articles()
    assert sorted(actual) == sorted(expected)
    for headline, fields in expected.items():
        fields["published_at"] = fields["published_at"].replace(".000Z", "Z")
        assert actual[headline] == fields, headline


def test_every_seed_file_is_in_the_manifest_and_the_original_is_kept_byte_for_byte():
    files = {path.name for path in SEED_DIR.glob("*.txt")}
    assert files == set(load_manifest())
    assert len(files) >= 13
    original = (SEED_DIR / "000_6da195aad82aa6ad.txt").read_bytes()
    assert original.startswith("Putin’s generals".encode()) and len(original) == 3746


def test_every_demo_story_ships_with_a_described_and_credited_picture():
    stories = fixture_articles()
    assert stories and all(story["picture"] for story in stories.values())
    for headline, story in stories.items():
        picture = story["picture"]
        assert picture["alt_text"] and picture["credit"] and picture["licence"] == "cc0", headline
        assert (PICTURE_DIR / picture["file"].removeprefix(STORED_AS)).stat().st_size < 300_000
    assert any("demo/coffee-cup.jpg" in story["body"] for story in stories.values())  # a gallery
    assert "CC0" in (PICTURE_DIR / "CREDITS.md").read_text()


def test_fixture_loads_into_a_freshly_migrated_database(client):
    call_command("loaddata", str(FIXTURE_PATH), verbosity=0)
    assert Article.objects.published().count() == len(load_manifest())
    lead = Article.objects.get(is_featured=True)
    assert client.get("/").status_code == 200
    assert client.get(lead.get_absolute_url()).status_code == 200
