"""Public reading views. Each one starts from `Article.objects.published()` and is a
`@public_page`: cached whole, here and at the edge, and purged by the surrogate keys of what it
shows (`articles.surrogates`), which each view tags its response with."""

from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from taggit.models import Tag

from accounts.models import Author
from newsroom.cache import public_page, set_last_modified, tag_response

from . import body, cards, live_views, search, surrogates
from .models import (
    Article,
    Correction,
    OldAddress,
    archive_range,
    prepared_reads,
    with_bylines,
)
from .parsing import headline_key
from .services import media

LATEST_ON_HOME = 12
PER_SECTION_RAIL = 4
PER_PAGE = 20
RELATED_FALLBACK = surrogates.RELATED_RAIL
LATEST_CARD, RAIL_CARD = cards.Style(), cards.Style(compact=True)  # as home.html shows them


@public_page
def home(request):
    now = timezone.now()
    # The newest featured story leads; without one, the newest story. Two index-ordered
    # lookups: ordering by -is_featured first made PostgreSQL sort every published story.
    lead, latest = Article.objects.home_front(latest=LATEST_ON_HOME, now=now)
    rails = Article.objects.section_rails(
        per_section=PER_SECTION_RAIL, exclude=[s.pk for s in [lead, *latest] if s], now=now
    )
    # The stories come as stubs (the lead whole): only the cards not kept are loaded and made.
    shown = [(lead, cards.LEAD)] if lead else []
    shown += [(story, LATEST_CARD) for story in latest]
    shown += [(story, RAIL_CARD) for _, rail in rails for story in rail]
    missing = cards.prepare(request, shown)
    stubs = [story for story in missing if story is not lead]
    loaded = Article.objects.published(now=now).cards_of(stubs)
    with_bylines([*(story for story in missing if story is lead), *loaded.values()])
    latest = cards.missing(latest, stubs, loaded)
    rails = [(section, cards.missing(rail, stubs, loaded)) for section, rail in rails]
    context = {"lead": lead, "latest": latest, "rails": rails}
    response = render(request, "articles/home.html", context)
    tag_response(response, cards.keys(request) | surrogates.of_cards([lead]) | {surrogates.HOME})
    cards.keep(request)
    newest = max((_changed_at(s) for s in [lead, *latest] if s), default=None)
    return set_last_modified(response, newest)


def _listing_page(request, stories, template, context, keys, *, page=None):
    """A page of `stories` (`stubs()`) as cards, the first eager: only those not kept are
    loaded and rendered."""
    if page is None:  # (an empty page is falsy)
        page = Paginator(stories, PER_PAGE).get_page(request.GET.get("page"))
    shown = [(story, cards.Style(heading_level=2, eager=n == 0)) for n, story in enumerate(page)]
    stubs = cards.prepare(request, shown)
    loaded = Article.objects.published().cards_of(stubs)
    with_bylines(loaded.values())
    page.object_list = cards.missing(list(page), stubs, loaded)
    response = render(request, template, {**context, "page": page})
    tag_response(response, cards.keys(request) | set(keys))
    cards.keep(request)
    return set_last_modified(response, max((_changed_at(s) for s in page), default=None))


def _changed_at(story):
    """When a card last changed: its story's last save, or its publication when that came
    later (a scheduled story appears at its time, long after it was saved)."""
    return max(story.updated_at, story.published_at or story.updated_at)


@public_page
def section_detail(request, section):
    found = prepared_reads.SECTION(slug=section)
    if not found:
        raise Http404("No such section")
    section, now = found[0], timezone.now()
    if request.GET.get("page", "1") == "1":  # most readers: its SQL made once
        stories, page = None, prepared_reads.section_first_page(section, PER_PAGE, now)
    else:
        stories, page = Article.objects.published(now=now).in_section(section).stubs(), None
    return _listing_page(
        request,
        stories,
        "articles/section_detail.html",
        {"section": section, "current_section": section.slug},
        [surrogates.section(section.pk)],
        page=page,
    )


@public_page
def tag_detail(request, slug):
    tag = get_object_or_404(Tag, slug=slug)
    stories = Article.objects.published().tagged(slug).stubs()
    keys = [surrogates.tag(tag.pk), surrogates.tag_listing(tag.pk)]
    return _listing_page(request, stories, "articles/tag_detail.html", {"tag": tag}, keys)


@public_page
def author_detail(request, slug):
    author = get_object_or_404(Author, slug=slug)
    stories = Article.objects.published().by_author(author).stubs()
    keys = [surrogates.author(author.pk), surrogates.author_listing(author.pk)]
    context = {"author": author}
    return _listing_page(request, stories, "articles/author_detail.html", context, keys)


@public_page
def archive(request, year, month, day=None):
    try:
        first, start, end = archive_range(year, month, day)
    except ValueError:
        raise Http404("No such date") from None
    stories = Article.objects.published_between(start, end).stubs()
    context = {"first": first, "day": day, "month_only": day is None}
    key = surrogates.month(first) if day is None else surrogates.day(start)
    return _listing_page(request, stories, "articles/archive.html", context, [key])


