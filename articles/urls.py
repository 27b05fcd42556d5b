from django.urls import path, register_converter

from . import views


class UnicodeSlugConverter:
    """Slugs may carry non-Latin letters (a Greek headline keeps its words)."""

    regex = r"[-\w]+"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(UnicodeSlugConverter, "uslug")

app_name = "articles"
urlpatterns = [
    path("", views.home, name="home"),
    path("<slug:section>/", views.section_detail, name="section"),
    path("<slug:section>/<uslug:slug>/", views.article_detail, name="detail"),
]
