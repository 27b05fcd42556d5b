"""The whole-page cache (`newsroom.cache`): what it serves, for how long, to whom, and that any
change to what readers may see empties it, on the local memory cache and on Redis."""

import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCacheClient
from django.http import HttpResponse
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_max_age
from django.utils.http import http_date, parse_http_date
from django_tasks_db.models import DBTaskResult

from articles.models import Article, Correction
from articles.services import workflow
from newsroom import cache as page_cache
from tests.accounts.factories import AuthorFactory, UserFactory
from tests.articles.factories import ArticleFactory

pytestmark = pytest.mark.django_db

PAGES = ["home", "section", "tag", "author", "story", "feed", "section-feed", "search", "sitemap"]


@pytest.fixture
def author():
    return AuthorFactory(name="Maggie Thornbury")


@pytest.fixture
def story(author):
    return ArticleFactory(headline="Seagulls steal chips", authors=[author], tags=["seagulls"])


def url_of(page, story) -> str:
    return {
        "home": "/",
        "section": story.section.get_absolute_url(),
        "tag": reverse("articles:tag", args=["seagulls"]),
        "author": story.authors.get().get_absolute_url(),
        "story": story.get_absolute_url(),
        "feed": reverse("articles:feed-rss"),
        "section-feed": reverse("articles:section-feed-atom", args=[story.section.slug]),
        "search": reverse("articles:search") + "?q=seagulls",
        "sitemap": "/sitemap-articles.xml",
    }[page]


def is_hit(response) -> bool:
    return response.get("X-Page-Cache") == "hit"


# Serving from the cache --------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_a_second_anonymous_request_is_served_from_the_cache_without_queries(
    client, story, page, django_assert_num_queries
):
    url = url_of(page, story)
    first = client.get(url)
    assert first.status_code == 200 and not is_hit(first)
    with django_assert_num_queries(0):
        second = client.get(url)
    assert second.status_code == 200 and is_hit(second)
    assert second.content == first.content
    assert second["Content-Type"] == first["Content-Type"]


@pytest.mark.parametrize("page", PAGES)
def test_public_pages_may_be_kept_publicly_for_a_minute(client, story, page):
    url = url_of(page, story)
    for response in (client.get(url), client.get(url)):  # made, then replayed
        cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
        assert "public" in cache_control
        assert "private" not in cache_control and "no-store" not in cache_control
        assert 0 < get_max_age(response) <= page_cache.DEFAULT_MAX_AGE


