"""The demo content shipped in `fixtures/`: the seed files imported as their manifest says,
each story with its picture from `fixtures/pictures/` (see its CREDITS.md).

`fixtures/seeds/manifest.json` gives each file its section, bylines, tags, publication time and
picture (and, for one, a gallery). `manage.py build_demo_fixtures` turns them into
`fixtures/demo.json` for `loaddata`, and a test checks that the JSON still matches what the
importer makes of the files. The picture files themselves are copied into storage, and their
renditions made, by `install_demo_pictures` (`manage.py setup_demo` runs it)."""

import json
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.dateparse import parse_datetime
from PIL import Image as PILImage

from accounts.services import resolve_authors
from pictures import upkeep
from pictures.models import Image

from .models import Article, Section
from .services.importing import ImportOptions, ImportResult, import_paths
from .services.media import sync_pictures

SEED_DIR = Path(settings.BASE_DIR) / "fixtures" / "seeds"
FIXTURE_PATH = Path(settings.BASE_DIR) / "fixtures" / "demo.json"
PICTURE_DIR = Path(settings.BASE_DIR) / "fixtures" / "pictures"
STORED_AS = "demo/"  # where the demo pictures go in the media storage
DRAWN_BY_US = {
    "credit": "Racket Graphics",
    "source": "Drawn for the demo by this project (fixtures/pictures/draw.py)",
    "licence": "cc0",
    "rights": "Our own illustration, dedicated to the public domain (CC0).",
}
FIXTURE_MODELS = [
    "articles.section",
    "accounts.author",
    "pictures.image",
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
            status=Article.Status.PUBLISHED,
            published_at=when,
            is_featured=entry.get("featured", False),
            is_breaking=entry.get("breaking", False),
        )
        [result] = import_paths([seed_dir / name], options=options)
        if result.article_id:
            Article.objects.filter(pk=result.article_id).update(created_at=when, updated_at=when)
            _add_pictures(Article.objects.get(pk=result.article_id), entry, when)
        results.append(result)
    return results


def _add_pictures(article: Article, entry: dict, when) -> None:
    """The story's picture and gallery from the manifest (library rows only: the files are
    installed in storage by `install_demo_pictures`)."""
    updates = {}
    if entry.get("picture"):
        updates["hero_image"] = library_picture(entry["picture"], when)
    if entry.get("gallery"):
        numbers = ", ".join(str(library_picture(name, when).pk) for name in entry["gallery"])
        paragraphs = article.body.split("</p>")
        # After the third paragraph: a gallery belongs in the story, not at its foot.
        paragraphs.insert(3, f'\n<p class="gallery">Gallery {numbers}')
        updates["body"] = "</p>".join(paragraphs)
    Article.objects.filter(pk=article.pk).update(**updates)
    article.refresh_from_db()
    sync_pictures(article)


def library_picture(name: str, when) -> Image:
    """The library row of demo picture `name` (`fixtures/pictures/`), made if missing."""
    described = json.loads((PICTURE_DIR / "pictures.json").read_text(encoding="utf-8"))[name]
    existing = Image.objects.filter(file=STORED_AS + name).first()
    if existing is not None:
        return existing
    with PILImage.open(PICTURE_DIR / name) as picture:
        width, height = picture.size
    focal_x, focal_y = described.get("focal", (0.5, 0.5))
    words = {
        k: described.get(k, DRAWN_BY_US.get(k, ""))
        for k in ("credit", "source", "licence", "rights")
    }
    return Image.objects.create(
        file=STORED_AS + name,
        width=width,
        height=height,
        alt_text=described["alt_text"],
        caption=described["caption"],
        focal_x=focal_x,
        focal_y=focal_y,
        uploaded_at=when,
        **words,
    )


def install_demo_pictures(*, render: bool = True) -> int:
    """Copy the demo pictures the library rows name into the media storage (replacing what
    is there under those names) and make their renditions. Returns how many were installed."""
    installed = 0
    for image in Image.objects.filter(file__startswith=STORED_AS):
        source = PICTURE_DIR / image.file.name.removeprefix(STORED_AS)
        if not source.exists():
            continue
        if default_storage.exists(image.file.name):
            default_storage.delete(image.file.name)
        default_storage.save(image.file.name, ContentFile(source.read_bytes()))
        if render:
            upkeep.bring_renditions_up_to_date(image.pk)
        installed += 1
    return installed
