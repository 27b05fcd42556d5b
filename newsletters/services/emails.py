"""What newsletter emails say and how they are built.

An edition is rendered once, with placeholders where each reader's links go (`render_edition`),
and made into a copy template once (`PreparedEdition`, through `newsletters.mail`); each
reader's copy is the edition with the placeholders swapped for their address, Message-ID and
link tokens: about a tenth of a millisecond, signing the tokens included, where having Django
build each copy's MIME form would add half a millisecond more.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from email.utils import formatdate, make_msgid, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from newsroom.text import one_line

from ..mail import CopyTemplate, EditionCopy
from ..models import Edition, EditionStory, Newsletter, Subscription
from ..tokens import make_confirm_token, make_preferences_token, make_unsubscribe_token

UNSUBSCRIBE_PLACEHOLDER = "__NEWSROOM_UNSUBSCRIBE_TOKEN__"
PREFERENCES_PLACEHOLDER = "__NEWSROOM_PREFERENCES_TOKEN__"
RECIPIENT_PLACEHOLDER = "recipient@placeholder.newsroom.invalid"
MESSAGE_ID_PLACEHOLDER = "<message-id@placeholder.newsroom.invalid>"
# Body lines stay well under SMTP's 998-byte limit even after tokens replace placeholders, so
# Django keeps the parts 8-bit, as the copy template needs (see newsletters.mail).
MAX_LINE = 600
# Joined HTML lines stay shorter still, so that a line with two or three links in it keeps
# well under the limit with their tokens swapped in.
HTML_LINE = 300
PRESERVED_WHITESPACE = re.compile(r"<(pre|textarea)\b", re.IGNORECASE)


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


def _wrap_long_lines(text: str, *, width: int = MAX_LINE) -> str:
    lines = []
    for line in text.splitlines():
        if len(line) <= width:
            lines.append(line)
        else:
            lines.extend(textwrap.wrap(line, width, break_long_words=False, break_on_hyphens=False))
    return "\n".join(lines) + "\n"


def _compact_html(html: str) -> str:
    """The HTML with each line's indentation gone and the lines joined, a space between them,
    into lines of up to HTML_LINE characters. A run of whitespace between two lines is one space
    to a browser or mail client, so the page is the same, in a third fewer bytes and a few times
    fewer lines (mail servers handle a message line by line). Left as it is where whitespace
    matters, in a <pre> or <textarea>."""
    if PRESERVED_WHITESPACE.search(html):
        return _wrap_long_lines(html)
    lines, current = [], ""
    for line in html.splitlines():
        line = line.strip()
        if not line:
            continue
        if current and len(current) + 1 + len(line) > HTML_LINE:
            lines.append(current)
            current = line
        else:
            current = f"{current} {line}" if current else line
    lines.append(current)
    return _wrap_long_lines("\n".join(lines), width=HTML_LINE)


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
        # Only shown beside the newsletters already received: made from one of them.
        "preferences_url": preferences_url(make_preferences_token(confirmed[0].pk, email_address))
        if confirmed
        else "",
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


class UnsendableEdition(ValueError):
    """The edition's email cannot be made, with the reason worded for an editor."""


def unsendable_reasons(edition: Edition) -> list[str]:
    """What keeps the edition's email from being made, worded for an editor: text bound for a
    header with a line break or control character in it (saved before such text was refused,
    or by something that skips validation). Empty when there is nothing."""
    reasons = []
    if one_line(edition.subject) != edition.subject:
        reasons.append(
            "The subject has a line break or a control character in it: write it on one line."
        )
    if one_line(edition.newsletter.name) != edition.newsletter.name:
        reasons.append(
            "The newsletter’s name has a line break or a control character in it: "
            f"change it under Newsletters › {one_line(edition.newsletter.name)}."
        )
    return reasons


@dataclass(frozen=True)
class RenderedEdition:
    """An edition's subject and bodies, with placeholders where each reader's links go."""

    subject: str
    preheader: str
    html: str
    text: str


# Pictures in emails: the story's 16:9 crop as a JPEG (every mail client shows JPEG; few
# show WebP or AVIF) at twice the width it is shown at, for sharp high-density screens.
EMAIL_PICTURE_WIDTH = 552  # the 600-pixel column less its padding
EMAIL_PICTURE_FILE_WIDTH = 800


