"""One spelling per mailbox (`newsletters.addresses`): what is unquoted, lower-cased, encoded
and refused. The form, the rate limits and the storage all go through it."""

import pytest

from newsletters.addresses import InvalidAddress, address_key, normalize_email


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("reader@example.com", "reader@example.com"),
        ("  reader@example.com ", "reader@example.com"),
        ('"reader"@example.com', "reader@example.com"),
        ('"\\reader"@example.com', "reader@example.com"),
        ('"first.last"@example.com', "first.last@example.com"),
        ("reader@EXAMPLE.Com", "reader@example.com"),
        ("Reader@example.com", "Reader@example.com"),  # the local part's case is the reader's
        ("leser@bücher.example", "leser@xn--bcher-kva.example"),
        ("leser@BÜCHER.example", "leser@xn--bcher-kva.example"),
        # Quoting that is needed stays, written the one shortest way.
        ('"a..b"@example.com', '"a..b"@example.com'),
        ('"a.\\.b"@example.com', '"a..b"@example.com'),
        ('"a\\ b"@example.com', '"a b"@example.com'),
        ('"a\\"b"@example.com', '"a\\"b"@example.com'),
    ],
)
def test_each_spelling_of_a_mailbox_becomes_its_one_spelling(typed, stored):
    assert normalize_email(typed) == stored
    assert normalize_email(stored) == stored  # normalising twice changes nothing


@pytest.mark.parametrize(
    "address",
    [
        "x@[127.0.0.1]",
        "x@[IPv6:::1]",
        "x@127.0.0.01",
        '""@example.com',
        '"\x01x"@example.com',
        '"x\x7f"@example.com',
        "x@localhost",
        "x@example..com",
        "@example.com",
        "x@",
        '"' + "a" * 63 + '."@example.com',  # 66 characters quoted
        "x@" + "a" * 250 + ".com",
    ],
)
def test_addresses_no_newsletter_is_sent_to_are_refused(address):
    with pytest.raises(InvalidAddress):
        normalize_email(address)


def test_the_key_of_an_address_ignores_case_and_spelling():
    assert address_key('"Victim"@Example.COM') == address_key("victim@example.com")
    assert address_key("x@[127.0.0.1]") == "x@[127.0.0.1]"  # a stored row's own spelling


@pytest.mark.django_db
def test_stored_addresses_are_respelt_and_second_spellings_of_a_mailbox_stop_receiving():
    import importlib

    from django.apps import apps

    from newsletters.models import Subscription

    from .factories import NewsletterFactory, SubscriptionFactory

    migration = importlib.import_module(
        "newsletters.migrations.0005_signup_counts_and_one_spelling"
    )
    daily, sport = NewsletterFactory(slug="daily"), NewsletterFactory(slug="sport")
    rows = {
        "plain": SubscriptionFactory(email="victim@example.com", newsletter=daily, confirmed=True),
        "twin": SubscriptionFactory(email='"victim"@example.com', newsletter=daily, confirmed=True),
        "alone": SubscriptionFactory(
            email='"victim"@EXAMPLE.com', newsletter=sport, confirmed=True
        ),
        "idn": SubscriptionFactory(email="leser@Bücher.example", newsletter=daily),
        "literal": SubscriptionFactory(email="x@[127.0.0.1]", newsletter=daily, confirmed=True),
        "fine": SubscriptionFactory(email="Reader@example.com", newsletter=daily, confirmed=True),
    }
    migration.respell_addresses(apps, None)
    now = {name: Subscription.objects.get(pk=row.pk) for name, row in rows.items()}
    assert {name: (row.email, row.status) for name, row in now.items()} == {
        "plain": ("victim@example.com", "confirmed"),
        "twin": ('"victim"@example.com', "unsubscribed"),
        "alone": ("victim@example.com", "confirmed"),
        "idn": ("leser@xn--bcher-kva.example", "pending"),
        "literal": ("x@[127.0.0.1]", "unsubscribed"),
        "fine": ("Reader@example.com", "confirmed"),
    }
