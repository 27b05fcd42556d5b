"""What newsletter emails say and how they are built.

An edition is rendered once, with placeholders where each reader's links go, and turned into
MIME bytes once (`PreparedEdition`); each reader's copy is those bytes with the placeholders
swapped for their address, message id and link tokens. Building a MIME message costs about a
millisecond and swapping a few strings some microseconds, which is what lets one worker send
hundreds of messages a second.
"""

from __future__ import annotations

import email
import email.policy
import re
import textwrap
from dataclasses import dataclass
from email.utils import make_msgid, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import sanitize_address
from django.template.loader import render_to_string
from django.urls import reverse

from ..models import Edition, EditionStory, Newsletter, Subscription
from ..tokens import make_confirm_token, make_preferences_token, make_unsubscribe_token

UNSUBSCRIBE_PLACEHOLDER = "__NEWSROOM_UNSUBSCRIBE_TOKEN__"
PREFERENCES_PLACEHOLDER = "__NEWSROOM_PREFERENCES_TOKEN__"
RECIPIENT_PLACEHOLDER = "recipient@placeholder.newsroom.invalid"
MESSAGE_ID_PLACEHOLDER = "<message-id@placeholder.newsroom.invalid>"
# Body lines stay well under SMTP's 998-byte limit even after a token replaces a placeholder,
# so Django keeps the parts 8-bit (no quoted-printable that could split a placeholder).
MAX_LINE = 600


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def unsubscribe_url(token: str) -> str:
    return absolute_url(reverse("newsletters:unsubscribe", args=[token]))


def preferences_url(token: str) -> str:
    return absolute_url(reverse("newsletters:preferences", args=[token]))


def confirm_url(token: str) -> str:
    return absolute_url(reverse("newsletters:confirm", args=[token]))


def _sender_domain() -> str:
    address = parseaddr(settings.NEWSROOM_NEWSLETTER_FROM)[1]
    return address.rpartition("@")[2] or "localhost"


PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")


def _sanitized(address: str) -> str:
    """The address as SMTP and the To header want it. A plain ASCII address is that already;
    Django's `sanitize_address` (a full header parse, ~0.1 ms) is kept for the rest."""
    if PLAIN_ADDRESS.fullmatch(address):
        return address
    return sanitize_address(address, "utf-8")


def _wrap_long_lines(text: str) -> str:
    lines = []
    for line in text.splitlines():
        if len(line) <= MAX_LINE:
            lines.append(line)
        else:
            lines.extend(
                textwrap.wrap(line, MAX_LINE, break_long_words=False, break_on_hyphens=False)
            )
    return "\n".join(lines) + "\n"


# --- confirmation ------------------------------------------------------------------------------


def build_confirmation_email(
    email_address: str, newsletter_ids: list[int]
) -> EmailMultiAlternatives:
    """The double opt-in email for what `email_address` asked for: a signed, expiring link for
    the subscriptions still pending, and a word about those already confirmed."""
    subscriptions = list(
        Subscription.objects.for_email(email_address)
        .filter(newsletter_id__in=newsletter_ids)
        .select_related("newsletter")
        .order_by("newsletter__name")
    )
    pending = [s for s in subscriptions if s.status == Subscription.Status.PENDING]
    confirmed = [s for s in subscriptions if s.status == Subscription.Status.CONFIRMED]
    context = {
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        "pending": [s.newsletter for s in pending],
        "confirmed": [s.newsletter for s in confirmed],
        "confirm_url": confirm_url(make_confirm_token(email_address, [s.pk for s in pending]))
        if pending
        else "",
        "preferences_url": preferences_url(make_preferences_token(email_address)),
        "max_age_days": max(1, settings.NEWSROOM_NEWSLETTER_CONFIRM_MAX_AGE // 86400),
    }
    subject = (
        f"Please confirm your {settings.SITE_NAME} newsletter sign-up"
        if pending
        else f"You are already signed up to {settings.SITE_NAME} newsletters"
    )
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("newsletters/email/confirm.txt", context),
        from_email=settings.NEWSROOM_NEWSLETTER_FROM,
        to=[email_address],
        reply_to=[settings.NEWSROOM_NEWSLETTER_REPLY_TO],
    )
    message.attach_alternative(
        render_to_string("newsletters/email/confirm.html", context), "text/html"
    )
    return message


