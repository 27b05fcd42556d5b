"""Live blogs: entries posted, approved, edited and removed by the rules of each role; the page
that works without JavaScript, its updates fragment (cached, with an ETag, purged by the blog's
key), permalinks that find an entry however far it has scrolled, the archive switch when
coverage ends, the LIVE badge, and what crawlers read (JSON-LD read back with extruct, feeds
with feedparser, the news sitemap with an XML parser)."""

import re
from datetime import timedelta
from unittest import mock
from xml.etree import ElementTree

import extruct
import feedparser
import pytest
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from lxml import html

from articles import surrogates
from articles.models import Article, LiveEntry
from articles.services import live, workflow
from tests.accounts.factories import AuthorFactory
from tests.articles.factories import ArticleFactory
from tests.articles.test_views import (
    BANNER_QUERY,
    BEFORE_PICTURES,
    BODY_MEDIA_QUERY,
    CHOSEN_RELATED_QUERY,
)
from tests.pictures.factories import ImageFactory

pytestmark = pytest.mark.django_db

Entry = LiveEntry.Status
# A live blog's page reads its entries' count, its page of entries and its key events.
LIVE_QUERIES = 3


@pytest.fixture
def blog():
    return ArticleFactory(
        headline="Storm Agnes batters the coast",
        live_status=Article.LiveStatus.LIVE,
        live_summary="Gusts of 80 mph\n• Ferries cancelled",
        authors=[AuthorFactory(name="Rita Reporter")],
    )


def post(blog, by, text, **options):
    return live.post_entry(blog, by=by, body=f"<p>{text}</p>", **options)


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response, html.fromstring(response.content)


def entry_ids(tree) -> list[int]:
    return [int(n) for n in tree.xpath("//section[@data-live]//*[@data-entry]/@data-entry")]


# --- who may do what ------------------------------------------------------------------------


def test_a_reporters_entry_waits_for_an_editor_then_goes_live(client, blog, writer, editor):
    entry = post(blog, writer, "Trees down on the promenade")
    assert entry.status == Entry.PENDING and entry.posted_at is None
    _, tree = page(client, blog.get_absolute_url())
    assert "Trees down" not in tree.text_content()

    live.approve_entry(entry, by=editor)
    entry.refresh_from_db()
    assert entry.status == Entry.PUBLISHED and entry.approved_by == editor
    assert entry.posted_at is not None
    cache.clear()
    _, tree = page(client, blog.get_absolute_url())
    assert entry_ids(tree) == [entry.pk]
    assert "Trees down on the promenade" in tree.text_content()


def test_a_reporter_cannot_publish_or_approve_on_a_blog_that_needs_approval(blog, writer):
    with pytest.raises(PermissionDenied, match="approval"):
        post(blog, writer, "Published by a forged request", publish=True)
    assert not LiveEntry.objects.exists()
    waiting = post(blog, writer, "Waiting")
    with pytest.raises(PermissionDenied):
        live.approve_entry(waiting, by=writer)
    waiting.refresh_from_db()
    assert waiting.status == Entry.PENDING


def test_a_reporters_forged_post_to_publish_is_refused_by_the_admin(client, blog, writer):
    client.force_login(writer)
    url = reverse("admin:articles_article_live_post", args=[blog.pk])
    response = client.post(url, {"text": "Forged", "publish": "on"})
    assert response.status_code == 403
    assert not LiveEntry.objects.exists()
    # Without the forged field the same entry is taken, for approval.
    response = client.post(url, {"text": "Honest"})
    assert response.status_code == 302
    assert LiveEntry.objects.get().status == Entry.PENDING
    waiting = LiveEntry.objects.get()
    approve = reverse("admin:articles_article_live_entry", args=[blog.pk, waiting.pk, "approve"])
    assert client.post(approve).status_code == 403
    waiting.refresh_from_db()
    assert waiting.status == Entry.PENDING