def test_a_replayed_page_is_kept_only_for_the_time_it_has_left(client, story, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    assert get_max_age(client.get("/")) == page_cache.DEFAULT_MAX_AGE
    time_machine.shift(timedelta(seconds=20))
    replay = client.get("/")
    assert is_hit(replay)
    assert get_max_age(replay) == page_cache.DEFAULT_MAX_AGE - 20


def test_a_page_past_its_time_is_made_afresh(client, story, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    client.get("/")
    time_machine.shift(timedelta(seconds=page_cache.DEFAULT_MAX_AGE + 1))
    assert not is_hit(client.get("/"))


def test_404s_are_not_cached(client):
    assert client.get("/no-such-section/").status_code == 404
    response = client.get("/no-such-section/")
    assert response.status_code == 404 and not is_hit(response)


# Conditional requests ----------------------------------------------------------------------


@pytest.mark.parametrize("page", ["home", "section", "tag", "author", "story", "feed"])
def test_pages_carry_validators_and_answer_conditional_requests_with_304(client, story, page):
    url = url_of(page, story)
    response = client.get(url)
    etag, last_modified = response["ETag"], response["Last-Modified"]
    assert etag.startswith('"') and etag.endswith('"')
    for headers in ({"If-None-Match": etag}, {"If-Modified-Since": last_modified}):
        not_modified = client.get(url, headers=headers)
        assert not_modified.status_code == 304, headers
        assert not_modified.content == b""


@pytest.mark.parametrize("page", ["home", "story", "feed"])
def test_a_page_made_afresh_without_changes_is_still_not_modified(
    client, story, page, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    url = url_of(page, story)
    response = client.get(url)
    time_machine.shift(timedelta(seconds=page_cache.DEFAULT_MAX_AGE + 1))  # the copy expired
    for headers in (
        {"If-None-Match": response["ETag"]},
        {"If-Modified-Since": response["Last-Modified"]},
    ):
        assert client.get(url, headers=headers).status_code == 304, headers


def test_last_modified_is_never_before_the_story_was_saved_nor_in_the_future(client, story):
    response = client.get(story.get_absolute_url())
    stated = parse_http_date(response["Last-Modified"])
    assert int(story.updated_at.timestamp()) <= stated <= time.time()


def test_a_stale_validator_gets_the_whole_page(client, story):
    response = client.get("/", headers={"If-None-Match": '"something-else"'})
    assert response.status_code == 200
    before = (story.updated_at - timedelta(days=1)).timestamp()
    response = client.get("/", headers={"If-Modified-Since": http_date(before)})
    assert response.status_code == 200


# Invalidation ------------------------------------------------------------------------------


def page_texts(client, story, pages) -> dict[str, tuple[int, str, bool]]:
    results = {}
    for page in pages:
        response = client.get(url_of(page, story))
        results[page] = (response.status_code, response.content.decode(), is_hit(response))
    return results


INVALIDATED = ["home", "section", "tag", "author", "story", "feed", "section-feed", "sitemap"]


def publish(story):
    story.status = Article.Status.PUBLISHED
    story.published_at = timezone.now() - timedelta(minutes=1)
    story.save()


def change_headline(story):
    story.headline = "Gulls return the chips"
    story.save()


def withdraw(story):
    story.status = Article.Status.DRAFT
    story.save()


CHANGES = {
    "publish": (publish, "draft"),
    "change the headline": (change_headline, "published"),
    "withdraw": (withdraw, "published"),
}


def run_invalidation(client, author, change_name, capture):
    change, starting_status = CHANGES[change_name]
    # Another story keeps every listing and feed non-empty whatever happens to this one.
    other = ArticleFactory(headline="Other news", authors=[author], tags=["seagulls"])
    story = ArticleFactory(
        headline="Seagulls steal chips",
        authors=[author],
        tags=["seagulls"],
        **({"draft": True} if starting_status == "draft" else {}),
    )
    page_texts(client, story, INVALIDATED)
    before = page_texts(client, story, INVALIDATED)
    for page, (status, _, hit) in before.items():
        assert hit or status != 200, f"{page} was not cached, so the test would prove nothing"

    with capture(execute=True):
        change(story)

    after = page_texts(client, story, INVALIDATED)
    for page, (status, text, hit) in after.items():
        assert not hit, f"{page} was served from the cache after the change"
        # The sitemap names stories by address, every other page by headline.
        shown = story.get_absolute_url() if page == "sitemap" else "Seagulls steal chips"
        if change_name == "publish":
            assert status == 200 and shown in text, page
        elif change_name == "change the headline":
            assert status == 200, page
            if page != "sitemap":
                assert "Gulls return the chips" in text and shown not in text, page
        elif page == "story":
            assert status == 404
        else:
            assert status == 200 and shown not in text, page
            assert other.get_absolute_url() in text, page


@pytest.mark.parametrize("change_name", CHANGES)
def test_changing_a_story_refreshes_every_page_that_shows_it(
    client, author, change_name, django_capture_on_commit_callbacks
):
    run_invalidation(client, author, change_name, django_capture_on_commit_callbacks)


def test_each_committed_change_refreshes_the_pages_again(
    client, story, django_capture_on_commit_callbacks
):
    for headline in ("Gulls return the chips", "Gulls apologise"):
        client.get("/")
        assert is_hit(client.get("/"))
        with django_capture_on_commit_callbacks(execute=True):
            story.headline = headline
            story.save()
        response = client.get("/")
        assert not is_hit(response) and headline in response.content.decode()


def test_nothing_is_refreshed_before_the_change_commits(client, story):
    client.get("/")
    story.headline = "Gulls return the chips"
    story.save()  # inside the test's transaction, which never commits
    response = client.get("/")
    assert is_hit(response) and "Seagulls steal chips" in response.content.decode()


def test_a_correction_refreshes_the_story_page(client, story, django_capture_on_commit_callbacks):
    client.get(story.get_absolute_url())
    with django_capture_on_commit_callbacks(execute=True):
        Correction.objects.create(article=story, text="The gulls were terns.")
    response = client.get(story.get_absolute_url())
    assert not is_hit(response) and "The gulls were terns." in response.content.decode()


def test_a_correction_is_not_hidden_by_an_old_last_modified_date(
    client, story, django_capture_on_commit_callbacks, time_machine
):
    """A cache in front of the site that revalidates with If-Modified-Since alone must not be
    told "not modified" about a page that now carries a correction."""
    time_machine.move_to(timezone.now(), tick=False)
    first = client.get(story.get_absolute_url())
    time_machine.shift(timedelta(minutes=5))  # HTTP dates count whole seconds
    with django_capture_on_commit_callbacks(execute=True):
        Correction.objects.create(article=story, text="The gulls were terns.")
    response = client.get(
        story.get_absolute_url(), headers={"If-Modified-Since": first["Last-Modified"]}
    )
    assert response.status_code == 200
    assert "The gulls were terns." in response.content.decode()


def test_a_withdrawn_story_is_not_kept_by_an_old_last_modified_date(
    client, author, django_capture_on_commit_callbacks, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    ArticleFactory(headline="Older news", published_at=timezone.now() - timedelta(days=1))
    story = ArticleFactory(headline="Seagulls steal chips", authors=[author])
    first = client.get("/")
    time_machine.shift(timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        withdraw(story)
    response = client.get("/", headers={"If-Modified-Since": first["Last-Modified"]})
    assert response.status_code == 200
    assert "Seagulls steal chips" not in response.content.decode()


# Scheduled changes -------------------------------------------------------------------------


def test_max_age_never_outlasts_the_next_scheduled_publication(client, story, time_machine):
    start = timezone.now().replace(microsecond=0)
    time_machine.move_to(start, tick=False)
    scheduled = ArticleFactory(
        headline="The embargoed scoop", published_at=start + timedelta(seconds=25)
    )

    first = client.get("/")
    assert "The embargoed scoop" not in first.content.decode()
    assert 0 < get_max_age(first) <= 25

    time_machine.move_to(start + timedelta(seconds=10), tick=False)
    replay = client.get("/")
    assert is_hit(replay) and get_max_age(replay) <= 15

    time_machine.move_to(scheduled.published_at + timedelta(seconds=1), tick=False)
    response = client.get("/")
    assert not is_hit(response)
    assert "The embargoed scoop" in response.content.decode()
    assert client.get(scheduled.get_absolute_url()).status_code == 200


def test_a_scheduled_story_is_not_hidden_by_an_old_last_modified_date(client, story, time_machine):
    start = timezone.now().replace(microsecond=0)
    time_machine.move_to(start, tick=False)
    # Saved long before it appears: its own timestamps say nothing about when it appeared.
    scheduled = ArticleFactory(
        headline="The embargoed scoop", published_at=start + timedelta(hours=1)
    )
    first = client.get("/")
    time_machine.move_to(scheduled.published_at + timedelta(seconds=1), tick=False)
    response = client.get("/", headers={"If-Modified-Since": first["Last-Modified"]})
    assert response.status_code == 200
    assert "The embargoed scoop" in response.content.decode()


def test_after_a_scheduled_publication_pages_are_cached_again(client, story, time_machine):
    start = timezone.now().replace(microsecond=0)
    time_machine.move_to(start, tick=False)
    ArticleFactory(headline="The embargoed scoop", published_at=start + timedelta(seconds=25))
    later = ArticleFactory(headline="The next scoop", published_at=start + timedelta(hours=2))
    client.get("/")
    time_machine.move_to(start + timedelta(seconds=30), tick=False)
    first = client.get("/")
    assert "The embargoed scoop" in first.content.decode()
    # The next change is two hours away: a full minute again, and cached.
    assert get_max_age(first) == page_cache.DEFAULT_MAX_AGE
    assert is_hit(client.get("/"))
    assert later.headline not in first.content.decode()


def test_max_age_never_outlasts_a_breaking_banner(client, story, time_machine):
    start = timezone.now().replace(microsecond=0)
    time_machine.move_to(start, tick=False)
    ArticleFactory(
        headline="Pier on fire", is_breaking=True, breaking_until=start + timedelta(seconds=40)
    )
    first = client.get("/")
    assert 'class="breaking"' in first.content.decode()
    assert 0 < get_max_age(first) <= 40
    time_machine.move_to(start + timedelta(seconds=41), tick=False)
    assert 'class="breaking"' not in client.get("/").content.decode()


# Who and what is never cached --------------------------------------------------------------


def test_staff_with_a_session_always_get_a_fresh_page(client, story):
    anonymous = client.get("/")
    assert client.get("/").get("X-Page-Cache") == "hit"
    client.force_login(UserFactory(is_staff=True))
    for _ in range(2):
        response = client.get("/")
        assert response.status_code == 200 and not is_hit(response)
    client.logout()
    # Nothing the staff member was shown was stored for readers either.
    assert client.get("/").content == anonymous.content


def test_a_page_made_for_a_session_is_not_stored_for_readers(client, story):
    staff = UserFactory(is_staff=True)
    client.force_login(staff)
    client.get("/")
    client.get(story.get_absolute_url())
    client.logout()
    assert not is_hit(client.get("/"))
    assert not is_hit(client.get(story.get_absolute_url()))


def test_admin_pages_are_never_cached(admin_client):
    for url in ("/admin/", "/admin/articles/article/"):
        for _ in range(2):
            response = admin_client.get(url)
            assert response.status_code == 200 and not is_hit(response)
            assert "public" not in response.get("Cache-Control", "")


def test_the_admin_login_page_is_never_cached_even_without_a_session(client):
    for _ in range(2):
        response = client.get("/admin/login/")
        assert response.status_code == 200 and not is_hit(response)
        assert "public" not in response.get("Cache-Control", "")


def test_posts_are_neither_answered_from_nor_stored_in_the_cache(client, story):
    assert not is_hit(client.get("/"))
    assert is_hit(client.get("/"))
    posted = client.post("/", {"anything": "1"})
    assert not is_hit(posted)
    assert "public" not in posted.get("Cache-Control", "")
    cache.clear()
    client.post("/", {"anything": "1"})
    assert not is_hit(client.get("/"))


def test_pages_for_different_query_strings_are_cached_separately(client, story):
    ArticleFactory(headline="Pelican mayhem")
    seagulls = client.get(reverse("articles:search"), {"q": "seagulls"})
    pelicans = client.get(reverse("articles:search"), {"q": "pelican"})
    assert not is_hit(pelicans)
    assert "Pelican mayhem" in pelicans.content.decode()
    assert "Pelican mayhem" not in seagulls.content.decode()


# Redis -------------------------------------------------------------------------------------

REDIS_URL = os.environ.get("REDIS_URL")


@pytest.fixture
def redis_cache(redis_default_cache):
    return redis_default_cache


@pytest.mark.parametrize("change_name", CHANGES)
def test_on_redis_changing_a_story_refreshes_every_page_that_shows_it(
    redis_cache, client, author, change_name, django_capture_on_commit_callbacks
):
    assert isinstance(cache._cache, RedisCacheClient)
    run_invalidation(client, author, change_name, django_capture_on_commit_callbacks)
    # The pages really went through Redis, under this test's prefix.
    assert list(cache._cache.get_client().scan_iter(match=f"{redis_cache}:*"))


def test_on_redis_a_second_request_is_served_without_queries(
    redis_cache, client, story, django_assert_num_queries
):
    client.get(story.get_absolute_url())
    with django_assert_num_queries(0):
        assert is_hit(client.get(story.get_absolute_url()))


def test_on_redis_add_many_adds_only_the_keys_not_there_in_one_round_trip(redis_cache):
    cache.set("kept", "old")
    client = cache._cache.get_client(write=True)
    assert cache._cache.get_client(write=True) is client  # one client, not one a call
    cache.add_many({"kept": "new", "added": "first"}, timeout=60)
    assert cache.get_many(["kept", "added"]) == {"kept": "old", "added": "first"}
    assert 0 < client.ttl(cache.make_key("added")) <= 60


def test_pages_made_for_https_and_for_http_are_kept_apart(story, settings):
    # Behind a TLS-terminating proxy that says so, pages carry https links; a reader on plain
    # http (or a load balancer's probe) must not be given those, nor the reverse. The proxy
    # passes the same Host either way.
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    client = Client(HTTP_HOST="testserver")
    url = story.get_absolute_url()
    client.get(url)
    assert client.get(url)["X-Page-Cache"] == "hit"  # the plain http page is cached

    secure = client.get(url, HTTP_X_FORWARDED_PROTO="https")

    assert not secure.has_header("X-Page-Cache")  # made afresh for https, not the http copy
    # The structured data names the story's address as the request came in.
    assert f'"url":"https://testserver{url}"' in secure.content.decode()
    assert client.get(url, HTTP_X_FORWARDED_PROTO="https")["X-Page-Cache"] == "hit"
    plain = client.get(url)
    assert plain["X-Page-Cache"] == "hit" and "https://testserver" not in plain.content.decode()


def dead_redis_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"  # nothing listens there now


def test_a_withdrawal_made_where_redis_cannot_be_reached_is_retried_until_it_lands(
    redis_cache, client, story, settings, django_capture_on_commit_callbacks
):
    # The page is cached in Redis; then the process that withdraws the story cannot see Redis
    # (a network blip): without a retry, the withdrawn story would be served again from Redis
    # once it is reachable, for as long as its copy lives.
    url = story.get_absolute_url()
    client.get(url)
    assert is_hit(client.get(url))
    shared = settings.CACHES["default"]
    editor = UserFactory(editor=True)
    blind = {**shared, "LOCATION": dead_redis_url(), "OPTIONS": {"retry_after": 60}}
    with override_settings(CACHES={"default": blind}):
        with django_capture_on_commit_callbacks(execute=True):
            workflow.withdraw_article(story, by=editor)
    queued = DBTaskResult.objects.filter(task_path__endswith="retry_invalidation_task")
    assert queued.count() == 1  # kept in the database, not in the process that failed

    assert is_hit(client.get(url))  # Redis is back: its stale copy is still there...
    job = queued.get()  # ...until a worker runs the retry
    assert job.task.call(*job.args_kwargs["args"], **job.args_kwargs["kwargs"]) is True
    assert client.get(url).status_code == 410


def test_the_retry_waits_and_tries_again_while_redis_stays_unreachable(
    settings, django_capture_on_commit_callbacks
):
    settings.CACHES = {
        "default": {
            "BACKEND": "newsroom.cache_backends.ResilientRedisCache",
            "LOCATION": dead_redis_url(),
            "OPTIONS": {"retry_after": 60},
        }
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert page_cache.retry_invalidation_task.call(attempt=3) is False
    [again] = DBTaskResult.objects.filter(task_path__endswith="retry_invalidation_task")
    assert again.args_kwargs["kwargs"] == {"attempt": 4}
    wait = (again.run_after - timezone.now()).total_seconds()
    assert 50 <= wait <= 60  # the third retry waits a minute


# Stampedes ---------------------------------------------------------------------------------


def test_a_purged_hot_page_is_made_once_while_the_other_readers_wait_for_it(monkeypatch):
    """After a purge, sixteen readers at once: one request renders the page, the others wait
    for its copy (a lock in the cache) instead of all rendering it."""
    monkeypatch.setattr(page_cache, "seconds_until_next_change", lambda keys, upcoming=None: None)
    renders = []

    @page_cache.public_page(keys=["hot"])
    def view(request):
        renders.append(request)
        time.sleep(0.3)
        return HttpResponse(f"version {len(renders)}")

    middleware = page_cache.PublicPageCacheMiddleware(view)
    factory = RequestFactory()
    middleware(factory.get("/hot/"))
    assert middleware(factory.get("/hot/"))["X-Page-Cache"] == "hit"
    page_cache.purge_now({"hot"})
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda _: middleware(factory.get("/hot/")), range(16)))
    assert len(renders) == 2  # the first copy, and one after the purge
    assert {answer.content for answer in answers} == {b"version 2"}


def test_a_purge_of_other_keys_leaves_the_page_cached(monkeypatch):
    monkeypatch.setattr(page_cache, "seconds_until_next_change", lambda keys, upcoming=None: None)

    @page_cache.public_page(keys=["a1"])
    def view(request):
        return HttpResponse("story")

    middleware = page_cache.PublicPageCacheMiddleware(view)
    middleware(RequestFactory().get("/story/"))
    page_cache.purge_now({"a2", "home"})
    assert middleware(RequestFactory().get("/story/"))["X-Page-Cache"] == "hit"
    page_cache.purge_now({"a1"})
    assert not middleware(RequestFactory().get("/story/")).has_header("X-Page-Cache")


def test_a_page_made_while_its_story_is_saved_again_is_not_kept_as_fresh(any_cache, monkeypatch):
    """A render reads the story; before it is stored, a second save commits and purges the page.
    The copy holds the old text: it must not be taken for the page after that purge."""
    monkeypatch.setattr(page_cache, "seconds_until_next_change", lambda keys, upcoming=None: None)
    story = {"text": "first draft"}

    @page_cache.public_page(keys=["a1"])
    def view(request):
        text = story["text"]
        if text == "first draft":
            story["text"] = "second draft"  # the second save commits mid-render...
            page_cache.purge_now({"a1"})  # ...and its purge goes out
        return HttpResponse(text)

    middleware = page_cache.PublicPageCacheMiddleware(view)
    assert middleware(RequestFactory().get("/story/")).content == b"first draft"
    again = middleware(RequestFactory().get("/story/"))
    assert again.content == b"second draft" and not again.has_header("X-Page-Cache")
    assert middleware(RequestFactory().get("/story/"))["X-Page-Cache"] == "hit"


def test_on_redis_a_hit_on_a_page_of_a_hundred_keys_is_one_round_trip(
    redis_cache, monkeypatch, request
):
    monkeypatch.setattr(page_cache, "seconds_until_next_change", lambda keys, upcoming=None: None)
    keys = [f"a{n}" for n in range(100)]

    @page_cache.public_page(keys=keys)
    def view(request):
        return HttpResponse("front page")

    middleware = page_cache.PublicPageCacheMiddleware(view)
    middleware(RequestFactory().get("/"))
    commands = request.getfixturevalue("redis_commands")  # from here on
    assert middleware(RequestFactory().get("/"))["X-Page-Cache"] == "hit"
    assert commands == ["EVALSHA"]
    page_cache.purge_now({"a99"})
    commands.clear()
    assert not middleware(RequestFactory().get("/")).has_header("X-Page-Cache")
    assert commands[0] == "EVALSHA"  # the same read finds it stale


def test_on_redis_a_page_not_cached_is_two_round_trips_and_stored_fresh(
    redis_cache, client, story, request
):
    """The read that finds the page missing also reads what every render reads first (the
    coming changes, when content last changed, the navigation and banner); one script then
    stores the page under its keys' versions, making up those it is the first to carry."""
    page = story.get_absolute_url()
    client.get(page + "?first")  # the navigation and banner, kept
    commands = request.getfixturevalue("redis_commands")
    response = client.get(page + "?second")
    assert not is_hit(response) and commands == ["EVALSHA", "EVALSHA"]
    commands.clear()
    assert is_hit(client.get(page + "?second")) and commands == ["EVALSHA"]
    keys = response[settings.NEWSROOM_SURROGATE_KEY_HEADER].split()
    versions = cache.get_many([page_cache.KEY_VERSION.format(key=key) for key in keys])
    assert len(versions) == len(keys)  # each key has a version, the page's own ones new
    ttl = cache._cache.get_client().ttl(cache.make_key(f"kv:a{story.pk}"))
    assert 0 < ttl <= page_cache.KEY_VERSION_SECONDS


def test_on_redis_a_page_made_while_a_purge_went_out_is_stored_stale(redis_cache, monkeypatch):
    monkeypatch.setattr(page_cache, "seconds_until_next_change", lambda keys, upcoming=None: None)

    @page_cache.public_page(keys=["a1"])
    def view(request):
        page_cache.purge_now({"b2"})  # another story's purge, during the render
        return HttpResponse("page")

    middleware, request = page_cache.PublicPageCacheMiddleware(view), RequestFactory().get("/")
    middleware(request)
    stored = cache._cache.get_client().hgetall(cache.make_key(middleware._key(request)))
    assert list(stored) == [b"_page"]  # kept for the lock, but under no version: never fresh
    assert not middleware(RequestFactory().get("/")).has_header("X-Page-Cache")
