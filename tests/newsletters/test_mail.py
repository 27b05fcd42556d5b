"""`newsletters.mail`, the one shortcut in sending: a copy's prebuilt bytes must be what
Django's own SMTP backend would have sent for the same message, through a real SMTP server."""

import email
import email.policy
import smtplib
from email.utils import formatdate

import pytest
from django.core import mail as django_mail
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import sanitize_address
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from newsletters import mail
from newsletters.mail import PLAIN_ADDRESS, PLAIN_VALUE, CopyTemplate, EditionCopy
from newsletters.services.emails import PreparedEdition, build_confirmation_email
from tests.articles.factories import ArticleFactory

from .factories import EditionFactory, NewsletterFactory, SubscriptionFactory

DJANGO_SMTP = "django.core.mail.backends.smtp.EmailBackend"
TO, TOKEN = "to@placeholder.invalid", "__TOKEN__"
PROBE = {TO: "reader@example.com", TOKEN: "abc:def"}


@pytest.fixture
def prepared(db):
    newsletter = NewsletterFactory(name="Morning Racket", slug="morning")
    stories = [
        ArticleFactory(headline="Café owner denies “llama” rumours", standfirst="Über-denial."),
        ArticleFactory(headline="Pier collapses into the sea, again"),
    ]
    edition = EditionFactory(newsletter=newsletter, subject="Llamas — and piers", stories=stories)
    return PreparedEdition(edition)


def sent_both_ways(message, smtp):
    """What the server received for `message` from Django's SMTP backend, then from ours."""
    with django_mail.get_connection(DJANGO_SMTP) as connection:
        connection.send_messages([message])
    with mail.get_connection() as connection:
        connection.send_messages([message])
    django, ours = smtp.received
    return django, ours


def forbid_building(monkeypatch):
    """Make building a MIME message fail, to show the adapter sent prebuilt bytes."""

    def build(self):
        raise AssertionError("the copy's MIME form was built")

    monkeypatch.setattr(EditionCopy, "message", build)


def test_a_copy_arrives_byte_for_byte_as_django_would_have_sent_it(prepared, smtp, monkeypatch):
    copy = prepared.message_for(
        email_address="reader@example.com", subscription_id=7, delivery_id=3
    )
    assert copy.wire is not None
    with django_mail.get_connection(DJANGO_SMTP) as connection:
        connection.send_messages([copy])
    forbid_building(monkeypatch)
    with mail.get_connection() as connection:
        assert isinstance(connection, mail.EmailBackend)
        assert connection.send_messages([copy]) == 1
    django, ours = smtp.received

    assert (ours.mail_from, ours.rcpt_tos) == (django.mail_from, django.rcpt_tos)
    assert (ours.mail_from, ours.rcpt_tos) == ("newsletters@racket.example", ["reader@example.com"])
    assert mail.without_boundaries(ours.data) == mail.without_boundaries(django.data)

    # And what arrived is the reader's copy: headers, both parts, their own links.
    message = ours.message
    assert message["To"] == "reader@example.com"
    assert message["Subject"] == "Llamas — and piers"
    assert message["Message-ID"] == f"<edition-{prepared.edition.pk}.delivery-3@racket.example>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = [part.strip(" <>") for part in message["List-Unsubscribe"].split(",")]
    assert https.startswith("https://racket.example/newsletters/unsubscribe/")
    assert mailto.startswith("mailto:unsubscribe@racket.example?subject=unsubscribe%20")
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert https in text and https in html
    assert "Café owner denies “llama” rumours" in html
    assert b"placeholder" not in ours.data and b"__NEWSROOM" not in ours.data


@pytest.mark.parametrize(
    "address", ["jörg@example.com", "reader@bücher.example", "a..b@example.com"]
)
def test_an_address_the_template_cannot_vouch_for_is_sent_as_django_builds_it(
    prepared, smtp, address
):
    copy = prepared.message_for(email_address=address, subscription_id=7, delivery_id=3)
    assert copy.wire is None
    django, ours = sent_both_ways(copy, smtp)
    assert (ours.mail_from, ours.rcpt_tos) == (django.mail_from, django.rcpt_tos)
    assert mail.without_boundaries(ours.data) == mail.without_boundaries(django.data)


def test_other_messages_go_through_djangos_smtp_backend_unchanged(db, smtp):
    subscription = SubscriptionFactory(email="new@example.com")
    message = build_confirmation_email(subscription.email, [subscription.newsletter_id])
    message.extra_headers["Date"] = formatdate()  # one Date for both sends
    message.extra_headers["Message-ID"] = "<confirm@racket.example>"
    django, ours = sent_both_ways(message, smtp)
    assert mail.without_boundaries(ours.data) == mail.without_boundaries(django.data)


