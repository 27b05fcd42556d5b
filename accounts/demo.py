"""The demo's logins, one per role, for a first run (`manage.py setup_demo`, which `make run`
uses): a Reporter, an Editor and a Newsletter editor, so anyone can try each side of the desk.

Their passwords (and the Editor's authenticator key) are made once and kept on this machine in
`NEWSROOM_DEMO_LOGINS_FILE` (`.demo-logins.json` beside `manage.py`, readable by its owner only,
never committed), so a login stays the same from run to run, and a database made afresh gets
the same ones; `setup_demo --new-logins` makes new ones. Whoever the role requires a second
factor of (the Editor) logs in with it, as in production: nothing turns it off for the demo."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import roles, services
from .models import User

# username, name, roles
LOGINS = [
    ("editor", ("Demo", "Editor"), (roles.EDITOR, roles.NEWSLETTER_EDITOR)),
    ("reporter", ("Demo", "Reporter"), (roles.REPORTER,)),
    ("newsletters", ("Demo", "Newsletters"), (roles.NEWSLETTER_EDITOR,)),
]


@dataclass
class DemoLogin:
    username: str
    role: str
    password: str
    key: str = ""  # the authenticator key, for a role that needs one
    recovery_codes: tuple[str, ...] = ()


def _stored(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _store(path: Path, logins: dict) -> None:
    """Write the file readable by its owner only (it holds passwords)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(logins, out, indent=2)
    path.chmod(0o600)


def set_up_demo_logins(*, new: bool = False) -> list[DemoLogin]:
    """Make or bring up to date the demo's users with their kept logins (new ones when `new`,
    or when none is kept yet). A login that has not changed ends nobody's session."""
    path = Path(settings.NEWSROOM_DEMO_LOGINS_FILE)
    kept = {} if new else _stored(path)
    made = []
    for username, (first, last), role_names in LOGINS:
        login = kept.get(username, {})
        password = login.get("password") or secrets.token_urlsafe(12)
        user, _ = User.objects.get_or_create(username=username)
        user.is_staff, user.is_superuser = True, False
        user.first_name, user.last_name = user.first_name or first, user.last_name or last
        user.email = user.email or f"{username}@localhost"
        if not user.check_password(password):
            user.set_password(password)
        user.save()
        user.groups.set(Group.objects.filter(name__in=role_names))
        found = DemoLogin(username, role_names[0], password)
        if services.second_factor_required(user):
            found.key = login.get("key") or services.new_authenticator_key()
            device = services.authenticator_of(user)
            if device is None or device.key != found.key:
                services.set_up_authenticator(user, key=found.key)
            tokens = StaticToken.objects.filter(device__user=user).order_by("pk")
            found.recovery_codes = tuple(tokens.values_list("token", flat=True))
        else:
            TOTPDevice.objects.filter(user=user).delete()
        made.append(found)
    _store(path, {m.username: {"password": m.password, "key": m.key} for m in made})
    return made
