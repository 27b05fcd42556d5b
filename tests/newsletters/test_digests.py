"""The daily digest (`newsletters.services.digests`, `manage.py make_digests`): an edition of
the day's most read stories, counted into the real Redis, once the newsletter's digest time
has passed; a draft for review, or sent unattended through a real SMTP server; once a day."""

from datetime import UTC, datetime, time, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError

from articles import reads
from newsletters.models import Edition, Newsletter, Suppression
from newsletters.services.digests import make_digest, make_due_digests
from tests.articles.factories import ArticleFactory

from .factories import NewsletterFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db
FIVE_PAST_FIVE = datetime(2026, 12, 7, 17, 5, tzinfo=UTC)  # London keeps UTC in December


@pytest.fixture
def today(time_machine, reads_redis):
    time_machine.move_to(FIVE_PAST_FIVE, tick=False)
    return FIVE_PAST_FIVE


def read(story, times):
    for _ in range(times):
        assert reads.record(story.pk, "direct")


def stories_of(edition):
    return [s.article.headline for s in edition.edition_stories.select_related("article")]


def test_a_digest_for_review_holds_the_days_most_read_topped_up_with_the_newest(today):
    daily = NewsletterFactory(name="Racket Daily", digest="review", digest_size=4)
    top = ArticleFactory(headline="Pier collapses", published_at=today - timedelta(hours=5))
    second = ArticleFactory(headline="Gull steals chips", published_at=today - timedelta(hours=6))
    third = ArticleFactory(headline="Council denies it", published_at=today - timedelta(hours=7))
    ArticleFactory(headline="Yesterday's news", published_at=today - timedelta(hours=30))
    ArticleFactory(headline="Fresh, unread", published_at=today - timedelta(hours=1))
    withdrawn = ArticleFactory(headline="Withdrawn story", published_at=today)
    held = ArticleFactory(headline="On legal hold", legal_hold=True, published_at=today)
    for story, times in [(top, 5), (second, 3), (third, 1), (withdrawn, 9), (held, 8)]:
        read(story, times)
    withdrawn.status = withdrawn.Status.WITHDRAWN
    withdrawn.save()

    outcome = make_digest(daily)

    edition = outcome.edition
    assert outcome.note == "made for review (4 stories)"
    assert stories_of(edition) == [
        "Pier collapses", "Gull steals chips", "Council denies it", "Fresh, unread"
    ]  # fmt: skip
    assert (edition.status, edition.digest_of) == (Edition.Status.DRAFT, today.date())
    assert edition.subject == "Most read today: Pier collapses" and edition.created_by is None
    assert edition.intro == "The stories readers read most today, 7 December."


def test_a_digest_is_made_once_a_day_and_not_before_its_time(today, time_machine):
    daily = NewsletterFactory(digest="review", digest_at=time(18, 0))
    ArticleFactory(published_at=today - timedelta(hours=1))
    assert make_digest(daily).note == "not due until 18:00"
    time_machine.move_to(today + timedelta(hours=1), tick=False)
    assert make_digest(daily).note == "made for review (1 story)"
    assert make_digest(daily).note == "made already today"
    assert Edition.objects.filter(newsletter=daily).count() == 1
    with pytest.raises(IntegrityError):  # two runs at once cannot both make it
        Edition.objects.create(newsletter=daily, subject="Again", digest_of=today.date())


def test_no_digest_without_stories_or_for_a_newsletter_without_one(today):
    NewsletterFactory(name="Sport Extra")  # no digest
    daily = NewsletterFactory(name="Daily", digest="review")
    ArticleFactory(published_at=today - timedelta(days=2))
    outcomes = make_due_digests()
    assert [(o.newsletter, o.note) for o in outcomes] == [
        (daily, "no stories out in the last 24 hours: none made")
    ]
    assert not Edition.objects.exists()


def test_an_unattended_digest_is_sent_through_real_smtp_and_not_to_suppressed_readers(
    today, smtp, django_capture_on_commit_callbacks
):
    daily = NewsletterFactory(name="Evening Racket", digest="unattended")
    story = ArticleFactory(headline="Seagull menace grows", published_at=today)
    read(story, 2)
    readers = SubscriptionFactory.create_batch(2, newsletter=daily, confirmed=True)
    bounced = SubscriptionFactory(email="gone@example.com", newsletter=daily, confirmed=True)
    Suppression.objects.create(email=bounced.email, reason=Suppression.Reason.HARD_BOUNCE)

    with django_capture_on_commit_callbacks(execute=True):
        outcome = make_digest(daily)

    assert outcome.note == "sending (1 story)"
    edition = Edition.objects.get(pk=outcome.edition.pk)
    assert edition.status == Edition.Status.SENT and edition.sent_count == 2
    arrived = sorted(rcpt for item in smtp.received for rcpt in item.rcpt_tos)
    assert arrived == sorted(r.email for r in readers)
    message = smtp.received[0].message
    assert message["Subject"] == "Most read today: Seagull menace grows"
    assert story.get_absolute_url() in message.get_body(("plain",)).get_content()


def test_an_unattended_digest_that_cannot_be_sent_is_left_for_an_editor(today, smtp):
    daily = NewsletterFactory(digest="unattended")
    story = ArticleFactory(headline="Pier collapses", published_at=today)
    read(story, 1)
    Newsletter.objects.filter(pk=daily.pk).update(name="Broken\nname")  # skipped validation
    daily.refresh_from_db()

    outcome = make_digest(daily)

    assert outcome.note.startswith("made, not sent, left for an editor: ")
    assert Edition.objects.get().status == Edition.Status.DRAFT and not smtp.received


def test_the_command_says_what_it_did_for_each_newsletter(today):
    NewsletterFactory(name="Daily", digest="review")
    NewsletterFactory(name="Night", digest="review", digest_at=time(23, 0))
    ArticleFactory(published_at=today - timedelta(hours=2))
    out = StringIO()
    call_command("make_digests", stdout=out)
    edition = Edition.objects.get()
    assert out.getvalue().splitlines() == [
        f"Daily: made for review (1 story) (edition {edition.pk})",
        "Night: not due until 23:00",
    ]
