"""The content API, version 1 (`/api/v1/`): read-only JSON for the outlet's apps and partners.

Everything here is what the public site shows at that moment and nothing more: the stories
readers may see (`Article.objects.published()`, which leaves out drafts, scheduled and
embargoed stories and those past their "unpublish at"), their pictures while their licence
runs. A story readers may no longer see answers 410 with a tombstone (withdrawn, legal, ended)
so an app drops it; one never out answers 404, as an unknown id does, so nothing leaks.
Every answer carries an ETag (a hash of its body): a conditional GET that matches is a 304.
Query counts are fixed per endpoint, whatever the number of rows (tests/api)."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.http import HttpResponse
from django.utils.http import urlencode
from ninja import NinjaAPI, Query, Router, Status
from ninja.errors import AuthenticationError

from articles.models import Article, LiveEntry, Section
from articles.models.choices import language_tag
from articles.parsing import headline_key
from articles.search import SearchTerms, results_page
from articles.services import media
from articles.surrogates import of_cards
from articles.surrogates import story as story_key
from newsroom.cache import tag_response

from . import apple_news, schemas
from .auth import ConsumerKey, PerConsumerRate
from .blocks import body_blocks, picture, plain

PAGE_SIZE, MAX_PAGE_SIZE = 20, 50
# Apps keep an answer this long before asking again, then ask with If-None-Match.
MAX_AGE = 30

api = NinjaAPI(
    title=f"{settings.SITE_NAME} content API",
    version="1",
    description=__doc__,
    urls_namespace="api-v1",
    auth=ConsumerKey(),
    throttle=[PerConsumerRate()],
    docs_url=None,  # the schema is served; an interactive page would load scripts from a CDN
)
stories = Router(tags=["stories"])
site = Router(tags=["site"])


@api.exception_handler(AuthenticationError)
def _refused(request, exc):
    return api.create_response(
        request, {"detail": "Send your key as: Authorization: Bearer nrk_…"}, status=401
    )


def _answer(request, data: dict, keys=()) -> HttpResponse:
    """`data` as JSON with its ETag, or 304 when the client has it already."""
    response = api.create_response(request, data, status=200)
    etag = '"' + hashlib.sha256(response.content).hexdigest()[:32] + '"'
    response["ETag"] = etag
    response["Cache-Control"] = f"private, max-age={MAX_AGE}"
    response["Vary"] = "Authorization"
    if etag in request.headers.get("If-None-Match", ""):
        not_modified = HttpResponse(status=304)
        for header in ("ETag", "Cache-Control", "Vary"):
            not_modified[header] = response[header]
        return not_modified
    return tag_response(response, keys)


def card(story) -> dict:
    section = story.section
    return {
        "id": story.pk,
        "headline": story.headline,
        "url": story.get_absolute_url(),
        "section": {"slug": section.slug, "name": section.name, "url": section.get_absolute_url()},
        "authors": [
            {"slug": a.slug, "name": a.name, "url": a.get_absolute_url()}
            for a in story.authors.all()
        ],
        "published_at": story.published_at,
        "updated_at": story.revised_at,
        "breaking": story.is_breaking,
        "live": story.live_status,
        "picture": picture(story.hero, full=False),
    }


def _page(request, rows: list, size: int, number: int) -> str | None:
    """The next page's address when `rows` (fetched one over `size`) has more."""
    if len(rows) <= size:
        return None
    query = request.GET.copy()
    query["page"] = str(number + 1)
    return f"{request.path}?{urlencode(query, doseq=True)}"


@stories.get("/", response=schemas.StoryPage, summary="Stories, newest first")
def story_list(
    request,
    section: str | None = None,
    tag: str | None = None,
    author: str | None = None,
    breaking: bool = False,
    page: Query[int] = 1,
    page_size: Query[int] = PAGE_SIZE,
):
    """The latest stories, newest first; narrowed to a section, tag or author (by slug) and
    to those breaking now. Two queries a page (rows, bylines)."""
    size, page = max(1, min(page_size, MAX_PAGE_SIZE)), max(1, page)
    rows = Article.objects.breaking() if breaking else Article.objects.published()
    if section:
        rows = rows.filter(section__slug=section)
    if tag:
        rows = rows.filter(tags__slug=tag)
    if author:
        rows = rows.filter(authors__slug=author)
    found = list(rows.for_listing()[(page - 1) * size : page * size + 1])
    shown = found[:size]
    return _answer(
        request,
        {"items": [card(s) for s in shown], "next": _page(request, found, size, page)},
        of_cards(shown),
    )


@stories.get(
    "/{int:story_id}/",
    response={200: schemas.StoryOut, 404: schemas.Problem, 410: schemas.Tombstone},
    summary="One story, its body as typed blocks",
)
def story_detail(request, story_id: int):
    story = Article.objects.published_detail(pk=story_id)
    if story is None:
        return _missing(request, story_id)
    return _answer(request, story_data(story), {story_key(story.pk)})


