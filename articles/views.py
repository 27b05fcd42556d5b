"""Public reading views. Each one starts from `Article.objects.published()` and is a
`@public_page`: cached whole and invalidated when content changes (see `newsroom.cache`)."""

import datetime

from django.core.paginator import Paginator
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from taggit.models import Tag

from accounts.models import Author
from newsroom.cache import public_page, set_last_modified

from . import body, search
from .models import Article, Correction, Section
from .parsing import headline_key

LATEST_ON_HOME = 12
PER_SECTION_RAIL = 4
PER_PAGE = 20
RELATED_FALLBACK = 3


@public_page
def home(request):
    now = timezone.now()
    stories = Article.objects.published(now=now).for_listing()
    # The newest featured story leads; without one, the newest story. Two index-ordered
    # lookups: ordering by -is_featured first made PostgreSQL sort every published story.
    lead = stories.filter(is_featured=True).first() or stories.first()
    latest = list(stories.exclude(pk=getattr(lead, "pk", None))[:LATEST_ON_HOME])
    breaking = list(Article.objects.breaking(now=now).for_listing()[:3])
    context = {
        "lead": lead,
        "latest": latest,
        "breaking": breaking,
        "rails": _section_rails(now, exclude=[s.pk for s in [lead, *latest] if s]),
    }
    response = render(request, "articles/home.html", context)
    newest = max((s.updated_at for s in [lead, *latest] if s), default=None)
    return set_last_modified(response, newest)


def _section_rails(now, *, exclude):
    """The newest few stories of each section not already on the page, in one query (and one
    for their bylines). The stories are ranked by ids alone in a subquery: ranking whole rows
    made PostgreSQL sort every published story's row, on disk."""
    ranked = (
        Article.objects.published(now=now)
        .exclude(pk__in=exclude)
        .annotate(
            position=Window(
                RowNumber(),
                partition_by=[F("section_id")],
                order_by=[F("published_at").desc(), F("pk").desc()],
            )
        )
        .filter(position__lte=PER_SECTION_RAIL)
        .values("pk")
    )
    stories = (
        Article.objects.filter(pk__in=ranked)
        .for_listing()
        .order_by("section__order", "section__name", "-published_at", "-pk")
    )
    rails = {}
    for story in stories:
        rails.setdefault(story.section, []).append(story)
    return list(rails.items())


def _listing_page(request, stories, template, context):
    page = Paginator(stories, PER_PAGE).get_page(request.GET.get("page"))
    response = render(request, template, {**context, "page": page})
    return set_last_modified(response, max((s.updated_at for s in page), default=None))


@public_page
def section_detail(request, section):
    section = get_object_or_404(Section, slug=section)
    stories = Article.objects.published().in_section(section).for_listing()
    return _listing_page(
        request,
        stories,
        "articles/section_detail.html",
        {"section": section, "current_section": section.slug},
    )


@public_page
def tag_detail(request, slug):
    tag = get_object_or_404(Tag, slug=slug)
    stories = Article.objects.published().filter(tags__slug=slug).for_listing()
    return _listing_page(request, stories, "articles/tag_detail.html", {"tag": tag})


@public_page
def author_detail(request, slug):
    author = get_object_or_404(Author, slug=slug)
    stories = Article.objects.published().filter(authors=author).for_listing()
    return _listing_page(request, stories, "articles/author_detail.html", {"author": author})


@public_page
def archive(request, year, month, day=None):
    try:
        first = datetime.date(year, month, day or 1)
    except ValueError:
        raise Http404("No such date") from None
    if day:
        last = first + datetime.timedelta(days=1)
    else:
        last = (first.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    tz = timezone.get_current_timezone()
    start = datetime.datetime.combine(first, datetime.time.min, tzinfo=tz)
    end = datetime.datetime.combine(last, datetime.time.min, tzinfo=tz)
    stories = (
        Article.objects.published()
        .filter(published_at__gte=start, published_at__lt=end)
        .for_listing()
    )
    context = {"first": first, "day": day, "month_only": day is None}
    return _listing_page(request, stories, "articles/archive.html", context)


@public_page
def search_view(request):
    terms = search.SearchTerms.from_request(request.GET.get("q"))
    page = None
    if terms.has_words:
        page = Paginator(search.search_articles(terms), PER_PAGE).get_page(request.GET.get("page"))
        for article in page:
            if hasattr(article, "raw_snippet"):
                article.snippet = search.highlight(article.raw_snippet)
            else:
                article.snippet = search.simple_snippet(article, terms)
    return render(request, "articles/search.html", {"terms": terms, "page": page})


@public_page
def article_detail(request, section, slug):
    article = Article.objects.published().for_detail().filter(slug=slug).first()
    if article is None:
        return _missing_article(request, slug)
    if article.section.slug != section:
        return redirect(article, permanent=True)
    return render_article(request, article)


def _missing_article(request, slug):
    """A withdrawn story is gone, not lost: 410, so search engines drop it for good."""
    withdrawn = Article.objects.filter(slug=slug, status=Article.Status.WITHDRAWN).first()
    if withdrawn is None:
        raise Http404("No such story")
    legal = withdrawn.withdrawn_reason == Article.WithdrawalReason.LEGAL
    return render(request, "articles/article_gone.html", {"legal": legal}, status=410)


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

    related = list(article.related.all())
    if not related:
        # Shown as plain links: no bylines to prefetch (a query less on most story pages).
        related = list(
            Article.objects.published()
            .in_section(article.section)
            .exclude(pk=article.pk)
            .for_links()[:RELATED_FALLBACK]
        )
    context = {
        "article": article,
        "segments": [(segment, link(segment.title)) for segment in segments],
        "previous_article": link(article.previous_title),
        "next_article": link(article.next_title),
        "related": related,
        "current_section": article.section.slug,
        "preview": preview,
    }
    response = render(request, "articles/article_detail.html", context)
    return set_last_modified(response, article.updated_at)


@public_page
def corrections(request):
    """Every correction, clarification and update note on published stories, newest first."""
    notes = (
        Correction.objects.filter(article__in=Article.objects.published())
        .select_related("article__section")
        .order_by("-published_at", "-pk")
    )
    page = Paginator(notes, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "articles/corrections.html", {"page": page})
