"""XML sitemaps, and a Google News sitemap of the last two days' stories."""

from datetime import timedelta

from django.contrib.sitemaps import Sitemap
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from .models import Article, Section

NEWS_WINDOW = timedelta(days=2)


class ArticleSitemap(Sitemap):
    limit = 5000

    def items(self):
        return (
            Article.objects.published()
            .select_related("section")
            .only("slug", "updated_at", "published_at", "section__slug")
            .order_by("-published_at", "-pk")
        )

    def lastmod(self, item):
        return item.updated_at


class SectionSitemap(Sitemap):
    changefreq = "hourly"

    def items(self):
        return Section.objects.all()


class HomeSitemap(Sitemap):
    changefreq = "always"
    priority = 1.0

    def items(self):
        return ["articles:home"]

    def location(self, item):
        return reverse(item)


class NewsSitemap(Sitemap):
    """Stories published in the last two days, with the `news:` details Google News reads
    (rendered by `templates/sitemaps/news.xml`)."""

    limit = 1000

    def items(self):
        since = timezone.now() - NEWS_WINDOW
        return (
            Article.objects.published()
            # A live blog still running is news, however long ago it began.
            .filter(Q(published_at__gte=since) | Q(live_status=Article.LiveStatus.LIVE))
            .select_related("section")
            .prefetch_related("tags")
            .only(
                "headline",
                "slug",
                "language",
                "updated_at",
                "published_at",
                "live_status",
                "section__slug",
            )
            .order_by("-published_at", "-pk")
        )

    def lastmod(self, item):
        return item.updated_at


SITEMAPS = {"home": HomeSitemap, "sections": SectionSitemap, "articles": ArticleSitemap}
NEWS_SITEMAPS = {"news": NewsSitemap}