def test_errors_from_the_server_are_raised_as_from_djangos_backend(prepared, smtp):
    smtp.refuse = {"gone@example.com": ["550 5.1.1 No such user here"]}
    copy = prepared.message_for(email_address="gone@example.com", subscription_id=7)
    with mail.get_connection() as connection, pytest.raises(smtplib.SMTPRecipientsRefused):
        connection.send_messages([copy])
    with mail.get_connection(fail_silently=True) as connection:
        assert connection.send_messages([copy]) == 0


def test_the_configured_backend_is_used_unless_it_is_djangos_smtp_backend(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert type(mail.get_connection()) is django_mail.backends.locmem.EmailBackend
    settings.EMAIL_BACKEND = DJANGO_SMTP
    assert type(mail.get_connection()) is mail.EmailBackend
    settings.EMAIL_BACKEND = f"{__name__}.CustomSMTP"
    assert type(mail.get_connection()) is CustomSMTP


class CustomSMTP(django_mail.backends.smtp.EmailBackend):
    """A project's own subclass of the SMTP backend: left as configured."""


# --- the template on its own ------------------------------------------------------------------


def prototype(*, text="Hello __TOKEN__.\n", html="<p>Hello <a href='/u/__TOKEN__/'>x</a></p>"):
    message = EmailMultiAlternatives(
        subject="Grüße aus der Redaktion",
        body=text,
        from_email="The Daily Racket <newsletters@racket.example>",
        to=[TO],
        reply_to=["letters@racket.example"],
        headers={
            "Date": formatdate(),
            "Message-ID": "<__TOKEN__@racket.example>",
            "List-Unsubscribe": "<https://racket.example/u/__TOKEN__/>, <mailto:u@racket.example>",
        },
    )
    message.attach_alternative(html, "text/html")
    return message


def django_bytes(message) -> bytes:
    return mail.without_boundaries(message.message().as_bytes(linesep="\r\n"))


ADDRESSES = st.from_regex(PLAIN_ADDRESS, fullmatch=True).filter(lambda a: len(a) <= 254)
VALUES = st.from_regex(PLAIN_VALUE, fullmatch=True)


@hypothesis_settings(max_examples=150, deadline=None)
@given(address=ADDRESSES, token=VALUES)
def test_any_address_and_value_the_template_accepts_come_out_as_django_writes_them(address, token):
    template = CopyTemplate(prototype(), probe=PROBE)
    copy = template.copy({TO: address, TOKEN: token})
    assert copy.wire is not None
    assert copy.wire.recipients == [sanitize_address(address, "utf-8")]
    assert mail.without_boundaries(copy.wire.data) == django_bytes(copy)


@pytest.mark.parametrize(
    "text",
    [
        "x" * 990 + " __TOKEN__\n",  # past 998 bytes: Django sends the part quoted-printable
        "x" * 800 + " __TOKEN__\n",  # a long value would take it past 998 bytes
    ],
    ids=["quoted-printable", "near-the-limit"],
)
def test_a_body_that_is_or_could_become_quoted_printable_leaves_the_template_unused(text):
    template = CopyTemplate(prototype(text=text), probe=PROBE)
    assert not template.usable
    copy = template.copy({TO: "reader@example.com", TOKEN: "t" * 200})
    assert copy.wire is None
    parsed = email.message_from_bytes(copy.message().as_bytes(), policy=email.policy.default)
    assert "t" * 200 in parsed.get_body(("plain",)).get_content()


def test_a_value_with_whitespace_or_beyond_ascii_is_left_to_django():
    template = CopyTemplate(prototype(), probe=PROBE)
    assert template.usable
    for token in ("two words", "tab\there", "ünïcode", "x" * 255):
        copy = template.copy({TO: "reader@example.com", TOKEN: token})
        assert copy.wire is None
        assert token in copy.body and token in copy.extra_headers["List-Unsubscribe"]


def test_a_long_value_moves_the_header_fold_as_django_would():
    template = CopyTemplate(prototype(), probe=PROBE)
    for token in ("0", "t" * 60, "t" * 254):
        copy = template.copy({TO: "reader@example.com", TOKEN: token})
        assert mail.without_boundaries(copy.wire.data) == django_bytes(copy)


def test_a_template_needs_its_own_date_header():
    message = prototype()
    del message.extra_headers["Date"]
    with pytest.raises(ValueError, match="Date"):
        CopyTemplate(message, probe=PROBE)