def test_the_editor_desk_posts_an_entry_with_a_picture_at_once(client, blog, editor):
    picture = ImageFactory(renditions="key-only")
    client.force_login(editor)
    change = reverse("admin:articles_article_change", args=[blog.pk])
    desk = client.get(change).content.decode()
    assert 'id="live-desk"' in desk and "Post entry" in desk
    url = reverse("admin:articles_article_live_post", args=[blog.pk])
    data = {"title": "Pier closed", "text": "The pier is shut.\n\n> Stay away, said police.",
            "pictures": str(picture.pk), "key_event": "on", "publish": "on"}  # fmt: skip
    assert client.post(url, data).status_code == 302
    entry = LiveEntry.objects.get()
    assert entry.status == Entry.PUBLISHED and entry.key_event and entry.title == "Pier closed"
    assert entry.body == (
        "<p>The pier is shut.</p><blockquote><p>Stay away, said police.</p></blockquote>"
        f'<p class="picture">Picture {picture.pk}</p>'
    )
    assert entry.author is None  # the editor has no byline of their own
    listed = client.get(change).content.decode()
    assert "Pier closed" in listed and "Published" in listed


def test_on_a_blog_that_lets_them_reporters_publish_directly(blog, writer):
    blog.live_reporters_publish = True
    blog.save()
    entry = post(blog, writer, "Straight out", publish=True)
    assert entry.status == Entry.PUBLISHED
    assert live.can_change(writer, entry)


def test_nobody_posts_once_coverage_has_ended(blog, editor):
    workflow.set_live_status(blog, Article.LiveStatus.ENDED, by=editor)
    with pytest.raises(PermissionDenied, match="ended"):
        post(blog, editor, "Too late", publish=True)


def test_only_editors_start_or_end_live_coverage(blog, writer, editor):
    with pytest.raises(PermissionDenied, match="Only editors"):
        workflow.set_live_status(blog, Article.LiveStatus.ENDED, by=writer)
    story = ArticleFactory(draft=True, created_by=writer)
    story.live_status = Article.LiveStatus.LIVE
    with pytest.raises(PermissionDenied, match="Only editors"):
        workflow.save_article(story, by=writer)
    story.refresh_from_db()
    assert story.live_status == ""


def test_an_entry_naming_a_missing_or_undescribed_picture_is_refused(blog, editor):
    with pytest.raises(ValidationError, match="not in the library"):
        live.post_entry(blog, by=editor, body='<p class="picture">Picture 999999</p>')
    blank = ImageFactory(renditions="key-only", alt_text="")
    body = f'<p>Look.</p><p class="picture">Picture {blank.pk}</p>'
    with pytest.raises(ValidationError, match="Describe"):
        live.post_entry(blog, by=editor, body=body, publish=True)
    with pytest.raises(ValidationError, match="Write the entry"):
        live.post_entry(blog, by=editor, body="   ")
    assert not LiveEntry.objects.exists()


def test_an_edit_shows_updated_and_a_removal_leaves_a_note_at_its_permalink(
    client, blog, editor, writer
):
    entry = post(blog, editor, "Winds of 75 mph", publish=True)
    live.edit_entry(entry, by=editor, body="<p>Winds of 95 mph</p>")
    entry.refresh_from_db()
    assert entry.edited_at is not None
    _, tree = page(client, blog.get_absolute_url())
    (node,) = tree.xpath(f'//*[@id="entry-{entry.pk}"]')
    assert "95 mph" in node.text_content() and "Updated" in node.text_content()

    with pytest.raises(PermissionDenied):
        live.remove_entry(entry, by=writer)
    live.remove_entry(entry, by=editor)
    cache.clear()
    permalink = f"{blog.get_absolute_url()}live/{entry.pk}/"
    response = client.get(permalink)
    assert response.status_code == 302 and response["Location"].endswith(f"#entry-{entry.pk}")
    _, tree = page(client, blog.get_absolute_url())
    (node,) = tree.xpath(f'//*[@id="entry-{entry.pk}"]')
    assert node.text_content().strip() == "This update has been removed."
    assert "95 mph" not in tree.text_content()
    # A waiting entry nobody saw is simply deleted.
    waiting = post(blog, writer, "Never seen")
    assert live.remove_entry(waiting, by=writer) is None
    assert not LiveEntry.objects.filter(pk=waiting.pk).exists()


