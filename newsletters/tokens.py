"""Signed tokens for the links in newsletter emails, one salt per purpose, so a token made for
one purpose is refused by every other (an unsubscribe token never confirms anything).

A signed token is readable by anyone who sees the link (base64 JSON, not encrypted), and
links end up in proxies' and servers' logs, browser histories and forwarded emails; so no
token carries an address. Each names subscription ids, and, where it stands for an address,
a digest of the address keyed with the secret key (`address_digest`): the link stops working
if its subscription's address is changed, and the digest tells nobody the address.

- confirm: the subscriptions an address asked for, and the address's digest; expires after
  NEWSROOM_NEWSLETTER_CONFIRM_MAX_AGE (double opt-in: a request is confirmed soon or not at
  all).
- unsubscribe: one subscription; never expires, because RFC 8058 one-click unsubscribing must
  keep working from an old email. It only unsubscribes (the page after it offers to sign up
  again, by double opt-in) and mints no other token.
- preferences: one of the address's subscriptions and the address's digest; expires after
  NEWSROOM_NEWSLETTER_PREFERENCES_MAX_AGE, because whoever holds it sees what the address
  receives and can stop it. Adding a newsletter from it goes through confirmation.

Links made before tokens stopped carrying the address ({"e": address, "s": ids} to confirm,
the bare address for preferences) are still read until they expire by their age.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

from .addresses import address_key

CONFIRM_SALT = "newsletters.confirm"
UNSUBSCRIBE_SALT = "newsletters.unsubscribe"
PREFERENCES_SALT = "newsletters.preferences"
ADDRESS_SALT = "newsletters.address"


class InvalidToken(Exception):
    """The link was altered, cut short or made for something else."""


class ExpiredToken(InvalidToken):
    """The link was genuine but is too old."""


@dataclass(frozen=True)
class AddressLink:
    """What a confirm or preferences link stands for: subscription ids and the digest of their
    address, or (a link made before tokens stopped carrying it) the address itself."""

    subscription_ids: tuple[int, ...]
    digest: str
    legacy_address: str | None = None


def address_digest(email: str, *, secret: str | None = None) -> str:
    """A digest of the mailbox `email` names (however it is spelt), keyed with the secret key:
    equal for equal mailboxes, meaningless without the key."""
    return salted_hmac(ADDRESS_SALT, address_key(email), secret=secret).hexdigest()[:20]


def address_matches(email: str, digest: str) -> bool:
    """Whether `digest` (from a link) is `email`'s, under the secret key or one of
    SECRET_KEY_FALLBACKS, as the links' signatures are checked: rotating the key breaks
    no link that its signature still lets through."""
    secrets = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return any(
        constant_time_compare(address_digest(email, secret=secret), digest) for secret in secrets
    )


def _signer(salt: str) -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=salt)


def _read(salt: str, token: str, *, max_age: int | None):
    try:
        return _signer(salt).unsign_object(token, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise ExpiredToken(str(exc)) from exc
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise InvalidToken(str(exc)) from exc


def make_confirm_token(email: str, subscription_ids: list[int]) -> str:
    return _signer(CONFIRM_SALT).sign_object(
        {"s": sorted(subscription_ids), "a": address_digest(email)}
    )


def read_confirm_token(token: str) -> AddressLink:
    """The subscriptions a confirmation link stands for, or InvalidToken / ExpiredToken."""
    data = _read(CONFIRM_SALT, token, max_age=settings.NEWSROOM_NEWSLETTER_CONFIRM_MAX_AGE)
    try:
        ids = tuple(int(pk) for pk in data["s"])
        if "e" in data:  # made before tokens stopped carrying the address
            return AddressLink(ids, address_digest(str(data["e"])), str(data["e"]))
        return AddressLink(ids, str(data["a"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidToken("unexpected payload") from exc


def make_unsubscribe_token(subscription_id: int) -> str:
    return _signer(UNSUBSCRIBE_SALT).sign_object(subscription_id)


def read_unsubscribe_token(token: str) -> int:
    data = _read(UNSUBSCRIBE_SALT, token, max_age=None)
    if not isinstance(data, int):
        raise InvalidToken("unexpected payload")
    return data


def make_preferences_token(subscription_id: int, email: str) -> str:
    """A preferences link for `email`'s mailbox, made from one of its subscriptions."""
    return _signer(PREFERENCES_SALT).sign_object({"s": subscription_id, "a": address_digest(email)})


def read_preferences_token(token: str) -> AddressLink:
    """The subscription and address digest a preferences link stands for, or InvalidToken /
    ExpiredToken (after NEWSROOM_NEWSLETTER_PREFERENCES_MAX_AGE seconds)."""
    data = _read(PREFERENCES_SALT, token, max_age=settings.NEWSROOM_NEWSLETTER_PREFERENCES_MAX_AGE)
    if isinstance(data, str):  # made before tokens stopped carrying the address
        return AddressLink((), address_digest(data), data)
    try:
        return AddressLink((int(data["s"]),), str(data["a"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidToken("unexpected payload") from exc
