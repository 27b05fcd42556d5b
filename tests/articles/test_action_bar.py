"""The story page's action bar: the moves each role may make from where the story is, by their
newsroom names, each checked again on the server; and the checklist before publishing."""

from datetime import timedelta

import lxml.html
import pytest
from django.urls import reverse
from django.utils import timezone

from articles.models import Article, Transition
from tests.articles.admin_forms import article_post_data
from tests.articles.factories import ArticleFactory

pytestmark = pytest.mark.django_db
Status = Article.Status


def buttons(client, article) -> list[str]:
    page = lxml.html.fromstring(client.get(change_url(article)).content.decode())
    bar = page.xpath("//div[@data-desk-bar]")[0]
    found = [b.text_content().strip() for b in bar.xpath(".//button[@name='_move']")]
    return found + [a.text_content().strip() for a in bar.xpath(".//a[text()='Withdraw…']")]


def change_url(article) -> str:
    return reverse("admin:articles_article_change", args=[article.pk])


def move(client, article, value, **changes):
    data = article_post_data(article, **changes) | {"_move": value, "_continue": "1"}
    return client.post(change_url(article), data)


def test_each_role_sees_the_moves_it_may_make_by_their_names(client, writer, editor):
    draft = ArticleFactory(draft=True, created_by=writer)
    client.force_login(writer)
    assert buttons(client, draft) == ["Save draft", "Submit for review"]
    client.force_login(editor)
    assert buttons(client, draft) == ["Save draft", "Submit for review", "Publish now", "Schedule"]
    waiting = ArticleFactory(in_review=True, created_by=writer)
    assert buttons(client, waiting) == ["Save", "Return to reporter", "Publish now", "Schedule"]
    out = ArticleFactory()
    assert buttons(client, out) == ["Update", "Unpublish", "Withdraw…"]
    later = ArticleFactory(scheduled=True)
    assert buttons(client, later) == [
        "Update",
        "Publish now",
        "Reschedule",
        "Unpublish",
        "Withdraw…",
    ]


def test_a_reporters_forged_publish_from_the_bar_is_refused(client, writer):
    draft = ArticleFactory(draft=True, created_by=writer)
    client.force_login(writer)
    response = move(client, draft, "publish")
    assert response.status_code == 200  # the form again, with the refusal
    assert Article.objects.get(pk=draft.pk).status == Status.DRAFT
    assert move(client, draft, "review").status_code == 302
    assert Article.objects.get(pk=draft.pk).status == Status.REVIEW


def test_an_editor_returns_a_story_with_a_note_then_publishes_it_now(client, writer, editor):
    story = ArticleFactory(in_review=True, created_by=writer)
    client.force_login(editor)
    response = move(client, story, "return", move_note="Check the quote with the council")
    assert response.status_code == 302 and response["Location"] == change_url(story)
    assert Article.objects.get(pk=story.pk).status == Status.DRAFT
    returned = Transition.objects.get(article=story, to_status=Status.DRAFT)
    assert returned.note == "Check the quote with the council" and returned.by == editor

    story.refresh_from_db()
    later = timezone.now() + timedelta(days=3)
    assert move(client, story, "publish", published_at=later).status_code == 302
    story.refresh_from_db()
    assert story.is_visible and timezone.now() - story.published_at < timedelta(minutes=1)


def test_schedule_needs_a_time_to_come(client, editor):
    story = ArticleFactory(in_review=True)
    client.force_login(editor)
    response = move(client, story, "schedule", published_at=None)
    assert response.status_code == 200 and "in the future" in response.content.decode()
    story.refresh_from_db()
    later = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    assert move(client, story, "schedule", published_at=later).status_code == 302
    story.refresh_from_db()
    assert story.is_scheduled and story.published_at == later


def test_the_checklist_shows_what_blocks_and_the_server_refuses_it_too(client, editor):
    story = ArticleFactory(
        in_review=True, with_hero=True, hero_image__alt_text="", standfirst="", headline="x" * 120
    )
    client.force_login(editor)
    page = lxml.html.fromstring(client.get(change_url(story)).content.decode())
    blocking = page.xpath('//li[contains(@class, "desk-checklist__item--block")]')
    listed = " ".join(li.text_content() for li in page.xpath('//ul[@class="desk-checklist"]/li'))
    assert "Headline: 120 of 110 characters" in listed
    named = [" ".join(li.text_content().split()).split(" (")[0] for li in blocking]
    assert named == ["✗ Picture described"]
    assert "blocks publishing" in listed
    assert "Standfirst" in listed
    assert page.xpath('//details[contains(@class, "desk-bar__checklist")]/@open')  # opened
    assert move(client, story, "publish").status_code == 200
    assert Article.objects.get(pk=story.pk).status == Status.REVIEW
