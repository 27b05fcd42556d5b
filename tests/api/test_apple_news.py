"""Apple News Format documents (`/api/v1/stories/<id>/apple-news/`): every story's document
has the format's required properties and each component what its role requires; the body
comes in order with its pictures, gallery, teaser and source; what readers cannot see is not
given; and the checker finds what a broken document lacks."""

import copy
import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api import apple_news
from articles.models import Correction
from tests.accounts.factories import AuthorFactory
from tests.api.test_content_api import consumer
from tests.articles.factories import ArticleFactory
from tests.pictures.factories import ImageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def get(client):
    key = consumer(name="Apple News puller")[1]

    def fetch(story_id):
        path = f"/api/v1/stories/{story_id}/apple-news/"
        return client.get(path, headers={"Authorization": f"Bearer {key}"})

    return fetch


@pytest.fixture
def story():
    hero, inline, shot = ImageFactory(), ImageFactory(), ImageFactory()
    linked = ArticleFactory(headline="Seagull menace grows")
    story = ArticleFactory(
        headline="Gulls take the pier",
        standfirst="Chips are no longer safe.",
        hero_image=hero,
        authors=[AuthorFactory(name="Gail Force")],
        tags=["seagulls", "piers"],
        source_name="Coastguard",
        source_url="https://coastguard.example.org/report",
        body=(
            '<p>The gulls <strong>came</strong> at noon, <a href="/news/">says the desk</a>.</p>'
            "<blockquote>“They took my chips,” said a visitor.</blockquote>"
            "<h2>What next</h2><ul><li>Cover your food</li><li>Walk fast</li></ul>"
            '<p class="teaser">Seagull menace grows</p>'
            '<p class="newsletter-signup">Sign up</p>'
            f'<p class="picture">Picture {inline.pk}</p>'
            f'<p class="gallery">Gallery {inline.pk}, {shot.pk}</p>'
        ),
    )
    Correction.objects.create(
        article=story, kind=Correction.Kind.CORRECTION, text="Gulls, not terns."
    )
    return {"story": story, "hero": hero, "inline": inline, "shot": shot, "linked": linked}


def test_a_storys_document_has_every_required_property_and_its_body_in_order(get, story):
    response = get(story["story"].pk)

    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    doc = response.json()
    assert apple_news.problems(doc) == []
    assert {"version", "identifier", "title", "language", "layout", "components",
            "componentTextStyles"} <= set(doc)  # fmt: skip
    assert doc["identifier"] == f"story-{story['story'].pk}" and doc["language"] == "en_GB"
    roles = [c["role"] for c in doc["components"]]
    assert roles == [
        "title", "intro", "byline", "photo", "body", "quote", "heading2", "body", "body", "body",
        "photo", "gallery", "body", "body",
    ]  # fmt: skip
    title, intro, byline, hero, first = doc["components"][:5]
    assert (title["text"], intro["text"]) == ("Gulls take the pier", "Chips are no longer safe.")
    assert byline["text"].startswith("By Gail Force | ")
    assert hero["URL"].startswith(settings.SITE_URL) and hero["URL"].endswith("wide-1200.jpeg")
    assert hero["caption"] == f"{story['hero'].caption} · {story['hero'].credit}"
    assert hero["accessibilityCaption"] == story["hero"].alt_text
    assert f'href="{settings.SITE_URL}/news/"' in first["text"]  # links made absolute
    teaser = doc["components"][8]["text"]
    assert f"{settings.SITE_URL}{story['linked'].get_absolute_url()}" in teaser
    gallery = doc["components"][11]
    assert len(gallery["items"]) == 2 and all(i["URL"].endswith(".jpeg") for i in gallery["items"])
    source, correction = doc["components"][-2:]
    assert "coastguard.example.org" in source["text"] and "Gulls, not terns." in correction["text"]
    metadata = doc["metadata"]
    assert metadata["canonicalURL"] == f"{settings.SITE_URL}{story['story'].get_absolute_url()}"
    assert metadata["thumbnailURL"] == hero["URL"]
    assert sorted(metadata["keywords"]) == ["piers", "seagulls"]
    assert metadata["authors"] == ["Gail Force"] and metadata["excerpt"] == intro["text"]


