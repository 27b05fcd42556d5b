"""A published story's old addresses keep working: a slug or section change leaves a permanent
redirect to where the story is now, whoever saves it."""

import pytest
from django.urls import reverse

from articles.models import Article, OldAddress, Section
from articles.services import workflow
from tests.articles.factories import ArticleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def story():
    return ArticleFactory(headline="Seagulls steal chips", slug="seagulls-steal-chips")


def moved(story, **changes) -> Article:
    for name, value in changes.items():
        setattr(story, name, value)
    story.save()
    story.refresh_from_db()
    return story


def test_a_new_slug_leaves_the_old_address_redirecting_to_the_new_one(client, story):
    old = story.get_absolute_url()
    story = moved(story, slug="seagull-gang-steals-400-chips")
    response = client.get(old)
    assert response.status_code == 301 and response["Location"] == story.get_absolute_url()
    assert client.get(story.get_absolute_url()).status_code == 200


def test_every_earlier_address_leads_to_the_newest_in_one_step(client, story):
    first = story.get_absolute_url()
    story = moved(story, slug="second-slug")
    second = story.get_absolute_url()
    sport = Section.objects.get(slug="sport")
    story = moved(story, slug="third-slug", section=sport)
    for old in (first, second, f"/news/{story.slug}/"):
        response = client.get(old)
        assert response.status_code == 301, old
        assert response["Location"] == "/sport/third-slug/"


def test_going_back_to_an_old_slug_forgets_its_redirect(client, story):
    old = story.get_absolute_url()
    story = moved(story, slug="a-new-slug")
    story = moved(story, slug="seagulls-steal-chips")
    assert client.get(old).status_code == 200
    assert list(OldAddress.objects.values_list("path", flat=True)) == ["/news/a-new-slug/"]


def test_a_new_story_given_an_old_address_takes_it_over(client, story):
    old = story.get_absolute_url()
    moved(story, slug="renamed")
    newcomer = ArticleFactory(headline="Other gulls", slug="seagulls-steal-chips")
    response = client.get(old)
    assert response.status_code == 200
    assert newcomer.headline in response.content.decode()


def test_a_draft_renamed_leaves_nothing_and_a_withdrawn_story_is_gone_at_every_address(
    client, story, editor
):
    draft = ArticleFactory(draft=True, slug="draft-one")
    moved(draft, slug="draft-two")
    assert not OldAddress.objects.filter(article=draft).exists()
    old = story.get_absolute_url()
    story = moved(story, slug="renamed-before-takedown")
    workflow.withdraw_article(story, by=editor)
    assert client.get(old).status_code == 410
    assert client.get(story.get_absolute_url()).status_code == 410
    assert client.get("/news/never-was/").status_code == 404


def test_the_story_page_in_the_admin_lists_its_old_addresses_only_when_it_has_some(
    client, story, editor
):
    client.force_login(editor)
    url = reverse("admin:articles_article_change", args=[story.pk])
    assert "Old addresses" not in client.get(url).content.decode()
    moved(story, slug="renamed-in-the-admin")
    page = client.get(url).content.decode()
    assert "Old addresses" in page and "/news/seagulls-steal-chips/" in page


def test_an_editor_deletes_an_old_address_from_the_story_form_and_it_stops_redirecting(
    client, story, editor, writer
):
    from tests.articles.admin_forms import form_data

    old = story.get_absolute_url()
    moved(story, slug="renamed-in-the-admin")
    address = story.old_addresses.get()
    url = reverse("admin:articles_article_change", args=[story.pk])

    # A Reporter (who may not delete addresses) sends a forged deletion: nothing is deleted.
    story.created_by = writer
    story.status = Article.Status.DRAFT
    story.save()
    client.force_login(writer)
    data = form_data(client.get(url))
    assert "old_addresses-0-DELETE" not in data  # no control offered
    client.post(url, data | {"old_addresses-0-DELETE": "on", "_move": "save"})
    assert OldAddress.objects.filter(pk=address.pk).exists()

    client.force_login(editor)
    data = form_data(client.get(url))
    assert data["old_addresses-0-id"] == str(address.pk)
    response = client.post(url, data | {"old_addresses-0-DELETE": "on", "_move": "save"})

    assert response.status_code == 302
    assert not OldAddress.objects.filter(pk=address.pk).exists()
    assert client.get(old).status_code == 404