@stories.get(
    "/{int:story_id}/apple-news/",
    response={200: dict, 404: schemas.Problem, 410: schemas.Tombstone},
    summary="One story as an Apple News Format document (article.json)",
)
def story_apple_news(request, story_id: int):
    """The story as Apple News reads it (`ArticleDocument`, format 1.7): what the story
    endpoint gives, laid out as Apple News components. 404 and 410 as for the story."""
    story = Article.objects.published_detail(pk=story_id)
    if story is None:
        return _missing(request, story_id)
    return _answer(request, apple_news.document(story_data(story)), {story_key(story.pk)})


def story_data(story) -> dict:
    """A story as the API gives it: its card, its body as typed blocks, its corrections."""
    from articles.body import segments

    parts = segments(story.body)
    titles = [s.title for s in parts if s.kind == "teaser"]
    links = Article.objects.linked_by_headline(titles) if titles else {}
    pictures, embeds = media.body_media(parts)

    def link_of(title):
        target = links.get(headline_key(title))
        if target is None or target.pk == story.pk:
            return None
        return {"id": target.pk, "headline": target.headline, "url": target.get_absolute_url()}

    source = None
    if story.source_name or story.source_url:
        source = {"name": story.source_name, "url": story.source_url}
    return card(story) | {
        "picture": picture(story.hero),
        "standfirst": story.standfirst,
        "language": language_tag(story.language),
        "seo_headline": story.seo_headline,
        "social_headline": story.social_headline,
        "tags": [tag.name for tag in story.tags.all()],
        "word_count": story.word_count,
        "reading_time": story.reading_time,
        "blocks": body_blocks(story, pictures=pictures, embeds=embeds, link_of=link_of),
        "html": story.body,
        "corrections": [
            {"kind": c.kind, "text": c.text, "published_at": c.published_at}
            for c in story.corrections.all()
        ],
        "source": source,
        "live_summary": story.summary_points,
    }


def _missing(request, story_id: int):
    story = (
        Article.objects.filter(pk=story_id)
        .only("status", "withdrawn_reason", "published_at", "unpublish_at", "updated_at")
        .first()
    )
    if story is None or not (story.status == Article.Status.WITHDRAWN or story.has_ended):
        return Status(404, {"detail": "No such story."})
    if story.status == Article.Status.WITHDRAWN:
        legal = story.withdrawn_reason == Article.WithdrawalReason.LEGAL
        gone = "legal" if legal else "withdrawn"
        return Status(410, {"id": story.pk, "gone": gone, "at": story.updated_at})
    return Status(410, {"id": story.pk, "gone": "ended", "at": story.unpublish_at})


@stories.get(
    "/{int:story_id}/live/",
    response={200: schemas.LivePage, 404: schemas.Problem},
    summary="A live blog's entries after the one an app has",
)
def live_entries(request, story_id: int, since: int = 0, limit: int = 50):
    """Published entries of a live blog with an id above `since`, oldest first, at most
    `limit` (up to 100): an app polls with the last id it holds."""
    story = Article.objects.published().filter(pk=story_id).exclude(live_status="").first()
    if story is None:
        return Status(404, {"detail": "No such live blog."})
    entries = (
        LiveEntry.objects.filter(article=story, status=LiveEntry.Status.PUBLISHED, pk__gt=since)
        .select_related("author")
        .order_by("pk")[: max(1, min(limit, 100))]
    )
    items = [
        {
            "id": entry.pk,
            "title": entry.title,
            "html": entry.body,
            "text": plain(entry.body),
            "key_event": entry.key_event,
            "posted_at": entry.posted_at,
            "edited_at": entry.edited_at,
            "author": entry.author.name if entry.author else None,
            "url": f"{story.get_absolute_url()}live/{entry.pk}/",
        }
        for entry in entries
    ]
    return _answer(
        request,
        {"story": story.pk, "status": story.live_status, "items": items},
        {story_key(story.pk)},
    )


@site.get("/sections/", response=list[schemas.SectionOut], summary="The sections, in order")
def section_list(request):
    rows = Section.objects.order_by("order", "name")
    return _answer(
        request, [{"slug": s.slug, "name": s.name, "url": s.get_absolute_url()} for s in rows]
    )


@site.get("/authors/", response=list[schemas.AuthorOut], summary="Everyone with a byline")
def author_list(request):
    from accounts.models import Author

    rows = Author.objects.filter(articles__in=Article.objects.published()).distinct()
    return _answer(
        request,
        [
            {"slug": a.slug, "name": a.name, "url": a.get_absolute_url()}
            for a in rows.order_by("name").only("name", "slug")
        ],
    )


@site.get("/search/", response={200: schemas.SearchPage}, summary="Stories matching words")
def search(request, q: str, page: int = 1):
    terms = SearchTerms.from_request(q)
    found = results_page(terms, max(1, page), per_page=PAGE_SIZE)
    rows = list(found.object_list) if found is not None else []
    has_next = found is not None and found.has_next()
    items = [card(s) | {"snippet": plain(s.snippet)} for s in rows]
    following = None
    if has_next:
        following = f"{request.path}?{urlencode({'q': terms.text, 'page': found.number + 1})}"
    return _answer(
        request, {"query": terms.text, "items": items, "next": following}, of_cards(rows)
    )


api.add_router("/stories/", stories)
api.add_router("/", site)
