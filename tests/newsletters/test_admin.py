"""The newsroom's side: composing an edition from published stories, previews, a test to
oneself, sending now or later, progress, and the subscriber export, under model permissions."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from newsletters.models import Edition, Newsletter
from tests.accounts.factories import UserFactory
from tests.articles.factories import ArticleFactory

from .conftest import DUMMY
from .factories import EditionFactory, NewsletterFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def newsletter_editor():
    """What the "Newsletter editor" role is meant to hold: newsletters.* and reading stories."""
    user = UserFactory(is_staff=True, email="ed@racket.example")
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="newsletters")
        | Permission.objects.filter(
            content_type__app_label="articles", codename__in=["view_article", "view_section"]
        )
    )
    return user


@pytest.fixture
def ed_client(client, newsletter_editor):
    client.force_login(newsletter_editor)
    return client


def test_story_autocomplete_offers_published_stories_only(ed_client):
    ArticleFactory(headline="Llama escapes zoo, found in bank")
    ArticleFactory(headline="Llama draft not yet out", draft=True)
    ArticleFactory(headline="Llama story for tomorrow", scheduled=True)
    response = ed_client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "newsletters",
            "model_name": "editionstory",
            "field_name": "article",
            "term": "llama",
        },
    )
    assert response.status_code == 200
    found = [item["text"] for item in json.loads(response.content)["results"]]
    assert found == ["Llama escapes zoo, found in bank"]


def test_an_editor_composes_an_edition_with_ordered_stories_in_the_admin(ed_client):
    newsletter = NewsletterFactory()
    first, second = ArticleFactory(), ArticleFactory()
    data = {
        "newsletter": newsletter.pk,
        "subject": "Tuesday's racket",
        "preheader": "",
        "intro": "Hello.",
        "edition_stories-TOTAL_FORMS": "2",
        "edition_stories-INITIAL_FORMS": "0",
        "edition_stories-MIN_NUM_FORMS": "0",
        "edition_stories-MAX_NUM_FORMS": "1000",
        "edition_stories-0-article": second.pk,
        "edition_stories-0-position": "2",
        "edition_stories-1-article": first.pk,
        "edition_stories-1-position": "1",
    }
    response = ed_client.post(reverse("admin:newsletters_edition_add"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    edition = Edition.objects.get()
    ordered = list(edition.edition_stories.values_list("article_id", flat=True))
    assert ordered == [first.pk, second.pk]
    assert edition.status == Edition.Status.DRAFT


def test_a_draft_story_cannot_be_put_in_an_edition(ed_client):
    newsletter = NewsletterFactory()
    draft = ArticleFactory(draft=True)
    data = {
        "newsletter": newsletter.pk,
        "subject": "Sneaky",
        "edition_stories-TOTAL_FORMS": "1",
        "edition_stories-INITIAL_FORMS": "0",
        "edition_stories-MIN_NUM_FORMS": "0",
        "edition_stories-MAX_NUM_FORMS": "1000",
        "edition_stories-0-article": draft.pk,
        "edition_stories-0-position": "0",
    }
    response = ed_client.post(reverse("admin:newsletters_edition_add"), data)
    assert response.status_code == 200
    assert not Edition.objects.exists()


def test_previews_show_the_edition_as_html_and_as_plain_text(ed_client):
    edition = EditionFactory(subject="Preview me")
    story = edition.edition_stories.first().article
    html = ed_client.get(reverse("admin:newsletters_edition_preview_html", args=[edition.pk]))
    text = ed_client.get(reverse("admin:newsletters_edition_preview_text", args=[edition.pk]))
    assert html.status_code == text.status_code == 200
    assert f'href="https://racket.example{story.get_absolute_url()}"' in html.content.decode()
    assert text["Content-Type"].startswith("text/plain")
    body = text.content.decode()
    assert body.startswith("Subject: Preview me")
    assert f"https://racket.example{story.get_absolute_url()}" in body


def test_an_editor_sends_a_test_to_themselves(ed_client, mailoutbox):
    edition = EditionFactory(subject="Proof copy")
    SubscriptionFactory(newsletter=edition.newsletter, confirmed=True)
    url = reverse("admin:newsletters_edition_send", args=[edition.pk])
    response = ed_client.post(url, {"action": "test"})
    assert response.status_code == 302
    [message] = mailoutbox
    assert message.to == ["ed@racket.example"] and message.subject == "[TEST] Proof copy"
    edition.refresh_from_db()
    assert edition.status == Edition.Status.DRAFT


def test_send_now_sends_and_the_progress_shows_in_the_admin(
    ed_client, mailoutbox, django_capture_on_commit_callbacks
):
    edition = EditionFactory()
    SubscriptionFactory.create_batch(3, newsletter=edition.newsletter, confirmed=True)
    send_page = reverse("admin:newsletters_edition_send", args=[edition.pk])
    assert "3 confirmed subscribers" in ed_client.get(send_page).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        ed_client.post(send_page, {"action": "send"})
    edition.refresh_from_db()
    assert edition.status == Edition.Status.SENT and len(mailoutbox) == 3
    change = ed_client.get(reverse("admin:newsletters_edition_change", args=[edition.pk]))
    page = change.content.decode()
    assert (
        "<strong>3</strong> sent, <strong>0</strong> failed, <strong>0</strong> remaining" in page
    )
    changelist = ed_client.get(reverse("admin:newsletters_edition_changelist")).content.decode()
    assert "Sent" in changelist


def test_an_editor_schedules_an_edition_for_later(ed_client, settings):
    settings.TASKS = DUMMY
    edition = EditionFactory()
    when = timezone.localtime() + timedelta(days=1)
    url = reverse("admin:newsletters_edition_send", args=[edition.pk])
    ed_client.post(url, {"action": "schedule", "scheduled_at": when.strftime("%Y-%m-%dT%H:%M")})
    edition.refresh_from_db()
    assert edition.status == Edition.Status.SCHEDULED
    assert edition.scheduled_at == when.replace(second=0, microsecond=0)
    ed_client.post(url, {"action": "unschedule"})
    edition.refresh_from_db()
    assert edition.status == Edition.Status.DRAFT


def test_staff_without_the_send_permission_cannot_send(client):
    reporter = UserFactory(is_staff=True)
    reporter.user_permissions.set(Permission.objects.filter(codename="view_edition"))
    client.force_login(reporter)
    edition = EditionFactory()
    url = reverse("admin:newsletters_edition_send", args=[edition.pk])
    assert client.post(url, {"action": "send"}).status_code == 403
    edition.refresh_from_db()
    assert edition.status == Edition.Status.DRAFT


def test_the_subscriber_export_has_confirmed_addresses_only(ed_client):
    newsletter = NewsletterFactory(slug="export")
    SubscriptionFactory(email="yes@example.com", newsletter=newsletter, confirmed=True)
    SubscriptionFactory(email="=cmd@example.com", newsletter=newsletter, confirmed=True)
    SubscriptionFactory(email="left@example.com", newsletter=newsletter, unsubscribed=True)
    SubscriptionFactory(email="maybe@example.com", newsletter=newsletter)
    response = ed_client.post(
        reverse("admin:newsletters_newsletter_changelist"),
        {"action": "export_subscribers", "_selected_action": [newsletter.pk]},
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["email", "newsletter", "consent_at", "confirmed_at", "source_url"]
    assert sorted(row[0] for row in rows[1:]) == ["'=cmd@example.com", "yes@example.com"]


def test_the_export_is_not_offered_without_its_permission(client):
    user = UserFactory(is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename="view_newsletter"))
    client.force_login(user)
    page = client.get(reverse("admin:newsletters_newsletter_changelist")).content.decode()
    assert "export_subscribers" not in page


def edition_form(newsletter, **fields):
    return {
        "newsletter": newsletter.pk,
        "subject": "Tuesday's racket",
        "preheader": "",
        "intro": "Hello.",
        "edition_stories-TOTAL_FORMS": "0",
        "edition_stories-INITIAL_FORMS": "0",
        "edition_stories-MIN_NUM_FORMS": "0",
        "edition_stories-MAX_NUM_FORMS": "1000",
        **fields,
    }


def test_a_line_break_in_a_subject_or_a_newsletter_name_is_refused_in_the_admin(ed_client):
    newsletter = NewsletterFactory()
    subject = "Tuesday\r\nBcc: everyone@example.com"
    response = ed_client.post(
        reverse("admin:newsletters_edition_add"), edition_form(newsletter, subject=subject)
    )
    assert response.status_code == 200 and not Edition.objects.exists()
    assert "Write this on one line" in response.content.decode()

    data = {"name": "Morning\nRacket", "slug": "morning", "description": "", "cadence": ""}
    response = ed_client.post(reverse("admin:newsletters_newsletter_add"), data)
    assert response.status_code == 200
    assert not Newsletter.objects.filter(slug="morning").exists()


def test_a_test_send_of_an_edition_that_cannot_be_mailed_says_why(ed_client, mailoutbox):
    edition = EditionFactory()
    # Stored before subjects were checked (or by something that skips validation).
    Edition.objects.filter(pk=edition.pk).update(subject="Proof\nBcc: everyone@example.com")
    url = reverse("admin:newsletters_edition_send", args=[edition.pk])
    response = ed_client.post(url, {"action": "test"}, follow=True)
    assert response.status_code == 200
    assert "The subject has a line break" in response.content.decode()
    assert mailoutbox == []


def test_send_now_refuses_an_edition_that_cannot_be_mailed_and_leaves_it_a_draft(
    ed_client, mailoutbox, django_capture_on_commit_callbacks
):
    edition = EditionFactory()
    SubscriptionFactory(newsletter=edition.newsletter, confirmed=True)
    Newsletter.objects.filter(pk=edition.newsletter_id).update(name="Morning\nRacket")
    url = reverse("admin:newsletters_edition_send", args=[edition.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = ed_client.post(url, {"action": "send"}, follow=True)
    assert "name has a line break" in response.content.decode()
    edition.refresh_from_db()
    assert edition.status == Edition.Status.DRAFT and mailoutbox == []


def test_a_failed_edition_shows_why_in_the_admin_and_may_be_sent_again(ed_client):
    edition = EditionFactory()
    reason = "The newsletter’s name has a line break or a control character in it."
    Edition.objects.filter(pk=edition.pk).update(
        status=Edition.Status.FAILED, failure_reason=reason
    )
    change = ed_client.get(reverse("admin:newsletters_edition_change", args=[edition.pk]))
    assert reason in change.content.decode()
    send = ed_client.get(reverse("admin:newsletters_edition_send", args=[edition.pk]))
    page = send.content.decode()
    assert reason in page and 'value="send"' in page
    listing = ed_client.get(reverse("admin:newsletters_edition_changelist")).content.decode()
    assert "Failed" in listing
