"""Live blogs: who may post, approve, edit and remove entries, and the services that do it.

Anyone who may add entries (Reporters, Editors) posts to a blog whose coverage is running. An
entry goes live at once when its poster may publish it: an Editor (`publish_liveentry`), or a
Reporter on a blog whose `live_reporters_publish` is on; otherwise it waits for an Editor's
approval. Every rule is checked here, on the server: a Reporter's forged POST asking to publish
is refused whatever the form showed. Starting and ending coverage is an Editor's
(`workflow.set_live_status`). Each save purges the blog's entries key (`surrogates.live`): its page,
its updates fragment and its permalinks; not its cards, which change only with its status.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from ..models import Article, LiveEntry
from . import media

Entry = LiveEntry.Status
Live = Article.LiveStatus
POST, PUBLISH = "articles.add_liveentry", "articles.publish_liveentry"


# --- the rules -----------------------------------------------------------------------------------


def can_post(user, article: Article) -> bool:
    return (
        user.has_perm(POST)
        and article.live_status == Live.LIVE
        and article.status != Article.Status.WITHDRAWN
    )


def can_publish(user, article: Article) -> bool:
    """Whether `user`'s entries on `article` go live without an Editor's approval."""
    return user.has_perm(PUBLISH) or (article.live_reporters_publish and user.has_perm(POST))


def can_change(user, entry: LiveEntry) -> bool:
    """Editors change any entry; a poster their own while it waits, or once live when they
    may publish on that blog."""
    if user.has_perm(PUBLISH):
        return True
    if entry.created_by_id != user.pk or not user.has_perm("articles.change_liveentry"):
        return False
    return entry.status == Entry.PENDING or can_publish(user, entry.article)


def check_text(entry: LiveEntry, *, publishing: bool) -> None:
    """Raise `ValidationError` (by field) for an entry that may not be saved as it is."""
    if not entry.body.strip():
        raise ValidationError({"body": "Write the entry."})
    entry.full_clean(exclude=["article", "author", "created_by", "approved_by"])
    media.check_body_media(entry.body)
    undescribed = media.undescribed_pictures(entry.body) if publishing else ""
    if undescribed:
        raise ValidationError({"body": undescribed})


def _byline(user):
    return getattr(user, "author", None)


# --- the services --------------------------------------------------------------------------------


@transaction.atomic
def post_entry(
    article: Article,
    *,
    by,
    body: str,
    title: str = "",
    key_event: bool = False,
    publish: bool = False,
    author=None,
) -> LiveEntry:
    """A new entry on `article`, live at once when `publish` (refused unless `by` may), else
    waiting for approval."""
    article = Article.objects.select_for_update(of=("self",)).get(pk=article.pk)
    if not can_post(by, article):
        if article.live_status == Live.ENDED:
            raise PermissionDenied("Live coverage has ended: resume it to post entries.")
        raise PermissionDenied("You may not post entries on this story.")
    if publish and not can_publish(by, article):
        raise PermissionDenied("Your entries on this live blog go to an editor for approval.")
    entry = LiveEntry(
        article=article,
        title=title,
        body=body,
        key_event=key_event,
        author=author or _byline(by),
        created_by=by,
    )
    entry.body = entry.body.strip()
    check_text(entry, publishing=publish)
    if publish:
        entry.status, entry.posted_at, entry.approved_by = Entry.PUBLISHED, timezone.now(), by
    entry.save()
    return entry


@transaction.atomic
def approve_entry(entry: LiveEntry, *, by) -> LiveEntry:
    """Put a waiting entry live, timed now (when readers first see it)."""
    entry = _locked(entry.pk)
    if not by.has_perm(PUBLISH):
        raise PermissionDenied("Only editors approve live blog entries.")
    if entry.status != Entry.PENDING:
        raise ValidationError("This entry is not waiting for approval.")
    if entry.article.live_status != Live.LIVE:
        raise ValidationError("Live coverage has ended: resume it to approve entries.")
    check_text(entry, publishing=True)
    entry.status, entry.posted_at, entry.approved_by = Entry.PUBLISHED, timezone.now(), by
    entry.save(update_fields=["status", "posted_at", "approved_by"])
    return entry


@transaction.atomic
def edit_entry(
    entry: LiveEntry, *, by, body: str, title: str = "", key_event: bool = False, author=None
) -> LiveEntry:
    """Change an entry's words (readers see "Updated" on a live one) or its key-event pin."""
    stored = _locked(entry.pk)
    if not can_change(by, stored) or stored.status == Entry.REMOVED:
        raise PermissionDenied("You may not change this entry.")
    worded = (stored.title, stored.body) != (title, body.strip())
    stored.title, stored.body, stored.key_event = title, body.strip(), key_event
    if author is not None:
        stored.author = author
    check_text(stored, publishing=stored.status == Entry.PUBLISHED)
    if worded and stored.status == Entry.PUBLISHED:
        stored.edited_at = timezone.now()
    stored.save()
    return stored


@transaction.atomic
def remove_entry(entry: LiveEntry, *, by) -> LiveEntry | None:
    """Take an entry off the blog. A live one leaves a short "entry removed" note in its place
    (its permalink still lands there); one nobody has seen yet is deleted (None)."""
    stored = _locked(entry.pk)
    if not can_change(by, stored):
        raise PermissionDenied("You may not remove this entry.")
    if stored.status == Entry.PENDING:
        stored.delete()
        return None
    if stored.status == Entry.PUBLISHED and not by.has_perm(PUBLISH):
        raise PermissionDenied("Only editors remove live entries.")
    stored.status, stored.key_event = Entry.REMOVED, False
    stored.title, stored.body = "", ""  # nothing of it stays for anyone to read
    stored.save(update_fields=["status", "key_event", "title", "body"])
    return stored


def _locked(pk: int) -> LiveEntry:
    rows = LiveEntry.objects.select_for_update(of=("self",)).select_related("article")
    return rows.get(pk=pk)
