"""Sending an edition's copies through Django's mail API without building each one's MIME form.

The copies of an edition differ only in a few strings: the reader's address, the Message-ID and
the link tokens. So the bytes Django builds for one copy, with placeholders where those strings
go, become any copy's bytes by swapping the placeholders in: tens of microseconds, where having
Django build and flatten each copy's MIME tree costs over half a millisecond, most of what a
worker would spend per message. This module is the one place that relies on that. Its contract:

- `CopyTemplate(prototype, probe=...)` takes an `EmailMultiAlternatives` in which the strings
  that differ between copies are placeholders (the keys of `probe`, a realistic set of values),
  with a Date header of its own, which every copy shares; Django renders it once.
- `template.copy({placeholder: value, ...})` returns an `EditionCopy`: an ordinary
  `EmailMultiAlternatives` with every field personalised (To, headers, text, HTML), which any
  mail backend sends, and `mail.outbox` shows, as usual. Its `wire` is the envelope and the
  bytes that Django's SMTP backend would hand to the server for that message, except for the
  MIME boundary: Django picks one at random for every message, the template one for its copies.
- `wire` is None, and the copy is sent the ordinary way, whenever that cannot be promised: a
  placeholder did not come through Django's encoding intact or sits on a body line that a long
  value could push into quoted-printable, the probe copy came out differently the two ways, or a
  value is not printable ASCII, or the address not one that Django's envelope leaves as it is
  (non-ASCII characters, a display name).
- `get_connection()` returns the project's mail backend (`EMAIL_BACKEND`), except that Django's
  SMTP backend is replaced by `EmailBackend`, its subclass here: the same settings, connection
  handling and errors, and an `EditionCopy`'s `wire` handed to smtplib's `sendmail` at the
  point where Django's `_send` hands over the bytes it builds. Any other message goes through
  Django's `_send` unchanged. (So this depends on that method of Django's SMTP backend, as the
  tests below check against a real server.)

tests/newsletters/test_mail.py holds this to Django's own output through a real SMTP server.
"""

from __future__ import annotations

import email.policy
import re
import smtplib
from dataclasses import dataclass

from django.conf import settings
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends import smtp
from django.core.mail.message import sanitize_address
from django.utils.module_loading import import_string

# A value a template swaps in: printable ASCII, which Django writes out as it is, in headers
# and 8-bit bodies alike.
LONGEST_VALUE = 254
PLAIN_VALUE = re.compile(rf"[!-~]{{1,{LONGEST_VALUE}}}")
# A recipient whose envelope form (Django's `sanitize_address`) is the address itself: a
# dot-atom local part at a dot-separated ASCII domain.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
PLAIN_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
# Past this many bytes in a line, Django sends a text part quoted-printable (RFC 5322's limit).
LINE_LIMIT = 998
# How the email package writes the headers of `message().as_bytes(linesep="\r\n")`.
HEADERS = email.policy.compat32.clone(linesep="\r\n")
BOUNDARY = re.compile(rb'boundary="([^"]+)"')


@dataclass(frozen=True)
class Wire:
    """A message as the SMTP backend hands it to the server."""

    sender: str
    recipients: list[str]
    data: bytes


class EditionCopy(EmailMultiAlternatives):
    """One reader's copy: a Django message like any other, plus its `wire` form when its
    template could vouch for it (see the module docstring)."""

    wire: Wire | None = None