def test_a_plain_story_without_pictures_or_standfirst_is_still_a_valid_document(get):
    plain = ArticleFactory(headline="Short one", standfirst="", body="<p>Just this.</p>")
    doc = get(plain.pk).json()
    assert apple_news.problems(doc) == []
    assert [c["role"] for c in doc["components"]] == ["title", "byline", "body"]
    assert "thumbnailURL" not in doc["metadata"] and "subtitle" not in doc


@pytest.mark.parametrize(
    ("trait", "status"),
    [("draft", 404), ("scheduled", 404), ("embargoed", 404), ("withdrawn", 410)],
)
def test_what_readers_cannot_see_is_not_given(get, trait, status):
    if trait == "embargoed":
        lifts = timezone.now() + timedelta(hours=2)
        hidden = ArticleFactory(published_at=lifts, embargo_until=lifts)
    else:
        hidden = ArticleFactory(**{trait: True})
    response = get(hidden.pk)
    assert response.status_code == status and hidden.headline not in response.content.decode()


def test_a_document_costs_a_fixed_number_of_queries_whatever_its_pictures(get):
    def story_with(pictures: int):
        images = [ImageFactory(renditions="key-only") for _ in range(pictures)]
        refs = "".join(f'<p class="picture">Picture {i.pk}</p>' for i in images)
        return ArticleFactory(body=f"<p>Text.</p>{refs}", tags=["a", "b"])

    few, many = story_with(1), story_with(20)
    get(few.pk)  # the key's first use is noted (a write): not what is counted here
    with CaptureQueriesContext(connection) as one:
        assert get(few.pk).status_code == 200
    with CaptureQueriesContext(connection) as twenty:
        assert get(many.pk).status_code == 200
    assert len(one) == len(twenty) <= 9, [q["sql"] for q in twenty]


def _broken(doc, change):
    broken = copy.deepcopy(doc)
    change(broken)
    return apple_news.problems(broken)


def test_the_checker_names_what_a_broken_document_lacks(get, story):
    doc = get(story["story"].pk).json()
    assert _broken(doc, lambda d: d.pop("componentTextStyles")) == [
        "componentTextStyles: required (dict)"
    ]
    assert _broken(doc, lambda d: d.update(title="")) == ["title: required (str)"]
    assert _broken(doc, lambda d: d["layout"].pop("columns")) == [
        "layout.columns: required (a positive integer)"
    ]
    assert _broken(doc, lambda d: d.update(identifier="story 1/2")) == [
        "identifier: letters, digits, - and _ only, at most 64"
    ]
    assert _broken(doc, lambda d: d.update(language="English")) == [
        "language: 'English' is not like en or en_GB"
    ]
    assert _broken(doc, lambda d: d["components"][3].update(URL="/media/x.jpeg")) == [
        "components[3]: photo: URL required (absolute)"
    ]
    assert _broken(doc, lambda d: d["components"][4].update(text="<p><img src=x></p>")) == [
        "components[4]: body: HTML Apple News does not read: img"
    ]
    assert _broken(doc, lambda d: d["components"][4].update(text='<a href="/x">x</a>')) == [
        "components[4]: body: link '/x' is not absolute"
    ]
    assert _broken(doc, lambda d: d["components"][0].update(text="")) == [
        "components[0]: title: text required"
    ]
    assert _broken(doc, lambda d: d["components"][-1].update(textStyle="shouty")) == [
        f"components[{len(doc['components']) - 1}]: body: textStyle 'shouty' is not defined"
    ]
    assert _broken(doc, lambda d: d["components"].append({"role": "hologram"})) == [
        f"components[{len(doc['components'])}]: role 'hologram' unknown"
    ]
    json.dumps(doc)  # a plain JSON document, nothing Python-only in it
