"""The daily digest: once a day, at the newsletter's digest time, an edition of the day's most
read stories (`articles.reads`, the last 24 hours), topped up with the day's newest when too
few were read; left as a draft for an editor to review and send, or sent unattended, as the
newsletter is set. `manage.py make_digests`, run every few minutes from cron or a scheduler,
makes the digests that are due; one a day per newsletter at most, however often it runs and
however many run it at once (a database constraint)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import Truncator

from articles import reads
from articles.models import Article

from ..models import Edition, EditionStory, Newsletter
from .editions import send_digest_unattended

Digest = Newsletter.Digest


@dataclass(frozen=True)
class Outcome:
    newsletter: Newsletter
    note: str
    edition: Edition | None = None


def digest_stories(size: int, *, now: datetime) -> list[Article]:
    """The `size` stories read most in the last 24 hours that readers may see now (none on
    legal hold), then the newest of those 24 hours that were not, newest first."""
    chosen = reads.rail("most", limit=size)
    if len(chosen) < size:
        newest = (
            Article.objects.published()
            .filter(published_at__gte=now - timedelta(hours=24), legal_hold=False)
            .exclude(pk__in=[story.pk for story in chosen])
            .order_by("-published_at", "-pk")
        )
        chosen += list(newest[: size - len(chosen)])
    return chosen


def make_digest(newsletter: Newsletter, *, now: datetime | None = None) -> Outcome:
    """Today's digest of `newsletter` if it is due and not made yet; what was done, as words."""
    now = now or timezone.now()
    local = timezone.localtime(now)
    if newsletter.digest == Digest.OFF:
        return Outcome(newsletter, "no daily digest")
    if local.time() < newsletter.digest_at:
        return Outcome(newsletter, f"not due until {newsletter.digest_at:%H:%M}")
    day = local.date()
    if Edition.objects.filter(newsletter=newsletter, digest_of=day).exists():
        return Outcome(newsletter, "made already today")
    stories = digest_stories(newsletter.digest_size, now=now)
    if not stories:
        return Outcome(newsletter, "no stories out in the last 24 hours: none made")
    try:
        edition = _create(newsletter, day, stories)
    except IntegrityError:  # another run made it a moment ago
        return Outcome(newsletter, "made already today")
    count = f"{len(stories)} {'story' if len(stories) == 1 else 'stories'}"
    if newsletter.digest != Digest.UNATTENDED:
        return Outcome(newsletter, f"made for review ({count})", edition)
    try:
        edition = send_digest_unattended(edition)
    except (ValidationError, PermissionDenied) as exc:
        reason = " ".join(getattr(exc, "messages", [str(exc)]))
        return Outcome(newsletter, f"made, not sent, left for an editor: {reason}", edition)
    return Outcome(newsletter, f"sending ({count})", edition)


@transaction.atomic
def _create(newsletter: Newsletter, day, stories: list[Article]) -> Edition:
    top = Truncator(stories[0].headline).chars(160)
    edition = Edition.objects.create(
        newsletter=newsletter,
        digest_of=day,
        subject=f"Most read today: {top}",
        intro=f"The stories readers read most today, {day.day} {day:%B}.",
    )
    EditionStory.objects.bulk_create(
        EditionStory(edition=edition, article=story, position=n) for n, story in enumerate(stories)
    )
    return edition


def make_due_digests(*, now: datetime | None = None) -> list[Outcome]:
    """Every newsletter's digest that is due now (see `make_digest`)."""
    now = now or timezone.now()
    return [make_digest(n, now=now) for n in Newsletter.objects.exclude(digest=Digest.OFF)]
