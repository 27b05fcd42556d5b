"""Public reading views. Each one starts from `Article.objects.published()`."""

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render

from . import body
from .models import Article, Section
from .parsing import headline_key

LATEST_ON_HOME = 20
PER_PAGE = 20


def home(request):
    stories = Article.objects.published().for_listing()
    lead = stories.filter(is_featured=True).first() or stories.first()
    latest = stories.exclude(pk=lead.pk)[:LATEST_ON_HOME] if lead else []
    return render(request, "articles/home.html", {"lead": lead, "latest": latest})


def section_detail(request, section):
    section = get_object_or_404(Section, slug=section)
    stories = Article.objects.published().in_section(section).for_listing()
    page = Paginator(stories, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "articles/section_detail.html", {"section": section, "page": page})


def article_detail(request, section, slug):
    article = get_object_or_404(Article.objects.published().for_detail(), slug=slug)
    if article.section.slug != section:
        return redirect(article, permanent=True)
    segments = body.segments(article.body)
    titles = [s.title for s in segments if s.kind == "teaser"]
    links = Article.objects.linked_by_headline(
        [*titles, article.previous_title, article.next_title]
    )

    def link(title):
        target = links.get(headline_key(title)) if title else None
        return target if target is not None and target.pk != article.pk else None

    context = {
        "article": article,
        "segments": [(segment, link(segment.title)) for segment in segments],
        "previous_article": link(article.previous_title),
        "next_article": link(article.next_title),
    }
    return render(request, "articles/article_detail.html", context)
