"""The move of today's hero pictures into the library (articles 0008-0010) loses nothing: each
hero file, its size, alt text, caption and credit become a library picture the story (and its
history) points at; going back restores the hero fields."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("articles", "0008_library_pictures"), ("pictures", "0001_initial")]
AFTER = [("articles", "0010_remove_hero_fields")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def old_state():
    apps = migrate(BEFORE)
    yield apps
    call_command("migrate", verbosity=0)  # back to the latest state for the other tests


def test_heroes_move_into_the_library_and_back(old_state):
    Article = old_state.get_model("articles", "Article")
    HistoricalArticle = old_state.get_model("articles", "HistoricalArticle")
    Section = old_state.get_model("articles", "Section")
    # A transactional test before this one may have emptied the data migrations' rows.
    section, _ = Section.objects.get_or_create(slug="news", defaults={"name": "News"})
    now = timezone.now()
    hero = Article.objects.create(
        headline="Seagull steals chips",
        slug="seagull-steals-chips",
        headline_key="seagull steals chips",
        section=section,
        hero_image="heroes/2026/11/gull.jpg",
        hero_width=1600,
        hero_height=900,
        hero_alt="A gull with a chip",
        hero_caption="The thief, mid-raid",
        hero_credit="Pier Cam",
        created_at=now,
    )
    shared = Article.objects.create(
        headline="Gull strikes again",
        slug="gull-strikes-again",
        headline_key="gull strikes again",
        section=section,
        hero_image="heroes/2026/11/gull.jpg",  # the same file: one library picture
        hero_width=1600,
        hero_height=900,
        hero_alt="A gull with a chip",
        created_at=now,
    )
    plain = Article.objects.create(
        headline="No picture", slug="no-picture", headline_key="no picture", section=section
    )
    HistoricalArticle.objects.create(
        id=hero.pk,
        headline=hero.headline,
        slug=hero.slug,
        section_id=section.pk,
        hero_image="heroes/2026/10/older-gull.jpg",  # an earlier version's picture
        hero_width=800,
        hero_height=600,
        hero_alt="An older gull",
        hero_caption="Last year's thief",
        hero_credit="Reader",
        created_at=now,
        updated_at=now,
        status="draft",
        history_date=now,
        history_type="~",
    )

    apps = migrate(AFTER)

    Article = apps.get_model("articles", "Article")
    Image = apps.get_model("pictures", "Image")
    HistoricalArticle = apps.get_model("articles", "HistoricalArticle")
    moved = Article.objects.select_related("hero_image").get(pk=hero.pk)
    picture = moved.hero_image
    assert picture.file.name == "heroes/2026/11/gull.jpg"
    assert (picture.width, picture.height) == (1600, 900)
    assert (picture.alt_text, picture.caption, picture.credit) == (
        "A gull with a chip",
        "The thief, mid-raid",
        "Pier Cam",
    )
    assert Article.objects.get(pk=shared.pk).hero_image_id == picture.pk
    assert Article.objects.get(pk=plain.pk).hero_image_id is None
    assert list(moved.pictures.all()) == [picture]
    older = HistoricalArticle.objects.get(id=hero.pk).hero_image
    assert (older.file.name, older.alt_text, older.caption, older.credit) == (
        "heroes/2026/10/older-gull.jpg",
        "An older gull",
        "Last year's thief",
        "Reader",
    )
    assert Image.objects.count() == 2

    apps = migrate(BEFORE)  # and back: the hero fields hold what they held

    Article = apps.get_model("articles", "Article")
    back = Article.objects.get(pk=hero.pk)
    assert (back.hero_image.name, back.hero_width, back.hero_height) == (
        "heroes/2026/11/gull.jpg",
        1600,
        900,
    )
    assert (back.hero_alt, back.hero_caption, back.hero_credit) == (
        "A gull with a chip",
        "The thief, mid-raid",
        "Pier Cam",
    )