# --- the page -------------------------------------------------------------------------------


def test_the_page_shows_summary_key_events_and_entries_newest_first(client, blog, editor):
    first = post(blog, editor, "Red warning issued", publish=True, key_event=True)
    second = post(blog, editor, "Schools close early", publish=True)
    response, tree = page(client, blog.get_absolute_url())
    assert entry_ids(tree) == [second.pk, first.pk]
    summary = [li.text_content() for li in tree.xpath('//div[@class="live__summary"]//li')]
    assert summary == ["Gusts of 80 mph", "Ferries cancelled"]
    (key,) = tree.xpath('//nav[@class="live__key-events"]//a')
    assert key.get("href") == f"#entry-{first.pk}" and "Red warning" in key.text_content()
    (section,) = tree.xpath("//section[@data-live]")
    assert section.get("data-poll-seconds") == "10" and section.get("data-state") == "live"
    assert tree.xpath('//script[contains(@src, "js/live.js")]')
    assert tree.xpath('//p[@class="live__status"]/span[@class="badge-live"]')
    # Browsers keep a live page a few seconds only: a refresh shows what is new.
    assert "max-age=5" in response["Cache-Control"]


def test_a_permalink_opens_the_page_the_entry_is_on_now(client, blog, editor):
    now = timezone.now()
    entries = [
        LiveEntry.objects.create(article=blog, body=f"<p>Update {n}</p>",
                                 status=Entry.PUBLISHED, posted_at=now - timedelta(minutes=n))
        for n in range(45)
    ]  # fmt: skip
    on_page_three = entries[42]  # the 43rd newest: pages of 20
    response = client.get(f"{blog.get_absolute_url()}live/{on_page_three.pk}/")
    assert response.status_code == 302
    assert response["Location"] == f"{blog.get_absolute_url()}?page=3#entry-{on_page_three.pk}"
    _, tree = page(client, response["Location"])
    assert on_page_three.pk in entry_ids(tree)
    assert len(entry_ids(tree)) == 5
    # Not polling on an older page: new entries belong on the first.
    assert tree.xpath("//section[@data-live]/@data-poll-seconds") == ["0"]
    gone = client.get(f"{blog.get_absolute_url()}live/99999999/")
    assert gone.status_code == 302 and gone["Location"] == blog.get_absolute_url()


def test_the_page_reads_as_many_queries_whatever_its_number_of_entries(client, blog, editor):
    def queries() -> int:
        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            assert client.get(blog.get_absolute_url()).status_code == 200
        return len(captured)

    picture = ImageFactory(renditions="key-only")
    body = f'<p>One</p><p class="picture">Picture {picture.pk}</p>'
    live.post_entry(blog, by=editor, body=body, publish=True, key_event=True)
    few = queries()
    for n in range(60):
        body = f'<p>Update {n}</p><p class="picture">Picture {picture.pk}</p>'
        live.post_entry(blog, by=editor, body=body, publish=True, key_event=n % 7 == 0)
    many = queries()
    bound = BEFORE_PICTURES["article"] + BODY_MEDIA_QUERY["article"] + BANNER_QUERY["article"]
    assert few == many <= bound + CHOSEN_RELATED_QUERY["article"] + LIVE_QUERIES


# --- the updates fragment ---------------------------------------------------------------------


