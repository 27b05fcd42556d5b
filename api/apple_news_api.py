"""Publishing to the outlet's Apple News channel through Apple's News API, once it is set up
(`NEWSROOM_APPLE_NEWS_CHANNEL`, `_KEY` and `_SECRET`, from News Publisher; `_API` is Apple's
address). A story that readers can see is created there, and updated when it changes (naming
the revision Apple last gave; a stale one is read again once); one withdrawn, taken down or
past its time is deleted. Each change is a task (`sync_task`) run after the change commits, or
at a scheduled story's time, and tried again after 1, 5 and 30 minutes while Apple cannot be
reached or answers 5xx; what Apple refuses (4xx) is kept on the story's `AppleNewsArticle`.

Requests are signed as the News API asks (HHMAC: an HMAC-SHA256, keyed with the decoded
secret, of the method, address, date and, for a POST, the content type and body); documents
are `api.apple_news.document`, sent as the `article.json` part of a multipart POST."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from articles.models import Article

from . import apple_news
from .models import AppleNewsArticle

logger = logging.getLogger(__name__)
RETRIES = (60, 300, 1800)  # seconds before each further try


class AppleNewsError(Exception):
    def __init__(self, status: int | None, detail: str):
        super().__init__(f"{status or 'no answer'}: {detail}")
        self.status, self.detail = status, detail


def is_configured() -> bool:
    return all(
        getattr(settings, f"NEWSROOM_APPLE_NEWS_{name}", "")
        for name in ("CHANNEL", "KEY", "SECRET")
    )


def authorization(method: str, url: str, date: str, body: bytes = b"", kind: str = "") -> str:
    """The `Authorization` header of a News API request made at `date` (ISO 8601, UTC)."""
    canonical = f"{method}{url}{date}".encode() + (kind.encode() + body if body else b"")
    key = base64.b64decode(settings.NEWSROOM_APPLE_NEWS_SECRET)
    signature = base64.b64encode(hmac.new(key, canonical, hashlib.sha256).digest()).decode()
    return (
        f'HHMAC; key="{settings.NEWSROOM_APPLE_NEWS_KEY}"; signature="{signature}"; date="{date}"'
    )


def multipart(parts: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body of (name, content type, content) parts, each with the
    filename its name is; and its content type."""
    boundary = uuid.uuid4().hex
    body = b"".join(
        f"--{boundary}\r\nContent-Type: {kind}\r\nContent-Disposition: form-data; "
        f'name="{name}"; filename="{name}"; size={len(content)}\r\n\r\n'.encode()
        + content
        + b"\r\n"
        for name, kind, content in parts
    )
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _call(method: str, path: str, parts: list | None = None) -> dict:
    url = f"{settings.NEWSROOM_APPLE_NEWS_API.rstrip('/')}{path}"
    body, kind = multipart(parts) if parts else (b"", "")
    date = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = {"Authorization": authorization(method, url, date, body, kind)}
    if kind:
        headers["Content-Type"] = kind
    request = urllib.request.Request(url, data=body or None, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=settings.NEWSROOM_APPLE_NEWS_TIMEOUT) as got:
            answer = got.read()
    except urllib.error.HTTPError as exc:
        raise AppleNewsError(exc.code, exc.read(2000).decode("utf-8", "replace")) from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise AppleNewsError(None, str(getattr(exc, "reason", exc))) from None
    return json.loads(answer) if answer.strip() else {}


def _document_part(story) -> tuple[str, str, bytes]:
    from .views import story_data  # the API's own view of the story

    document = apple_news.document(story_data(story))
    if problems := apple_news.problems(document):
        raise AppleNewsError(None, "the document is not valid: " + "; ".join(problems))
    return ("article.json", "application/json", json.dumps(document).encode())


def _metadata(data: dict) -> tuple[str, str, bytes]:
    return ("metadata", "application/json", json.dumps({"data": data}).encode())


def sync(story_id: int) -> str:
    """Make Apple News hold the story as readers see it now; what was done, in a word."""
    record, _ = AppleNewsArticle.objects.get_or_create(story_id=story_id)
    story = Article.objects.published_detail(pk=story_id)
    if story is None:
        if not record.apple_id:
            return "nothing"
        try:
            _call("DELETE", f"/articles/{record.apple_id}")
        except AppleNewsError as exc:
            if exc.status != 404:  # already gone there: as good as deleted
                raise
        AppleNewsArticle.objects.filter(pk=record.pk).update(
            apple_id="", revision="", share_url="", last_error="", synced_at=timezone.now()
        )
        return "deleted"
    document = _document_part(story)
    if record.apple_id:
        try:
            data = _update(record, document)
        except AppleNewsError as exc:
            if exc.status != 409:  # a stale revision: read the one Apple has, once
                raise
            record.revision = _call("GET", f"/articles/{record.apple_id}")["data"]["revision"]
            data = _update(record, document)
        done = "updated"
    else:
        channel = settings.NEWSROOM_APPLE_NEWS_CHANNEL
        data = _call("POST", f"/channels/{channel}/articles", [_metadata({}), document])["data"]
        done = "created"
    AppleNewsArticle.objects.filter(pk=record.pk).update(
        apple_id=data["id"], revision=data["revision"], share_url=data.get("shareUrl", ""),
        last_error="", synced_at=timezone.now(),
    )  # fmt: skip
    return done


def _update(record, document) -> dict:
    metadata = _metadata({"revision": record.revision})
    return _call("POST", f"/articles/{record.apple_id}", [metadata, document])["data"]


@task()
def sync_task(story_id: int, attempt: int = 1) -> str:
    try:
        return sync(story_id)
    except AppleNewsError as exc:
        AppleNewsArticle.objects.filter(story_id=story_id).update(last_error=str(exc)[:2000])
        retry = exc.status is None or exc.status >= 500
        if retry and attempt <= len(RETRIES) and sync_task.get_backend().supports_defer:
            later = timezone.now() + timedelta(seconds=RETRIES[attempt - 1])
            sync_task.using(run_after=later).enqueue(story_id, attempt + 1)
            return "to try again"
        logger.error("Apple News refused story %s: %s", story_id, exc)
        return "refused"


def story_changed(article, *, at: datetime | None = None) -> None:
    """Bring Apple News up to date with `article` after this transaction (or at `at`)."""
    if not is_configured():
        return
    if at is not None and not sync_task.get_backend().supports_defer:
        return
    run = sync_task.using(run_after=at) if at else sync_task
    transaction.on_commit(lambda: run.enqueue(article.pk))
