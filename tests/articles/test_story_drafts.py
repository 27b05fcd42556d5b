"""Unsaved text kept on the server: only its owner reads and writes it, only for a story they
may edit, bounded in size, no history noise, and gone once the story is saved."""

import json

import pytest
from django.urls import reverse

from articles.models import Article, StoryDraft
from tests.accounts.factories import UserFactory
from tests.articles.admin_forms import article_post_data
from tests.articles.factories import ArticleFactory

pytestmark = pytest.mark.django_db


def url(story) -> str:
    return reverse("admin:articles_article_draft", args=[str(story)])


def send(client, story, **values):
    return client.post(url(story), json.dumps({"values": values}), content_type="application/json")


def test_what_is_typed_is_kept_for_its_owner_and_read_back_on_another_device(client, writer):
    story = ArticleFactory(draft=True, created_by=writer)
    client.force_login(writer)
    history = story.history.count()
    assert client.get(url(story.pk)).status_code == 204  # none yet
    assert send(client, story.pk, headline="Gull steals chain", body="<p>Half typed</p>",
                version="99").status_code == 204  # fmt: skip
    other_device = client.__class__()
    other_device.force_login(writer)
    found = other_device.get(url(story.pk)).json()
    assert found["values"] == {"headline": "Gull steals chain", "body": "<p>Half typed</p>"}
    assert found["time"] > 0
    assert story.history.count() == history  # no history noise
    assert Article.objects.get(pk=story.pk).headline == story.headline  # the story is untouched


def test_nobody_else_reads_or_writes_it(client, writer):
    story = ArticleFactory(draft=True, created_by=writer)
    client.force_login(writer)
    send(client, story.pk, headline="Mine")
    other = UserFactory(username="other", reporter=True)
    client.force_login(other)
    assert client.get(url(story.pk)).status_code == 403  # not a story they may edit
    assert send(client, story.pk, headline="Theirs").status_code == 403
    assert StoryDraft.objects.get().values == {"headline": "Mine"}
    assert client.get(url("new")).status_code == 204  # their own "new" draft: none
    assert client.get(url("x1")).status_code == 404


def test_bad_input_is_refused_with_a_reason(client, writer):
    client.force_login(writer)
    bad = client.post(url("new"), "{", content_type="application/json")
    assert bad.status_code == 400 and b"JSON" in bad.content
    wrong = client.post(
        url("new"), json.dumps({"values": {"headline": 3}}), content_type="application/json"
    )
    assert wrong.status_code == 400
    assert not StoryDraft.objects.exists()


def test_saving_the_story_forgets_the_unsaved_text(client, editor):
    story = ArticleFactory(draft=True, created_by=editor)
    client.force_login(editor)
    send(client, story.pk, headline="Half typed")
    send(client, "new", headline="Another idea")
    response = client.post(
        reverse("admin:articles_article_change", args=[story.pk]), article_post_data(story)
    )
    assert response.status_code == 302
    assert list(StoryDraft.objects.values_list("story", flat=True)) == ["new"]
