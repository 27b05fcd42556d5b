"""The demo's live blog (`fixtures/live/deadline-day.json`): a story still live, breaking and
leading the front page, with a few dozen entries timed up to a few minutes ago, pictures from
the demo library, a gallery and an embed among them. `manage.py setup_demo` makes it when it
is missing; `setup_demo --keep-posting SECONDS` then adds one of its "later" entries every so
often, so a first run shows the page updating by itself."""

from __future__ import annotations

import html
import json
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Author
from pictures import upkeep
from pictures.embeds import snapshot_from_answer

from .demo import library_picture
from .models import Article, LiveEntry, Section
from .services import live
from .services.media import sync_pictures

LIVE_DEMO = Path(settings.BASE_DIR) / "fixtures" / "live" / "deadline-day.json"


def load() -> dict:
    return json.loads(LIVE_DEMO.read_text(encoding="utf-8"))


def _picture(name: str):
    return library_picture(name, timezone.now())


def _paragraphs(text: str) -> str:
    out = []
    for block in text.split("\n\n"):
        if block.startswith(">"):
            out.append(f"<blockquote><p>{html.escape(block.lstrip('> '))}</p></blockquote>")
        else:
            out.append(f"<p>{html.escape(block)}</p>")
    return "".join(out)


def _body(item: dict) -> str:
    body = _paragraphs(item["text"])
    if "picture" in item:
        body += f'<p class="picture">Picture {_picture(item["picture"]).pk}</p>'
    if "gallery" in item:
        numbers = ", ".join(str(_picture(name).pk) for name in item["gallery"])
        body += f'<p class="gallery">Gallery {numbers}</p>'
    if "embed" in item:
        answer = {"type": "rich", **item["embed"]}
        embed = snapshot_from_answer(answer.pop("url"), answer)
        upkeep.bring_renditions_up_to_date(embed.thumbnail_id)
        body += f'<p class="embed">{html.escape(item["embed"]["url"])}</p>'
    return body


@transaction.atomic
def install_demo_live_blog() -> Article | None:
    """Make the demo live blog unless it exists (None then)."""
    data = load()
    if Article.objects.filter(slug=data["slug"]).exists():
        return None
    now = timezone.now()
    started = now - timedelta(minutes=data["started_minutes_ago"])
    authors = {a.name: a for a in Author.objects.filter(name__in=data["authors"])}
    blog = Article(
        headline=data["headline"],
        slug=data["slug"],
        standfirst=data["standfirst"],
        section=Section.objects.get(slug=data["section"]),
        hero_image=_picture(data["picture"]),
        live_status=Article.LiveStatus.LIVE,
        live_summary="\n".join(data["summary"]),
        is_breaking=True,
        is_featured=True,
    )
    blog.mark_published(started)
    blog.save()
    blog.authors.set([authors[name] for name in data["authors"] if name in authors])
    blog.tags.set(data["tags"])
    step = timedelta(minutes=data["update_every_minutes"])
    last = now - timedelta(minutes=3)
    count = len(data["entries"])
    for number, item in enumerate(data["entries"]):
        LiveEntry.objects.create(
            article=blog,
            title=item.get("title", ""),
            body=_body(item),
            author=authors.get(item.get("author")),
            key_event=item.get("key", False),
            status=LiveEntry.Status.PUBLISHED,
            posted_at=last - step * (count - 1 - number),
        )
    Article.objects.filter(pk=blog.pk).update(created_at=started)
    sync_pictures(blog)
    return blog


def post_demo_update(user, number: int) -> LiveEntry | None:
    """One of the demo blog's "later" entries, live at once, as `user` (an Editor)."""
    data = load()
    blog = Article.objects.filter(slug=data["slug"], live_status=Article.LiveStatus.LIVE).first()
    if blog is None:
        return None
    text = data["later"][number % len(data["later"])]
    author = Author.objects.filter(name=data["authors"][number % len(data["authors"])]).first()
    return live.post_entry(blog, by=user, body=_paragraphs(text), publish=True, author=author)
