"""Every public URL pattern, fuzzed: generated path parts (within and beyond what each
converter matches), query strings and form bodies, sent as GET, HEAD and POST. Whatever comes
in, the answer is a page or a clean 4xx: never a 500, never a traceback, never a hang (each
example has a deadline).

The patterns are read from the URL configuration itself, so a new public page is fuzzed the
day it is added, and a test fails if a pattern appears that this module cannot fill in."""

import re
import string
from datetime import timedelta
from urllib.parse import quote, urlencode

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from taggit.models import Tag

from accounts.models import Author
from articles.models import Article, Section
from tests.accounts.factories import AuthorFactory
from tests.articles.factories import ArticleFactory

pytestmark = pytest.mark.django_db

# Text a hostile or broken client might send: any Unicode (controls, surrogate-free), percent
# signs, separators, very long runs.
NASTY = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=string.printable, max_size=40),
    st.sampled_from(
        ["", "0", "-1", "%00", "..", "../../etc/passwd", "%", "%%", "a" * 2000, "🔥", "\x00", "'\""]
    ),
)
INTS = st.one_of(
    st.integers(min_value=0, max_value=10**25),
    st.sampled_from([0, 1, 12, 13, 31, 32, 9999, 10000, 99999999999999999999]),
)
SLUGS = st.one_of(st.from_regex(r"[-a-zA-Z0-9_]{1,60}", fullmatch=True), st.text(max_size=30))
QUERY_KEYS = st.sampled_from(["page", "q", "_", "utm_source", "a[]", "page[]", ""])
QUERIES = st.lists(st.tuples(QUERY_KEYS, NASTY), max_size=4)
BODIES = st.dictionaries(
    st.sampled_from(["email", "newsletters", "website", "next", "List-Unsubscribe", "x"]),
    st.one_of(NASTY, st.lists(NASTY, max_size=3)),
    max_size=5,
)
PART = {"int": INTS, "slug": SLUGS, "uslug": SLUGS, "str": NASTY}
CONVERTER = re.compile(r"<(?:(?P<kind>\w+):)?(?P<name>\w+)>")
SKIPPED = ("admin/",)  # staff pages: not public, and behind a login


def public_routes() -> list[str]:
    routes = []

    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if route.startswith(SKIPPED):
                continue
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                routes.append(route)

    walk(get_resolver().url_patterns)
    return routes


def path_strategy(route: str, known: tuple[str, ...] = ("news",)):
    """Paths for `route`: each converter filled with values of its kind (some of which it will
    not match, which must be a 404, not an error), or with slugs that exist (`known`), so real
    pages are reached too."""
    if route.startswith("^"):  # the one regex route: media files
        return st.builds(lambda rest: "/media/" + quote(rest), NASTY)
    pieces = CONVERTER.split(route)
    # split gives: literal, kind, name, literal, kind, name, ..., literal
    literals, kinds = pieces[0::3], pieces[1::3]
    unknown = {kind for kind in kinds if (kind or "str") not in PART}
    assert not unknown, f"no strategy for converter(s) {unknown} in {route!r}"
    real = st.sampled_from(known)
    parts = [
        st.one_of(PART[kind], real) if kind in ("slug", "uslug") else PART[kind or "str"]
        for kind in kinds
    ]

    def build(values):
        out = literals[0]
        for value, literal in zip(values, literals[1:], strict=True):
            out += quote(str(value), safe="") + literal
        return "/" + out

    return st.tuples(*parts).map(build)


@pytest.fixture
def newsroom():
    author = AuthorFactory(name="Fuzzy Reporter")
    stories = [ArticleFactory(authors=[author], tags=["pier", "🔥"]) for _ in range(3)]
    ArticleFactory(scheduled=True)
    ArticleFactory(withdrawn=True, published_at=stories[0].published_at - timedelta(days=1))
    return stories


def check(response, label):
    assert response.status_code < 500, label
    body = response.content.decode("utf-8", "replace") if response.content else ""
    assert "Traceback" not in body and "Exception Value" not in body, label


def test_every_public_route_can_be_fuzzed():
    routes = public_routes()
    assert len(routes) >= 30
    for route in routes:
        path_strategy(route)  # raises for a converter without a strategy


@pytest.mark.parametrize("route", public_routes())
def test_no_request_to_a_public_route_is_a_server_error(newsroom, route):
    client = Client(raise_request_exception=False)
    known = tuple(
        {
            *Article.objects.values_list("slug", flat=True),
            *Section.objects.values_list("slug", flat=True),
            *Tag.objects.values_list("slug", flat=True),
            *Author.objects.values_list("slug", flat=True),
        }
    )

    @settings(
        max_examples=25,
        deadline=timedelta(seconds=5),
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        path=path_strategy(route, known), query=QUERIES, body=BODIES, method=st.sampled_from("GPH")
    )
    def fuzz(path, query, body, method):
        url = path + ("?" + urlencode(query, doseq=True) if query else "")
        if method == "G":
            response = client.get(url)
        elif method == "H":
            response = client.head(url)
        else:
            response = client.post(url, body)
        check(response, f"{method} {url}")

    fuzz()