def test_the_fragment_is_cached_with_an_etag_and_changes_when_an_entry_is_posted(
    client, blog, editor, django_capture_on_commit_callbacks
):
    url = reverse("articles:live-updates", args=[blog.section.slug, blog.slug])
    first = post(blog, editor, "First", publish=True)
    response = client.get(url)
    assert response.status_code == 200
    assert "max-age=5" in response["Cache-Control"] and "public" in response["Cache-Control"]
    assert "s-maxage=30" in response["Cache-Control"]  # short at the edge too, though purged
    assert surrogates.live(blog.pk) in response["xkey"].split()
    etag = response["ETag"]
    assert client.get(url).headers.get("X-Page-Cache") == "hit"
    assert client.get(url, headers={"if-none-match": etag}).status_code == 304

    home = client.get("/")
    assert client.get("/").headers.get("X-Page-Cache") == "hit"
    with django_capture_on_commit_callbacks(execute=True):
        second = post(blog, editor, "Second", publish=True)
    fresh = client.get(url, headers={"if-none-match": etag})
    assert fresh.status_code == 200 and fresh["ETag"] != etag
    tree = html.fromstring(fresh.content)
    assert [int(n) for n in tree.xpath("//*[@data-entry]/@data-entry")] == [second.pk, first.pk]
    assert tree.xpath("//*[@data-live-updates]/@data-state") == ["live"]
    # An entry changes the blog's own pages, not the listings showing its card.
    assert client.get("/").headers.get("X-Page-Cache") == "hit"
    assert home.status_code == 200


def test_the_fragment_of_a_story_that_is_not_a_live_blog_is_not_found(client):
    story = ArticleFactory()
    url = reverse("articles:live-updates", args=[story.section.slug, story.slug])
    assert client.get(url).status_code == 404


# --- coverage ends ------------------------------------------------------------------------------


def test_when_coverage_ends_the_blog_becomes_an_archive_and_loses_its_badge(
    client, blog, editor, django_capture_on_commit_callbacks
):
    post(blog, editor, "Last update", publish=True)
    _, home = page(client, "/")
    assert home.xpath('//span[@class="badge-live"]')
    with django_capture_on_commit_callbacks(execute=True):
        workflow.set_live_status(blog, Article.LiveStatus.ENDED, by=editor)
    blog.refresh_from_db()
    assert blog.coverage_ended_at is not None
    _, tree = page(client, blog.get_absolute_url())
    (status,) = tree.xpath('//p[contains(@class, "live__status--ended")]')
    assert "Live coverage has ended" in status.text_content()
    assert tree.xpath("//section[@data-live]/@data-poll-seconds") == ["0"]
    assert not tree.xpath('//script[contains(@src, "js/live.js")]')
    assert "Last update" in tree.text_content()
    _, home = page(client, "/")
    assert not home.xpath('//span[@class="badge-live"]')
    fragment = client.get(reverse("articles:live-updates", args=[blog.section.slug, blog.slug]))
    assert html.fromstring(fragment.content).xpath("//*[@data-live-updates]/@data-state") == [
        "ended"
    ]


# --- what crawlers read -----------------------------------------------------------------------


def test_the_page_describes_itself_as_a_live_blog_posting(client, blog, editor):
    entries = [post(blog, editor, f"Update {n}", publish=True, title=f"T{n}") for n in range(3)]
    response = client.get(blog.get_absolute_url())
    (data,) = extruct.extract(
        response.content.decode(), base_url="http://testserver/", syntaxes=["json-ld"]
    )["json-ld"]
    assert data["@type"] == "LiveBlogPosting"
    assert data["coverageStartTime"] == blog.coverage_started_at.isoformat()
    assert "coverageEndTime" not in data
    updates = data["liveBlogUpdate"]
    assert [u["headline"] for u in updates] == ["T2", "T1", "T0"]
    assert updates[0]["url"] == f"http://testserver{blog.get_absolute_url()}live/{entries[2].pk}/"
    assert updates[0]["@type"] == "BlogPosting" and updates[0]["articleBody"] == "Update 2"
    workflow.set_live_status(blog, Article.LiveStatus.ENDED, by=editor)
    cache.clear()
    (data,) = extruct.extract(
        client.get(blog.get_absolute_url()).content.decode(),
        base_url="http://testserver/",
        syntaxes=["json-ld"],
    )["json-ld"]
    blog.refresh_from_db()
    assert data["coverageEndTime"] == blog.coverage_ended_at.isoformat()