def edition_stories(edition: Edition) -> list[dict]:
    """The edition's stories that readers may still see, in the editor's order, with absolute
    links (a story withdrawn since it was picked is left out) and each story's picture when
    readers may see it (an expired licence leaves it out)."""
    from articles.models import Article

    rows = (
        EditionStory.objects.filter(edition=edition, article__in=Article.objects.published())
        .select_related("article", "article__section", "article__hero_image")
        .order_by("position", "pk")
    )
    return [
        {
            "headline": row.article.headline,
            "standfirst": row.article.standfirst,
            "section": row.article.section.name,
            "url": absolute_url(row.article.get_absolute_url()),
            "picture": _email_picture(row.article.hero),
        }
        for row in rows
    ]


def _email_picture(picture) -> dict | None:
    found = picture.rendition_url("wide", at_least=EMAIL_PICTURE_FILE_WIDTH) if picture else None
    if found is None:
        return None
    url, width, height = found
    shown = min(EMAIL_PICTURE_WIDTH, width)
    return {
        "url": url if url.startswith(("http://", "https://")) else absolute_url(url),
        "width": shown,
        "height": round(height * shown / width),
        "alt": picture.alt_text,
        "credit": picture.credit,
    }


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
        html=_compact_html(render_to_string("newsletters/email/edition.html", context)),
        text=_wrap_long_lines(render_to_string("newsletters/email/edition.txt", context)),
    )


class PreparedEdition:
    """An edition rendered once and made into a copy template, ready to be personalised for
    each reader."""

    def __init__(self, edition: Edition, *, rendered: RenderedEdition | None = None):
        """Raises UnsendableEdition when the email cannot be made."""
        reasons = unsendable_reasons(edition)
        if reasons:
            raise UnsendableEdition(" ".join(reasons))
        try:
            self._prepare(edition, rendered)
        except ValueError as exc:  # Django's BadHeaderError among them
            raise UnsendableEdition(
                f"The edition cannot be made into an email: {exc}. Check its subject and the "
                "newsletter’s name."
            ) from exc

    def _prepare(self, edition: Edition, rendered: RenderedEdition | None) -> None:
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
        }
        prototype = self._email(
            to=RECIPIENT_PLACEHOLDER,
            html=self.rendered.html,
            text=self.rendered.text,
            headers={
                **self.headers,
                "Message-ID": MESSAGE_ID_PLACEHOLDER,
                # One Date for the run's copies, as the template needs: when it was prepared.
                "Date": formatdate(localtime=settings.EMAIL_USE_LOCALTIME),
            },
        )
        probe = self._values(email_address="reader@example.com", subscription_id=1, delivery_id=1)
        self.template = CopyTemplate(prototype, probe=probe)

    def _email(self, *, to: str, html: str, text: str, headers: dict) -> EmailMultiAlternatives:
        message = EmailMultiAlternatives(
            subject=self.rendered.subject,
            body=text,
            from_email=settings.NEWSROOM_NEWSLETTER_FROM,
            to=[to],
            reply_to=[settings.NEWSROOM_NEWSLETTER_REPLY_TO],
            headers=headers,
        )
        message.attach_alternative(html, "text/html")
        return message

    def message_id(self, delivery_id: int) -> str:
        # The same for every attempt at one delivery, so a mail client can tell a copy.
        return f"<edition-{self.edition.pk}.delivery-{delivery_id}@{self.domain}>"

    def _values(
        self, *, email_address: str, subscription_id: int, delivery_id: int | None
    ) -> dict[str, str]:
        return {
            RECIPIENT_PLACEHOLDER: email_address,
            MESSAGE_ID_PLACEHOLDER: (
                self.message_id(delivery_id) if delivery_id else make_msgid(domain=self.domain)
            ),
            UNSUBSCRIBE_PLACEHOLDER: make_unsubscribe_token(subscription_id),
            PREFERENCES_PLACEHOLDER: make_preferences_token(subscription_id, email_address),
        }

    def message_for(
        self, *, email_address: str, subscription_id: int, delivery_id: int | None = None
    ) -> EditionCopy:
        """The reader's copy: their address, their unsubscribe and preferences links (in the
        body and the List-Unsubscribe header) and a Message-ID of its own."""
        values = self._values(
            email_address=email_address, subscription_id=subscription_id, delivery_id=delivery_id
        )
        return self.template.copy(values)

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
