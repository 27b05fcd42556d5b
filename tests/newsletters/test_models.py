"""What the newsletter models refuse to store: text that cannot go into an email header, and
control characters from any entry point (admin, API, shell)."""

import pytest
from django.core.exceptions import ValidationError

from newsletters.models import Edition, Newsletter

from .factories import NewsletterFactory

pytestmark = pytest.mark.django_db

BREAKS = ["Tuesday\nBcc: everyone@example.com", "Tuesday\r\n", "Tues\rday", "Tues\u2028day"]


@pytest.mark.parametrize("value", [*BREAKS, "Tues\x07day", "Tues\x1b[31mday"])
@pytest.mark.parametrize("field", ["subject", "preheader"])
def test_an_editions_one_line_fields_refuse_line_breaks_and_control_characters(field, value):
    edition = Edition(newsletter=NewsletterFactory(), **{"subject": "Fine", field: value})
    with pytest.raises(ValidationError) as refused:
        edition.full_clean()
    assert list(refused.value.message_dict) == [field]
    assert "one line" in refused.value.message_dict[field][0]


@pytest.mark.parametrize("value", [*BREAKS, "Morning\x00Racket"])
@pytest.mark.parametrize("field", ["name", "cadence"])
def test_a_newsletters_one_line_fields_refuse_line_breaks_and_control_characters(field, value):
    newsletter = Newsletter(slug="morning", **{"name": "Morning Racket", field: value})
    with pytest.raises(ValidationError) as refused:
        newsletter.full_clean()
    assert list(refused.value.message_dict) == [field]


def test_paragraphs_in_an_intro_and_a_description_are_fine():
    newsletter = Newsletter(name="Morning Racket", slug="morning", description="One.\n\nTwo.")
    newsletter.full_clean()
    Edition(newsletter=NewsletterFactory(), subject="Fine", intro="Hello.\n\nBye.").full_clean()


def test_control_characters_never_reach_the_database_whatever_saves_the_row():
    # The shell, an API, a service: anything that calls save() skips the forms.
    newsletter = Newsletter.objects.create(
        name="Morning\x07 Racket",
        slug="morning",
        description="Goals\x00, gossip.\x0bAnd more.",
        cadence="Mon\x1bdays",
    )
    edition = Edition.objects.create(
        newsletter=newsletter,
        subject="Hello\r\nBcc: everyone@example.com",
        preheader="Pre\x7fheader",
        intro="One.\x0c\nTwo\x00.",
    )
    newsletter.refresh_from_db()
    edition.refresh_from_db()
    assert (newsletter.name, newsletter.description, newsletter.cadence) == (
        "Morning Racket",
        "Goals, gossip.\nAnd more.",
        "Mondays",
    )
    assert (edition.subject, edition.preheader, edition.intro) == (
        "Hello Bcc: everyone@example.com",
        "Preheader",
        "One.\n\nTwo.",
    )


def test_a_subscriptions_page_path_loses_its_control_characters_too():
    from .factories import SubscriptionFactory

    subscription = SubscriptionFactory(source_url="/news/\x1b[2Jstory/")
    subscription.refresh_from_db()
    assert subscription.source_url == "/news/[2Jstory/"