def test_feeds_and_the_news_sitemap_mark_a_live_blog_while_it_is_live(client, blog, editor):
    blog.published_at = timezone.now() - timedelta(days=5)  # older than the news window
    blog.save()
    feed = feedparser.parse(client.get(reverse("articles:feed-rss")).content)
    assert f"LIVE: {blog.headline}" in [item.title for item in feed.entries]
    news = ElementTree.fromstring(client.get(reverse("articles:sitemap-news")).content)
    spaces = {"news": "http://www.google.com/schemas/sitemap-news/0.9"}
    titles = [t.text for t in news.iterfind(".//news:title", spaces)]
    assert titles == [f"LIVE: {blog.headline}"]
    workflow.set_live_status(blog, Article.LiveStatus.ENDED, by=editor)
    cache.clear()
    feed = feedparser.parse(client.get(reverse("articles:feed-rss")).content)
    assert blog.headline in [item.title for item in feed.entries]
    news = ElementTree.fromstring(client.get(reverse("articles:sitemap-news")).content)
    assert list(news.iterfind(".//news:title", spaces)) == []  # no longer news: five days old


def test_an_entry_purges_only_the_blogs_entries_key(
    blog, editor, django_capture_on_commit_callbacks
):
    with mock.patch("articles.signals.purge") as purged:
        with django_capture_on_commit_callbacks(execute=True):
            entry = post(blog, editor, "Purge me", publish=True)
    assert purged.call_args_list == [mock.call({surrogates.live(blog.pk)}, soft=True)]
    with mock.patch("articles.signals.purge") as purged:
        live.remove_entry(entry, by=editor)
    assert purged.call_args_list == [mock.call({surrogates.live(blog.pk)}, soft=False)]


def test_the_polling_interval_is_a_setting(client, blog, settings):
    settings.NEWSROOM_LIVE_POLL_SECONDS = 2
    _, tree = page(client, blog.get_absolute_url())
    assert tree.xpath("//section[@data-live]/@data-poll-seconds") == ["2"]
    assert re.search(r"live/updates/$", tree.xpath("//section[@data-live]/@data-updates-url")[0])


def test_the_fragment_reads_as_many_queries_whatever_its_number_of_entries(client, blog, editor):
    url = reverse("articles:live-updates", args=[blog.section.slug, blog.slug])
    picture = ImageFactory(renditions="key-only")

    def queries() -> int:
        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    body = f'<p>One</p><p class="picture">Picture {picture.pk}</p>'
    live.post_entry(blog, by=editor, body=body, publish=True)
    few = queries()
    for n in range(40):
        live.post_entry(blog, by=editor, body=f"<p>{n}</p>{body}", publish=True)
    # The blog, its newest entries, their pictures; and, the cache being empty, the page
    # cache's look at the coming scheduled changes (kept in the cache after).
    assert few == queries() == 4


def test_a_reporter_sees_the_desk_without_publish_and_the_story_tools_still_work(
    client, blog, writer, editor
):
    client.force_login(writer)
    desk = client.get(reverse("admin:articles_article_change", args=[blog.pk]))
    text = desk.content.decode()
    assert desk.status_code == 200 and 'id="live-desk"' in text
    assert "Publish now" not in text and "go to an editor for approval" in text
    post(blog, writer, "From the desk")
    client.force_login(editor)
    preview = client.get(reverse("admin:articles_article_preview", args=[blog.pk]))
    assert preview.status_code == 200  # the preview shows only what readers would see
    assert "From the desk" not in preview.content.decode()
    workflow.set_live_status(blog, Article.LiveStatus.ENDED, by=editor)
    reasons = list(blog.history.values_list("history_change_reason", flat=True)[:1])
    assert reasons == ["Live coverage ended"]


def test_the_desk_lists_entries_nobody_posted_through_it(client, blog, editor):
    """Rows made without a poster (the demo's, an import's) are listed too."""
    LiveEntry.objects.create(article=blog, body="<p>From a script</p>", status=Entry.PUBLISHED,
                             posted_at=timezone.now())  # fmt: skip
    client.force_login(editor)
    page = client.get(reverse("admin:articles_article_change", args=[blog.pk]))
    assert page.status_code == 200 and "From a script" in page.content.decode()
