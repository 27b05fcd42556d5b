"""Template tags that stand in for Django's own on every public page, for speed: they must write
exactly what the tags and filters they replace write."""

from datetime import UTC, datetime

import pytest
from django.template import engines
from django.test import override_settings
from django.urls import reverse
from django.utils.timezone import localtime

from articles.templatetags import newsroom_tags

TEMPLATES = engines["django"]


def render(source: str, **context) -> str:
    return TEMPLATES.from_string("{% load newsroom_tags %}" + source).render(context)


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 12, 8, 2, 5, 9, 123456, tzinfo=UTC),  # winter: GMT
        datetime(2026, 7, 1, 23, 30, tzinfo=UTC),  # summer: BST, the next day in London
        datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC),  # the hour before the clocks go forward
        datetime(2026, 10, 25, 1, 0, tzinfo=UTC),  # the hour after they go back
    ],
)
def test_a_time_element_writes_what_the_date_filters_would(moment):
    # As a template writes them: in newsroom time (Europe/London).
    machine = render("{{ when|date:'Y-m-d\\TH:i:sO' }}", when=moment)
    shown = render('{{ when|date:"j F Y, H:i" }}', when=moment)
    offset = localtime(moment).strftime("%z")
    if not machine.endswith(offset):
        # Django writes no offset for the hour the clocks go back (it is there twice), which
        # leaves a `datetime` no reader can place; the tag writes the one it is.
        machine += offset
    assert render("{% time_element when %}", when=moment) == (
        f'<time datetime="{machine}">{shown}</time>'
    )
    assert localtime(moment).strftime("%B") in shown  # the month in full


def test_a_time_element_of_no_time_is_empty():
    assert render("{% time_element when %}", when=None) == ""


def test_fixed_urls_and_static_files_are_what_url_and_static_give():
    names = ["articles:home", "articles:search", "articles:feed-rss", "newsletters:list"]
    for name in names:
        assert render(f"{{% fixed_url '{name}' %}}") == reverse(name)
    got = render("{% fixed_static 'css/site.css' %}")
    assert got == TEMPLATES.from_string("{% load static %}{% static 'css/site.css' %}").render({})


def test_fixed_addresses_follow_a_change_of_settings():
    before = render("{% fixed_static 'css/site.css' %}")
    with override_settings(STATIC_URL="https://cdn.example.test/static/"):
        assert render("{% fixed_static 'css/site.css' %}").startswith(
            "https://cdn.example.test/static/"
        )
    assert render("{% fixed_static 'css/site.css' %}") == before
    assert newsroom_tags._fixed.cache_info().currsize >= 1
