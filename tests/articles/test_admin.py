"""The admin works for articles, sections and authors."""

import lxml.html
import pytest
from django.urls import reverse

from tests.accounts.factories import AuthorFactory, UserFactory
from tests.articles.factories import ArticleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor_client(client):
    client.force_login(UserFactory(username="boss", is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize("model", ["articles_article", "articles_section", "accounts_author"])
def test_list_and_add_pages_load(editor_client, model):
    ArticleFactory(authors=[AuthorFactory()], tags=["x"])
    assert editor_client.get(reverse(f"admin:{model}_changelist")).status_code == 200
    assert editor_client.get(reverse(f"admin:{model}_add")).status_code == 200


def test_article_list_searches_and_filters(editor_client):
    ArticleFactory(headline="Seagulls steal chips")
    ArticleFactory(headline="Council denies it", draft=True)
    url = reverse("admin:articles_article_changelist")
    assert "Seagulls steal chips" in editor_client.get(url, {"q": "seagull"}).content.decode()
    drafts = editor_client.get(url, {"status__exact": "draft"}).content.decode()
    assert "Council denies it" in drafts and "Seagulls steal chips" not in drafts


def test_the_story_list_finds_stories_by_author_and_tag_once_each(editor_client):
    maggie, tobias = AuthorFactory(name="Maggie Thornbury"), AuthorFactory(name="Tobias Fenwick")
    ArticleFactory(headline="Seagulls steal chips", authors=[maggie, tobias], tags=["gulls"])
    ArticleFactory(headline="Pier closes", authors=[tobias], tags=["seaside", "gulls-fans"])
    url = reverse("admin:articles_article_changelist")

    def found(term) -> list[str]:
        page = lxml.html.fromstring(editor_client.get(url, {"q": term}).content)
        return page.xpath('//table[@id="result_list"]//th[@class="field-headline"]/a/text()')

    assert found("thornbury") == ["Seagulls steal chips"]
    assert sorted(found("fenwick")) == ["Pier closes", "Seagulls steal chips"]  # no duplicates
    assert sorted(found("gulls")) == ["Pier closes", "Seagulls steal chips"]
    assert found("seaside") == ["Pier closes"]


def test_author_autocomplete_answers_for_the_article_form(editor_client):
    AuthorFactory(name="Maggie Thornbury")
    response = editor_client.get(
        reverse("admin:autocomplete"),
        {"term": "magg", "app_label": "articles", "model_name": "article", "field_name": "authors"},
    )
    assert [r["text"] for r in response.json()["results"]] == ["Maggie Thornbury"]


def test_change_page_shows_the_imported_article(editor_client):
    article = ArticleFactory(headline="Edit me")
    url = reverse("admin:articles_article_change", args=[article.pk])
    assert "Edit me" in editor_client.get(url).content.decode()