class CopyTemplate:
    """Django's bytes for a prototype message, to be personalised by swapping placeholders.

    The headers that hold a placeholder are folded again for each copy, as the email package
    folds them for Django (a longer value may move a line break); every other header, and the
    body, is the prototype's bytes, the body's placeholders swapped in place. That holds while
    the body parts stay 8-bit, which the template checks for the longest value it accepts."""

    def __init__(self, prototype: EmailMultiAlternatives, *, probe: dict[str, str]):
        if prototype.cc or prototype.bcc or prototype.attachments:
            raise ValueError("A copy template takes no Cc, Bcc or attachments.")
        if "date" not in {name.lower() for name in prototype.extra_headers}:
            raise ValueError("A copy template needs a Date header, shared by every copy.")
        self.prototype = prototype
        self.placeholders = tuple(probe)
        if any(placeholder in prototype.subject for placeholder in self.placeholders):
            raise ValueError("A copy template keeps one subject for every copy.")
        self.sender = sanitize_address(prototype.from_email, _encoding(prototype))
        self.headers: list[bytes | tuple[str, str]] = []
        self.body: bytes | None = None

        built = prototype.message()
        head, _, body = built.as_bytes(linesep="\r\n").partition(b"\r\n\r\n")
        for name, value in built.raw_items():
            personal = any(placeholder in value for placeholder in self.placeholders)
            self.headers.append((name, value) if personal else HEADERS.fold_binary(name, value))
        if self._usable(built, head + b"\r\n", body):
            self.body = b"\r\n" + body
            trial = self.copy(probe)
            django = trial.message().as_bytes(linesep="\r\n")
            if trial.wire is None or (
                without_boundaries(trial.wire.data) != without_boundaries(django)
            ):
                self.body = None

    @property
    def usable(self) -> bool:
        """Whether copies get a `wire` form (their values permitting)."""
        return self.body is not None

    def _usable(self, built, head: bytes, body: bytes) -> bool:
        """Whether the prototype came out as the template needs: its headers as they are
        folded here, its text parts 7- or 8-bit, every placeholder intact, and no body line
        that a long value could push past the length at which Django would send a part
        quoted-printable."""
        for part in built.walk():
            if part.get_content_maintype() == "text" and (
                part["Content-Transfer-Encoding"] not in ("7bit", "8bit")
            ):
                return False
        refolded = b"".join(
            part if isinstance(part, bytes) else HEADERS.fold_binary(*part) for part in self.headers
        )
        if refolded != head:
            return False
        p = self.prototype
        texts = [p.body, *p.to, *p.extra_headers.values(), *(c for c, _ in p.alternatives)]
        in_headers = [part[1] for part in self.headers if isinstance(part, tuple)]
        for placeholder in self.placeholders:
            expected = sum(text.count(placeholder) for text in texts)
            found = sum(v.count(placeholder) for v in in_headers) + body.count(placeholder.encode())
            if not expected or found != expected:
                return False
        for line in body.split(b"\r\n"):
            growth = sum(
                line.count(placeholder.encode()) * (LONGEST_VALUE - len(placeholder))
                for placeholder in self.placeholders
            )
            if growth and len(line) + growth > LINE_LIMIT:
                return False
        return True

    def copy(self, values: dict[str, str]) -> EditionCopy:
        """The prototype with each placeholder replaced by its value, everywhere."""

        def swap(text: str) -> str:
            for placeholder in self.placeholders:
                text = text.replace(placeholder, values[placeholder])
            return text

        p = self.prototype
        message = EditionCopy(
            subject=p.subject,
            body=swap(p.body),
            from_email=p.from_email,
            to=[swap(address) for address in p.to],
            reply_to=list(p.reply_to),
            headers={name: swap(value) for name, value in p.extra_headers.items()},
            alternatives=[(swap(content), mimetype) for content, mimetype in p.alternatives],
        )
        message.encoding = p.encoding
        if self.body is not None and self._vouches_for(values, message.to):
            body = self.body
            for placeholder in self.placeholders:
                body = body.replace(placeholder.encode(), values[placeholder].encode())
            head = b"".join(
                part if isinstance(part, bytes) else HEADERS.fold_binary(part[0], swap(part[1]))
                for part in self.headers
            )
            message.wire = Wire(self.sender, list(message.to), head + body)
        return message

    def _vouches_for(self, values: dict[str, str], recipients: list[str]) -> bool:
        return all(PLAIN_VALUE.fullmatch(values[p]) for p in self.placeholders) and all(
            PLAIN_ADDRESS.fullmatch(address) for address in recipients
        )


def without_boundaries(data: bytes) -> bytes:
    """The message's bytes with its MIME boundaries replaced by fixed ones, so two renderings
    of one message can be compared."""
    for n, boundary in enumerate(BOUNDARY.findall(data)):
        data = data.replace(boundary, b"boundary-%d" % n)
    return data


def _encoding(message: EmailMultiAlternatives) -> str:
    return message.encoding or settings.DEFAULT_CHARSET


class EmailBackend(smtp.EmailBackend):
    """Django's SMTP backend, handing an `EditionCopy`'s wire form to the server as it is."""

    def _send(self, email_message):
        wire = email_message.wire if isinstance(email_message, EditionCopy) else None
        if wire is None:
            return super()._send(email_message)
        try:
            self.connection.sendmail(wire.sender, wire.recipients, wire.data)
        except smtplib.SMTPException:
            if not self.fail_silently:
                raise
            return False
        return True


def get_connection(**kwargs):
    """A connection to the project's mail backend; `EmailBackend` in place of Django's SMTP
    backend (a subclass of it configured instead is left alone)."""
    if import_string(settings.EMAIL_BACKEND) is smtp.EmailBackend:
        return mail.get_connection(f"{__name__}.EmailBackend", **kwargs)
    return mail.get_connection(**kwargs)