@public_page
def search_view(request):
    terms = search.SearchTerms.from_request(request.GET.get("q"))
    page = search.results_page(terms, request.GET.get("page"), per_page=PER_PAGE, bylines=False)
    shown = [
        (story, cards.Style(heading_level=2, eager=n == 0)) for n, story in enumerate(page or ())
    ]
    with_bylines(cards.prepare(request, shown))  # the cards a listing has kept are the same
    response = render(request, "articles/search.html", {"terms": terms, "page": page})
    tag_response(response, cards.keys(request) | {surrogates.SEARCH})
    cards.keep(request)
    return response


@public_page
def article_detail(request, section, slug):
    article = Article.objects.published_detail(slug=slug)
    if article is None:
        return _missing_article(request, slug)
    if article.section.slug != section:
        return redirect(article, permanent=True)
    return render_article(request, article)


def _gone(story) -> bool:
    """Whether `story`'s address answers 410: withdrawn, or its "unpublish at" time passed."""
    return story.status == Article.Status.WITHDRAWN or story.has_ended


def _missing_article(request, slug):
    """A story that moved answers at its old address with a 301 to its new one. A withdrawn
    story, or one whose time on the site has ended, is gone, not lost: 410, so search engines
    drop it for good."""
    gone = Q(status=Article.Status.WITHDRAWN)
    gone |= Q(status=Article.Status.PUBLISHED, unpublish_at__lte=timezone.now())
    story = Article.objects.filter(gone, slug=slug).first()
    if story is None:
        moved = OldAddress.objects.filter(path=request.path).select_related("article").first()
        story = moved.article if moved else None
        if story is not None and story.is_visible:
            return redirect(story, permanent=True)
        if story is None or not _gone(story):
            raise Http404("No such story")
    legal = story.withdrawn_reason == Article.WithdrawalReason.LEGAL
    response = render(request, "articles/article_gone.html", {"legal": legal}, status=410)
    return tag_response(response, {surrogates.story(story.pk)})


def render_article(request, article, *, preview=False):
    """The article page; the admin's preview renders unpublished stories through it too."""
    segments = body.segments(article.body)
    titles = [s.title for s in segments if s.kind == "teaser"]
    links = Article.objects.linked_by_headline(
        [*titles, article.previous_title, article.next_title]
    )

    def link(title):
        target = links.get(headline_key(title)) if title else None
        return target if target is not None and target.pk != article.pk else None

    live = live_views.entries_page(request, article) if article.live_status else None
    pictures, embeds = media.body_media([*segments, *(live.segments() if live else ())])

    def component(segment):
        if segment.kind == "teaser":
            return link(segment.title)
        return media.component(segment, pictures, embeds)

    related = list(article.related.all())
    if not related and article.published_at:
        # The section's stories published just before this one, as plain links (no bylines
        # to prefetch: a query less on most story pages). Before, not newest: a new story
        # changes no other story's page, so publishing purges no story pages.
        related = prepared_reads.earlier_links(article, RELATED_FALLBACK, timezone.now())
    context = {
        "article": article,
        "segments": [(segment, component(segment)) for segment in segments],
        "previous_article": link(article.previous_title),
        "next_article": link(article.next_title),
        "related": related,
        "current_section": article.section.slug,
        "preview": preview,
        "has_embeds": bool(embeds),
        "live": live.resolve(pictures, embeds) if live else None,
    }
    response = render(request, "articles/article_detail.html", context)
    tag_response(response, _article_keys(article, segments, related, embeds))
    if live:
        tag_response(response, live.keys())
        response.public_page_max_age = live_views.UPDATES_MAX_AGE if article.is_live else None
    players = sorted({e.player_origin for e in embeds.values() if e.player_origin})
    if players:
        # The page may frame the players of its own embeds, once a reader asks for one.
        response._csp_update = {"frame-src": players}
    return set_last_modified(response, article.updated_at)


def _article_keys(article, segments, related, embeds) -> set[str]:
    """What a story page shows: the story, its bylines, tags and pictures (those not shown
    now too: a renewed licence brings them back), its embeds, the stories it links to, and the
    headlines its teasers and previous/next lines would link to."""
    keys = surrogates.of_cards([article, *related]) | {surrogates.rail(article.pk)}
    keys |= {surrogates.tag(tag.pk) for tag in article.tags.all()}
    keys |= {surrogates.image(pk) for segment in segments for pk in segment.ids}
    for item in embeds.values():
        keys |= {surrogates.embed(item.pk)}
        keys |= {surrogates.image(item.thumbnail_id)} if item.thumbnail_id else set()
    titles = [s.title for s in segments if s.kind == "teaser"]
    shown = [*titles, article.previous_title, article.next_title]
    return keys | {surrogates.headline(title) for title in shown if title}


@public_page
def corrections(request):
    """Every correction, clarification and update note on published stories, newest first."""
    page = Paginator(Correction.objects.published(), PER_PAGE).get_page(request.GET.get("page"))
    response = render(request, "articles/corrections.html", {"page": page})
    keys = {surrogates.story(item.article_id) for item in page} | {surrogates.CORRECTIONS}
    return tag_response(response, keys)
