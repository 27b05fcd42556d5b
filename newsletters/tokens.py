"""Signed tokens for the links in newsletter emails, one salt per purpose, so a token made for
one purpose is refused by every other (an unsubscribe token never confirms anything).

- confirm: an address and the subscriptions it asked for; expires (double opt-in).
- unsubscribe: one subscription; never expires, because RFC 8058 one-click unsubscribing must
  keep working from an old email.
- preferences: an address; expires, because it can also add newsletters.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing

CONFIRM_SALT = "newsletters.confirm"
UNSUBSCRIBE_SALT = "newsletters.unsubscribe"
PREFERENCES_SALT = "newsletters.preferences"


class InvalidToken(Exception):
    """The link was altered, cut short or made for something else."""


class ExpiredToken(InvalidToken):
    """The link was genuine but is too old."""


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
    return _signer(CONFIRM_SALT).sign_object({"e": email.lower(), "s": sorted(subscription_ids)})


def read_confirm_token(token: str) -> tuple[str, list[int]]:
    """The address and subscription ids a confirmation link stands for, or InvalidToken /
    ExpiredToken (after NEWSROOM_NEWSLETTER_CONFIRM_MAX_AGE seconds)."""
    data = _read(CONFIRM_SALT, token, max_age=settings.NEWSROOM_NEWSLETTER_CONFIRM_MAX_AGE)
    try:
        return str(data["e"]), [int(pk) for pk in data["s"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidToken("unexpected payload") from exc


def make_unsubscribe_token(subscription_id: int) -> str:
    return _signer(UNSUBSCRIBE_SALT).sign_object(subscription_id)


def read_unsubscribe_token(token: str) -> int:
    data = _read(UNSUBSCRIBE_SALT, token, max_age=None)
    if not isinstance(data, int):
        raise InvalidToken("unexpected payload")
    return data


def make_preferences_token(email: str) -> str:
    return _signer(PREFERENCES_SALT).sign_object(email.lower())


def read_preferences_token(token: str) -> str:
    data = _read(PREFERENCES_SALT, token, max_age=settings.NEWSROOM_NEWSLETTER_PREFERENCES_MAX_AGE)
    if not isinstance(data, str):
        raise InvalidToken("unexpected payload")
    return data