# --- editions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedEdition:
    """An edition's subject and bodies, with placeholders where each reader's links go."""

    subject: str
    preheader: str
    html: str
    text: str


def edition_stories(edition: Edition) -> list[dict]:
    """The edition's stories that readers may still see, in the editor's order, with absolute
    links (a story withdrawn since it was picked is left out)."""
    from articles.models import Article

    rows = (
        EditionStory.objects.filter(edition=edition, article__in=Article.objects.published())
        .select_related("article", "article__section")
        .order_by("position", "pk")
    )
    return [
        {
            "headline": row.article.headline,
            "standfirst": row.article.standfirst,
            "section": row.article.section.name,
            "url": absolute_url(row.article.get_absolute_url()),
        }
        for row in rows
    ]


def render_edition(
    edition: Edition,
    *,
    unsubscribe: str | None = None,
    preferences: str | None = None,
) -> RenderedEdition:
    """Render the edition once. The links default to placeholder URLs for `PreparedEdition`;
    previews pass URLs of their own."""
    stories = edition_stories(edition)
    preheader = edition.preheader or (stories[0]["headline"] if stories else edition.subject)
    context = {
        "edition": edition,
        "newsletter": edition.newsletter,
        "stories": stories,
        "preheader": preheader,
        "intro_paragraphs": [p.strip() for p in edition.intro.split("\n\n") if p.strip()],
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        "unsubscribe_url": unsubscribe or unsubscribe_url(UNSUBSCRIBE_PLACEHOLDER),
        "preferences_url": preferences or preferences_url(PREFERENCES_PLACEHOLDER),
    }
    return RenderedEdition(
        subject=edition.subject,
        preheader=preheader,
        html=_wrap_long_lines(render_to_string("newsletters/email/edition.html", context)),
        text=_wrap_long_lines(render_to_string("newsletters/email/edition.txt", context)),
    )


class PrebuiltMessage:
    """What `EmailMessage.message()` returns for a personalised copy: the finished bytes
    (CRLF line endings), with the email package's view of them made only when asked for."""

    def __init__(self, data: bytes):
        self._data = data
        self._parsed = None

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n") -> bytes:
        if linesep == "\r\n":
            return self._data
        return self._data.replace(b"\r\n", linesep.encode())

    def as_string(self, unixfrom: bool = False, linesep: str = "\n") -> str:
        return self.as_bytes(linesep=linesep).decode("utf-8", "surrogateescape")

    def get_charset(self):
        return None

    @property
    def parsed(self) -> email.message.EmailMessage:
        if self._parsed is None:
            self._parsed = email.message_from_bytes(self._data, policy=email.policy.default)
        return self._parsed

    def __getitem__(self, name):
        return self.parsed[name]

    def __getattr__(self, name):
        return getattr(self.parsed, name)


