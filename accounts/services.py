"""People services: the bylines an import or a script names, and staff logins' second factor
(an authenticator app's codes, with one-time recovery codes beside it), who must have one, and
the security stamp that ends a person's other sessions when it changes."""

from __future__ import annotations

from base64 import b32encode
from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_otp.models import Device
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from .models import Author, User

RECOVERY_CODE_COUNT = 10
AUTHENTICATOR_NAME = "Authenticator app"
RECOVERY_CODES_NAME = "Recovery codes"


def resolve_authors(names: Iterable[str]) -> tuple[Author, ...]:
    """The bylines named, in order, matched case-insensitively and created when new
    ("Newsroom Reporter" needs no login)."""
    authors = []
    for name in names:
        name = " ".join(name.split())
        author = Author.objects.filter(name__iexact=name).first()
        if author is None:
            author = Author(name=name)
            author.save()
        authors.append(author)
    return tuple(authors)


# --- Second factor -------------------------------------------------------------------------


class CodeThrottled(Exception):
    """Wrong codes came too quickly: django-otp refuses any code, right or wrong, until then."""

    def __init__(self, until: datetime):
        super().__init__(f"no code is checked before {until:%H:%M:%S}")
        self.until = until

    @property
    def seconds(self) -> int:
        return max(1, int((self.until - timezone.now()).total_seconds() + 0.999))


def second_factor_required(user: User) -> bool:
    """Whether `user` may use the admin only after a second factor: every superuser (their
    login opens everything) and staff in a role of NEWSROOM_2FA_REQUIRED_ROLES (Editor by
    default). One query, for the groups, unless a superuser."""
    if not (user.is_active and user.is_staff):
        return False
    if user.is_superuser:
        return True
    roles = settings.NEWSROOM_2FA_REQUIRED_ROLES
    return bool(roles) and user.groups.filter(name__in=roles).exists()


def needs_second_factor(user: User) -> bool:
    """Whether `user` logs in with a second factor: their role requires one (see
    `second_factor_required`) or they set one up themselves. One query; none for a superuser."""
    if not (user.is_active and user.is_staff):
        return False
    if user.is_superuser:
        return True
    roles = settings.NEWSROOM_2FA_REQUIRED_ROLES
    in_role = Q(groups__name__in=roles) if roles else Q(pk__in=[])
    return User.objects.filter(in_role | Q(totpdevice__confirmed=True), pk=user.pk).exists()


def has_second_factor(user: User) -> bool:
    """Whether `user` has an authenticator app set up (recovery codes alone do not count: they
    back the app up). One query."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def authenticator_of(user: User) -> TOTPDevice | None:
    """`user`'s authenticator app, if one is set up."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def new_authenticator_key() -> str:
    """A fresh TOTP secret, as TOTPDevice stores it (hex, 160 bits)."""
    return random_hex(20)


def authenticator_key_text(key: str) -> str:
    """`key` as people type it into an authenticator app: base32, in groups of four."""
    text = b32encode(bytes.fromhex(key)).decode()
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def authenticator_setup_uri(user: User, key: str) -> str:
    """The otpauth:// address an authenticator app reads (from the QR code) for `key`."""
    return TOTPDevice(user=user, key=key).config_url


def authenticator_code_matches(key: str, code: str) -> int | None:
    """The time step at which `code` is the current code of `key` (a step either side allowed,
    for a phone's clock), or None. For confirming a key before it is stored."""
    code = normalise_code(code)
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = TOTP(bytes.fromhex(key))
    return totp.t() if totp.verify(int(code), tolerance=1) else None


def normalise_code(code: str) -> str:
    """A typed code without the spaces and dashes people add: "123 456", "abcd-efgh"."""
    return "".join(code.split()).replace("-", "").lower()


@transaction.atomic
def verify_second_factor(user: User, code: str) -> Device | None:
    """The device that accepts `code` from `user`: six digits are the authenticator app's
    current code (each accepted once: an earlier or repeated code is refused), anything else an
    unused recovery code, which is then spent. None for a wrong code; after wrong codes
    django-otp makes the next try wait (1, 2, 4, … seconds), raising CodeThrottled."""
    code = normalise_code(code)
    model = TOTPDevice if code.isdigit() and len(code) == 6 else StaticDevice
    for device in model.objects.devices_for_user(user).select_for_update():
        allowed, details = device.verify_is_allowed()
        if not allowed:
            raise CodeThrottled(details.get("locked_until") or timezone.now())
        if device.verify_token(code):
            return device
    return None


def recovery_code_text(code: str) -> str:
    """A recovery code as shown: "abcd-efgh" (the dash is ignored when typed back)."""
    return f"{code[:4]}-{code[4:]}"


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


@transaction.atomic
def set_up_authenticator(user: User, *, key: str, verified_at_step: int | None = None):
    """Make an authenticator app on `key` the second factor of `user`, replacing any other, with
    fresh recovery codes. Returns the device and the codes (to show once; the database keeps
    them for checking). Ends `user`'s other sessions (see `rotate_security_stamp`)."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    device = TOTPDevice(user=user, name=AUTHENTICATOR_NAME, key=key, confirmed=True)
    if verified_at_step is not None:
        device.last_t = verified_at_step  # the code that confirmed the key is spent
    device.save()
    codes = _fill_recovery_codes(
        StaticDevice.objects.create(user=user, name=RECOVERY_CODES_NAME, confirmed=True)
    )
    user.refresh_from_db(fields=["security_stamp"])
    return device, codes


@transaction.atomic
def replace_recovery_codes(user: User) -> list[str]:
    """New recovery codes for `user`, the old ones no longer accepted. Returns them, to show."""
    device = StaticDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = StaticDevice.objects.create(user=user, name=RECOVERY_CODES_NAME, confirmed=True)
    device.token_set.all().delete()
    codes = _fill_recovery_codes(device)
    user.refresh_from_db(fields=["security_stamp"])
    return codes


@transaction.atomic
def remove_second_factor(user: User) -> None:
    """Remove `user`'s authenticator app and recovery codes, ending their other sessions. For
    staff who may do without one; required staff set up a new one at their next login."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    user.refresh_from_db(fields=["security_stamp"])


def _fill_recovery_codes(device: StaticDevice) -> list[str]:
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def rotate_security_stamp(user_id: int) -> None:
    """A new security stamp for the user: every session of theirs ends at its next request,
    as after a password change (the stamp is part of `User.get_session_auth_hash`). Whoever
    made the change keeps their own session with `update_session_auth_hash`."""
    User.objects.filter(pk=user_id).update(security_stamp=get_random_string(32))


def end_sessions_on_device_change(sender, instance, created=True, raw=False, **kwargs):
    """post_save / post_delete of a second-factor device, wherever it happens (these services,
    the admin, a shell): a device added or removed is a 2FA reset. Saves of an existing device
    (each verification records its time step) change nothing."""
    if created and not raw:
        rotate_security_stamp(instance.user_id)
