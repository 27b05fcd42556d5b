"""Embargoes and "unpublish at": a source's embargo holds a story back from every place a reader
or a robot meets it until its time, whoever tries to publish it sooner; a time-limited story
leaves every place by itself at its time and its address then answers 410."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from articles.models import Article
from articles.services import workflow
from articles.surrogates import story as story_key
from articles.surrogates import upcoming_changes
from newsletters.models import published_articles
from tests.articles.admin_forms import article_post_data
from tests.articles.factories import ArticleFactory
from tests.articles.test_workflow import everywhere, nowhere, where_readers_find

pytestmark = pytest.mark.django_db

Status = Article.Status


@pytest.fixture
def now(time_machine):
    moment = timezone.now().replace(microsecond=0)
    time_machine.move_to(moment, tick=False)
    return moment


@pytest.fixture
def settled(django_capture_on_commit_callbacks):
    def run(change, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return change(*args, **kwargs)

    return run


def searched(client, words: str) -> str:
    return client.get(reverse("articles:search"), {"q": words}).content.decode()


def test_publish_now_on_an_embargoed_story_puts_it_out_when_the_embargo_lifts_and_not_before(
    client, editor, settled, now, time_machine
):
    lifts = now + timedelta(hours=3)
    article = ArticleFactory(
        in_review=True, headline="Royal baby name revealed", embargo_until=lifts
    )

    settled(workflow.publish_article, article, by=editor)

    article.refresh_from_db()
    assert (article.status, article.published_at) == (Status.PUBLISHED, lifts)
    assert article.is_embargoed and article.is_scheduled
    assert nowhere(where_readers_find(client, article))
    assert "Royal baby name revealed" not in searched(client, "royal baby")
    # No newsletter may carry it.
    assert not Article.objects.filter(published_articles()).filter(pk=article.pk)

    time_machine.move_to(lifts - timedelta(seconds=1), tick=False)
    assert nowhere(where_readers_find(client, article))
    time_machine.move_to(lifts + timedelta(seconds=1), tick=False)
    assert everywhere(where_readers_find(client, article))
    assert "Royal baby name revealed" in searched(client, "royal baby")
    assert Article.objects.filter(published_articles()).filter(pk=article.pk)


def test_a_time_before_the_embargo_is_refused_with_the_embargo_named(editor, now):
    lifts = now + timedelta(hours=3)
    article = ArticleFactory(in_review=True, embargo_until=lifts)

    with pytest.raises(ValidationError) as refused:
        workflow.publish_article(article, by=editor, at=now + timedelta(hours=1))

    assert "It is embargoed until" in str(refused.value.messages)
    article.refresh_from_db()
    assert (article.status, article.published_at) == (Status.REVIEW, None)
    # At the embargo's own time, or later, it may be scheduled.
    workflow.publish_article(article, by=editor, at=lifts + timedelta(minutes=5))
    assert Article.objects.get(pk=article.pk).published_at == lifts + timedelta(minutes=5)


def test_the_database_refuses_a_story_out_before_its_embargo_whoever_writes_it(now):
    article = ArticleFactory(in_review=True, embargo_until=now + timedelta(hours=3))

    with pytest.raises(IntegrityError), transaction.atomic():
        Article.objects.filter(pk=article.pk).update(status=Status.PUBLISHED, published_at=now)

    assert Article.objects.get(pk=article.pk).status == Status.REVIEW


def test_a_story_already_out_cannot_be_put_under_an_embargo(editor, now):
    article = ArticleFactory(headline="Out already")
    article.embargo_until = now + timedelta(hours=2)

    with pytest.raises(ValidationError) as refused:
        workflow.save_article(article, by=editor, expected_version=article.version)

    assert "already out" in str(refused.value.message_dict["embargo_until"])
    assert Article.objects.get(pk=article.pk).embargo_until is None


def test_the_admin_shows_the_embargo_plainly_and_publishing_waits_for_it(editor_client, now):
    lifts = now + timedelta(hours=3)
    article = ArticleFactory(in_review=True, headline="Budget leak held back", embargo_until=lifts)
    url = reverse("admin:articles_article_change", args=[article.pk])

    page = editor_client.get(url).content.decode()
    assert "<strong>Embargoed</strong> until" in page
    assert "Publish when the embargo lifts" in page
    home = editor_client.get(reverse("admin:index")).content.decode()
    under_embargo = home.split("Under embargo", 1)[1].split("</table>", 1)[0]
    assert "Budget leak held back" in under_embargo

    response = editor_client.post(url, article_post_data(article) | {"_move": "publish"})

    assert response.status_code == 302
    article.refresh_from_db()
    assert (article.status, article.published_at) == (Status.PUBLISHED, lifts)
    listing = editor_client.get(reverse("admin:articles_article_changelist")).content.decode()
    assert "Scheduled · embargoed" in listing


def test_an_admin_post_scheduling_before_the_embargo_shows_the_error_and_saves_nothing(
    editor_client, now
):
    article = ArticleFactory(in_review=True, embargo_until=now + timedelta(hours=3))
    url = reverse("admin:articles_article_change", args=[article.pk])
    data = article_post_data(
        article, status=Status.PUBLISHED, published_at=now + timedelta(hours=1)
    )

    response = editor_client.post(url, data)

    assert response.status_code == 200
    assert "A story cannot be published before its embargo." in response.content.decode()
    assert Article.objects.get(pk=article.pk).status == Status.REVIEW


def test_a_time_limited_story_leaves_every_listing_at_its_time_and_its_address_answers_410(
    client, editor, settled, now, time_machine
):
    ends = now + timedelta(hours=2)
    article = ArticleFactory(headline="Win a caravan holiday", tags=["competitions"])
    old = article.get_absolute_url()
    article.unpublish_at, article.slug = ends, "win-a-caravan-holiday-this-summer"
    settled(workflow.save_article, article, by=editor, expected_version=article.version)
    assert client.get(old).status_code == 301  # the old address kept

    assert everywhere(where_readers_find(client, article))
    assert "Win a caravan holiday" in searched(client, "caravan")
    # The cached pages showing it end at that moment, with nobody saving anything.
    assert any(at == ends and story_key(article.pk) in keys for at, keys in upcoming_changes(now))

    time_machine.move_to(ends + timedelta(seconds=1), tick=False)

    assert nowhere(where_readers_find(client, article))
    assert client.get(article.get_absolute_url()).status_code == 410
    assert client.get(old).status_code == 410
    assert "Win a caravan holiday" not in searched(client, "caravan")
    assert not Article.objects.filter(published_articles()).filter(pk=article.pk)
    tag_page = client.get(reverse("articles:tag", args=["competitions"])).content.decode()
    assert article.get_absolute_url() not in tag_page


@pytest.mark.parametrize(
    ("ends", "field_error"),
    [
        (timedelta(minutes=-5), "Give a time still to come"),
        (timedelta(hours=1), "It would leave the site before it appears"),
    ],
    ids=["in the past", "before it appears"],
)
def test_an_unpublish_time_that_cannot_work_is_refused_and_nothing_is_saved(
    editor, now, ends, field_error
):
    article = ArticleFactory(in_review=True, headline="Kept as it was")

    article.unpublish_at = now + ends
    article.headline = "Changed"
    with pytest.raises(ValidationError) as refused:
        workflow.save_article(
            article,
            by=editor,
            expected_version=article.version,
            to=Status.PUBLISHED,
            at=now + timedelta(hours=2),
        )

    assert field_error in str(refused.value.message_dict["unpublish_at"])
    stored = Article.objects.get(pk=article.pk)
    assert (stored.headline, stored.unpublish_at, stored.status) == (
        "Kept as it was",
        None,
        Status.REVIEW,
    )


def test_a_reporter_may_not_set_when_a_story_leaves_the_site(writer, now):
    article = ArticleFactory(draft=True, created_by=writer)
    article.unpublish_at = now + timedelta(days=3)

    with pytest.raises(PermissionDenied, match="Only editors set when a story leaves the site"):
        workflow.save_article(article, by=writer, expected_version=article.version)

    assert Article.objects.get(pk=article.pk).unpublish_at is None


def test_the_admin_shows_when_a_story_leaves_and_that_it_has_ended(
    editor_client, now, time_machine
):
    article = ArticleFactory(headline="Flash sale ends", unpublish_at=now + timedelta(minutes=10))
    url = reverse("admin:articles_article_change", args=[article.pk])
    assert "Leaves the site by itself at" in editor_client.get(url).content.decode()
    home = editor_client.get(reverse("admin:index")).content.decode()
    assert "Flash sale ends" in home.split("Leaving the site", 1)[1].split("</table>", 1)[0]

    time_machine.move_to(now + timedelta(minutes=11), tick=False)  # within the session's idle time

    assert "<strong>Ended</strong> at" in editor_client.get(url).content.decode()
    listing = editor_client.get(reverse("admin:articles_article_changelist")).content.decode()
    assert "Ended" in listing