class PersonalisedEmail(EmailMultiAlternatives):
    """One reader's copy of an edition. Its fields are personalised like any message's (so
    `mail.outbox` shows what the reader got); its MIME form is the edition's, prebuilt, and
    its envelope addresses are already in the form SMTP wants."""

    def __init__(self, *args, prebuilt: bytes | None = None, envelope=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.prebuilt = prebuilt
        self.envelope = envelope  # (sender, [recipient]) when prebuilt

    def message(self):
        if self.prebuilt is None:
            return super().message()
        return PrebuiltMessage(self.prebuilt)


class PreparedEdition:
    """An edition rendered and built once, ready to be personalised for each reader."""

    def __init__(self, edition: Edition, *, rendered: RenderedEdition | None = None):
        self.edition = edition
        self.rendered = rendered or render_edition(edition)
        newsletter: Newsletter = edition.newsletter
        self.domain = _sender_domain()
        self.headers = {
            "List-Unsubscribe": (
                f"<{unsubscribe_url(UNSUBSCRIBE_PLACEHOLDER)}>, "
                f"<mailto:{settings.NEWSROOM_NEWSLETTER_UNSUBSCRIBE_MAILTO}"
                f"?subject=unsubscribe%20{UNSUBSCRIBE_PLACEHOLDER}>"
            ),
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": f"{newsletter.name} <{newsletter.slug}.newsletters.{self.domain}>",
            "Precedence": "bulk",
            "Message-ID": MESSAGE_ID_PLACEHOLDER,
        }
        template = self._email(
            to=RECIPIENT_PLACEHOLDER,
            html=self.rendered.html,
            text=self.rendered.text,
            headers=self.headers,
        )
        data = template.message().as_bytes(linesep="\r\n")
        # The shortcut only holds if every placeholder came through the MIME encoding intact.
        expected = {
            placeholder: sum(
                part.count(placeholder)
                for part in (self.rendered.html, self.rendered.text, *self.headers.values())
            )
            for placeholder in (UNSUBSCRIBE_PLACEHOLDER, PREFERENCES_PLACEHOLDER)
        }
        intact = all(data.count(p.encode()) == n for p, n in expected.items()) and (
            data.count(RECIPIENT_PLACEHOLDER.encode()) == 1
            and data.count(MESSAGE_ID_PLACEHOLDER.encode()) == 1
        )
        self.template: bytes | None = data if intact else None
        self.envelope_from = sanitize_address(settings.NEWSROOM_NEWSLETTER_FROM, "utf-8")

    def _email(self, *, to: str, html: str, text: str, headers: dict, prebuilt=None, envelope=None):
        message = PersonalisedEmail(
            subject=self.rendered.subject,
            body=text,
            from_email=settings.NEWSROOM_NEWSLETTER_FROM,
            to=[to],
            reply_to=[settings.NEWSROOM_NEWSLETTER_REPLY_TO],
            headers=headers,
            prebuilt=prebuilt,
            envelope=envelope,
        )
        message.attach_alternative(html, "text/html")
        return message

    def message_id(self, delivery_id: int) -> str:
        # The same for every attempt at one delivery, so a mail client can tell a copy.
        return f"<edition-{self.edition.pk}.delivery-{delivery_id}@{self.domain}>"

    def message_for(
        self, *, email_address: str, subscription_id: int, delivery_id: int | None = None
    ) -> PersonalisedEmail:
        unsubscribe = make_unsubscribe_token(subscription_id)
        preferences = make_preferences_token(email_address)
        message_id = self.message_id(delivery_id) if delivery_id else make_msgid(domain=self.domain)

        def personalise(value: str) -> str:
            return value.replace(UNSUBSCRIBE_PLACEHOLDER, unsubscribe).replace(
                PREFERENCES_PLACEHOLDER, preferences
            )

        headers = {name: personalise(value) for name, value in self.headers.items()}
        headers["Message-ID"] = message_id
        prebuilt = envelope = None
        if self.template is not None:
            recipient = _sanitized(email_address)
            envelope = (self.envelope_from, [recipient])
            prebuilt = (
                self.template.replace(RECIPIENT_PLACEHOLDER.encode(), recipient.encode())
                .replace(MESSAGE_ID_PLACEHOLDER.encode(), message_id.encode())
                .replace(UNSUBSCRIBE_PLACEHOLDER.encode(), unsubscribe.encode())
                .replace(PREFERENCES_PLACEHOLDER.encode(), preferences.encode())
            )
        return self._email(
            to=email_address,
            html=personalise(self.rendered.html),
            text=personalise(self.rendered.text),
            headers=headers,
            prebuilt=prebuilt,
            envelope=envelope,
        )

    def test_message(self, to: str) -> EmailMultiAlternatives:
        """A copy for an editor's own inbox, marked as a test."""
        message = self._email(
            to=to,
            html=self.rendered.html,
            text=self.rendered.text,
            headers={"X-Newsroom-Test": "yes"},
        )
        message.subject = f"[TEST] {self.rendered.subject}"
        return message
