from django.contrib.sitemaps import views as sitemap_views
from django.urls import path, register_converter

from newsroom.cache import public_page

from . import feeds, live_views, reads_views, shared_previews, surrogates, views
from .sitemaps import NEWS_SITEMAPS, SITEMAPS


class UnicodeSlugConverter:
    """Slugs may carry non-Latin letters (a Greek headline keeps its words)."""

    regex = r"[-\w]+"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(UnicodeSlugConverter, "uslug")


def feed_pair(prefix, feed_class, name):
    return [
        path(f"{prefix}rss/", public_page(feed_class()), name=f"{name}-rss"),
        path(f"{prefix}atom/", public_page(feeds.atom(feed_class)()), name=f"{name}-atom"),
    ]


app_name = "articles"
urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search_view, name="search"),
    path("reads/", reads_views.beacon, name="reads-beacon"),
    path("reads/rails/", reads_views.rails, name="reads-rails"),
    path("corrections/", views.corrections, name="corrections"),
    *feed_pair("corrections/", feeds.CorrectionsFeed, "corrections-feed"),
    path("tags/<uslug:slug>/", views.tag_detail, name="tag"),
    path("authors/<uslug:slug>/", views.author_detail, name="author"),
    path("archive/<int:year>/<int:month>/", views.archive, name="archive-month"),
    path("archive/<int:year>/<int:month>/<int:day>/", views.archive, name="archive-day"),
    *feed_pair("feeds/", feeds.LatestFeed, "feed"),
    *feed_pair("feeds/sections/<slug:section>/", feeds.SectionFeed, "section-feed"),
    *feed_pair("feeds/tags/<uslug:slug>/", feeds.TagFeed, "tag-feed"),
    *feed_pair("feeds/authors/<uslug:slug>/", feeds.AuthorFeed, "author-feed"),
    path(
        "sitemap.xml",
        public_page(sitemap_views.index, keys=[surrogates.SITEMAPS]),
        {"sitemaps": {**SITEMAPS, **NEWS_SITEMAPS}, "sitemap_url_name": "articles:sitemap"},
        name="sitemap-index",
    ),
    path(
        "sitemap-news.xml",
        public_page(sitemap_views.sitemap, keys=[surrogates.SITEMAPS]),
        {"sitemaps": NEWS_SITEMAPS, "template_name": "sitemaps/news.xml"},
        name="sitemap-news",
    ),
    path(
        "sitemap-<section>.xml",
        public_page(sitemap_views.sitemap, keys=[surrogates.SITEMAPS]),
        {"sitemaps": SITEMAPS},
        name="sitemap",
    ),
    path("preview/<str:token>/", shared_previews.shared_preview, name="shared-preview"),
    path("<slug:section>/", views.section_detail, name="section"),
    path("<slug:section>/<uslug:slug>/", views.article_detail, name="detail"),
    path(
        "<slug:section>/<uslug:slug>/live/updates/",
        live_views.live_updates,
        name="live-updates",
    ),
    path(
        "<slug:section>/<uslug:slug>/live/<int:entry>/",
        live_views.entry_permalink,
        name="live-entry",
    ),
]
