"""The editorial workflow through its services, and what readers see at each step: draft,
review, published (now or scheduled), unpublished, withdrawn and restored; who moved the story
and when; alt text before publication; "Updated" only for substantive changes; lost updates."""

from datetime import timedelta
from xml.etree import ElementTree

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from articles.models import Article, Section, Transition
from articles.services import workflow
from tests.articles.factories import ArticleFactory

pytestmark = pytest.mark.django_db

Status = Article.Status
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
LEGAL_WORDING = "This story has been removed for legal reasons."


@pytest.fixture
def settled(django_capture_on_commit_callbacks):
    """Run a change as a committed transaction would: its after-commit callbacks (the page
    cache's invalidation) run, as they do in production."""

    def run(change, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return change(*args, **kwargs)

    return run


def where_readers_find(client, article) -> dict[str, bool]:
    """For each place a reader (or a robot) might meet the story: is it there?"""
    url = article.get_absolute_url()
    section = article.section.slug

    def page_links(path):
        response = client.get(path)
        assert response.status_code == 200, path
        return f'href="{url}"' in response.content.decode()

    def feed_links(path):
        channel = ElementTree.fromstring(client.get(path).content).find("channel")
        return any(item.findtext("link").endswith(url) for item in channel.iter("item"))

    def sitemap_lists(path):
        urlset = ElementTree.fromstring(client.get(path).content)
        return any(loc.text.endswith(url) for loc in urlset.iter(f"{SITEMAP}loc"))

    return {
        "article page": client.get(url).status_code == 200,
        "home": page_links(reverse("articles:home")),
        "section": page_links(reverse("articles:section", args=[section])),
        "feed": feed_links(reverse("articles:feed-rss")),
        "section feed": feed_links(reverse("articles:section-feed-rss", args=[section])),
        "sitemap": sitemap_lists(reverse("articles:sitemap", args=["articles"])),
        "news sitemap": sitemap_lists(reverse("articles:sitemap-news")),
    }


def everywhere(found: dict[str, bool]) -> bool:
    return all(found.values())


def nowhere(found: dict[str, bool]) -> bool:
    return not any(found.values())


def moves(article):
    return [
        (t.from_status, t.to_status, t.by.username, t.at)
        for t in Transition.objects.filter(article=article).order_by("at", "pk")
    ]


def test_a_story_goes_from_draft_through_review_to_published_with_each_move_recorded(
    client, writer, editor, settled, time_machine
):
    start = timezone.now().replace(microsecond=0)
    time_machine.move_to(start, tick=False)
    article = Article(
        headline="Seagull steals pasty", section=Section.objects.get(slug="news"), body="<p>Hi</p>"
    )
    workflow.save_article(article, by=writer, expected_version=None)
    assert (article.status, article.created_by) == (Status.DRAFT, writer)

    time_machine.move_to(start + timedelta(minutes=5), tick=False)
    workflow.submit_for_review(article, by=writer)
    assert nowhere(where_readers_find(client, article))

    time_machine.move_to(start + timedelta(minutes=9), tick=False)
    settled(workflow.publish_article, article, by=editor)

    article.refresh_from_db()
    assert article.status == Status.PUBLISHED
    assert article.published_at == start + timedelta(minutes=9)
    assert everywhere(where_readers_find(client, article))
    assert moves(article) == [
        (Status.DRAFT, Status.REVIEW, "writer", start + timedelta(minutes=5)),
        (Status.REVIEW, Status.PUBLISHED, "editor", start + timedelta(minutes=9)),
    ]


def test_a_story_scheduled_for_later_stays_hidden_until_its_time_then_appears_by_itself(
    client, editor, settled, time_machine
):
    now = timezone.now().replace(microsecond=0)
    time_machine.move_to(now, tick=False)
    article = ArticleFactory(in_review=True, headline="Pier reopens at noon")
    at = now + timedelta(hours=2)

    settled(workflow.publish_article, article, by=editor, at=at)

    article.refresh_from_db()
    assert (article.status, article.published_at) == (Status.PUBLISHED, at)
    assert nowhere(where_readers_find(client, article))
    assert article in Article.objects.published(now=at)

    # Nothing runs between now and then: no job, no save. The cached pages made above run out
    # by themselves at the scheduled time.
    time_machine.move_to(at - timedelta(seconds=1), tick=False)
    assert nowhere(where_readers_find(client, article))
    time_machine.move_to(at + timedelta(seconds=1), tick=False)
    assert everywhere(where_readers_find(client, article))


def test_a_legally_withdrawn_story_answers_410_with_the_legal_wording_and_is_gone_everywhere(
    client, editor, settled
):
    article = ArticleFactory(headline="Footballer in hot tub mix-up")
    assert everywhere(where_readers_find(client, article))

    settled(workflow.withdraw_article, article, by=editor, legal=True, note="Injunction")

    response = client.get(article.get_absolute_url())
    assert response.status_code == 410
    html = response.content.decode()
    assert LEGAL_WORDING in html and "Footballer in hot tub" not in html
    assert nowhere(where_readers_find(client, article))
    transition = Transition.objects.get(article=article)
    assert (transition.to_status, transition.by, transition.note) == (
        Status.WITHDRAWN,
        editor,
        "Injunction",
    )


def test_an_editorial_withdrawal_is_410_without_the_legal_wording(client, editor):
    article = ArticleFactory()
    workflow.withdraw_article(article, by=editor)
    response = client.get(article.get_absolute_url())
    assert response.status_code == 410
    assert "This story is no longer available." in response.content.decode()
    assert LEGAL_WORDING not in response.content.decode()


def test_unpublishing_takes_a_story_back_to_draft_and_out_of_sight(client, editor, settled):
    article = ArticleFactory()
    assert everywhere(where_readers_find(client, article))

    settled(workflow.unpublish_article, article, by=editor)

    assert Article.objects.get(pk=article.pk).status == Status.DRAFT
    assert client.get(article.get_absolute_url()).status_code == 404
    assert nowhere(where_readers_find(client, article))
    assert [m[:3] for m in moves(article)] == [(Status.PUBLISHED, Status.DRAFT, "editor")]


def test_a_withdrawn_story_can_be_restored_to_draft_and_published_again(client, editor, settled):
    article = ArticleFactory(legal_takedown=True)

    workflow.transition_article(article, to=Status.DRAFT, by=editor, note="Injunction lifted")
    article.refresh_from_db()
    assert (article.status, article.withdrawn_reason) == (Status.DRAFT, "")
    assert client.get(article.get_absolute_url()).status_code == 404

    settled(workflow.publish_article, article, by=editor)
    assert everywhere(where_readers_find(client, article))
    assert [m[:2] for m in moves(article)] == [
        (Status.WITHDRAWN, Status.DRAFT),
        (Status.DRAFT, Status.PUBLISHED),
    ]


def test_a_story_with_a_picture_cannot_be_published_without_alt_text(editor):
    article = ArticleFactory(in_review=True, with_hero=True, hero_image__alt_text="  ")

    with pytest.raises(ValidationError, match="alt text"):
        workflow.publish_article(article, by=editor)

    assert Article.objects.get(pk=article.pk).status == Status.REVIEW
    assert not Transition.objects.filter(article=article).exists()
    # Alt text typed but not saved in the library does not count: a move checks the rows.
    article.hero_image.alt_text = "A seagull holding a pasty"
    with pytest.raises(ValidationError, match="alt text"):
        workflow.publish_article(Article.objects.get(pk=article.pk), by=editor)
    article.hero_image.save()
    workflow.save_article(article, by=editor, to=Status.PUBLISHED)
    assert Article.objects.get(pk=article.pk).status == Status.PUBLISHED


def test_every_picture_in_the_body_needs_alt_text_before_publishing(editor):
    from tests.pictures.factories import ImageFactory

    described, bare = ImageFactory(), ImageFactory(alt_text="")
    article = ArticleFactory(
        in_review=True,
        body=f'<p>Look.</p><p class="gallery">Gallery {described.pk}, {bare.pk}</p>',
    )
    with pytest.raises(ValidationError, match=f"picture {bare.pk}"):
        workflow.publish_article(article, by=editor)


def test_a_body_naming_a_picture_the_library_does_not_hold_is_refused(editor):
    article = ArticleFactory(draft=True)
    article.body = '<p>Look.</p><p class="picture">Picture 999999</p>'
    with pytest.raises(ValidationError, match="Picture 999999 is not in the library"):
        workflow.save_article(article, by=editor)


def test_a_story_without_a_picture_needs_no_alt_text(editor):
    article = ArticleFactory(in_review=True)
    workflow.publish_article(article, by=editor)
    assert Article.objects.get(pk=article.pk).is_visible


def test_a_substantive_update_shows_readers_an_updated_time(client, editor, time_machine):
    article = ArticleFactory(headline="Pier fire")
    later = timezone.now().replace(microsecond=0) + timedelta(hours=3)
    time_machine.move_to(later, tick=False)

    article.body = "<p>The fire is now out, the brigade says.</p>"
    workflow.save_article(article, by=editor, expected_version=article.version, substantive=True)

    article.refresh_from_db()
    assert article.revised_at == later
    html = client.get(article.get_absolute_url()).content.decode()
    assert f'Updated <time datetime="{timezone.localtime(later):%Y-%m-%dT%H:%M:%S%z}">' in html


def test_a_typo_fix_leaves_no_updated_time(client, editor):
    article = ArticleFactory(headline="Pier fier")
    article.headline = "Pier fire"
    workflow.save_article(article, by=editor, expected_version=article.version)
    article.refresh_from_db()
    assert article.revised_at is None
    html = client.get(article.get_absolute_url()).content.decode()
    assert "Pier fire" in html and "Updated" not in html


def test_a_substantive_change_to_a_draft_sets_no_updated_time(writer):
    article = ArticleFactory(draft=True, created_by=writer)
    article.body = "<p>Rewritten.</p>"
    workflow.save_article(article, by=writer, expected_version=article.version, substantive=True)
    assert Article.objects.get(pk=article.pk).revised_at is None


def test_an_edit_based_on_a_replaced_version_is_refused_naming_who_saved_first(writer, editor):
    article = ArticleFactory(draft=True, created_by=writer, headline="Original")
    mine = Article.objects.get(pk=article.pk)
    theirs = Article.objects.get(pk=article.pk)
    opened_at = mine.version

    theirs.headline = "Editor's headline"
    workflow.save_article(theirs, by=editor, expected_version=opened_at)
    mine.headline = "Writer's headline"
    with pytest.raises(workflow.EditConflict) as conflict:
        workflow.save_article(mine, by=writer, expected_version=opened_at)

    assert "Ed Itor saved this article" in str(conflict.value)
    assert conflict.value.current.headline == "Editor's headline"
    assert Article.objects.get(pk=article.pk).headline == "Editor's headline"
    # Having seen their version, the writer saves again on top of it.
    workflow.save_article(mine, by=writer, expected_version=conflict.value.current.version)
    stored = Article.objects.get(pk=article.pk)
    assert (stored.headline, stored.version) == ("Writer's headline", opened_at + 2)


def test_every_save_and_move_is_kept_in_the_history(writer, editor):
    article = Article(headline="First words", section=Section.objects.get(slug="news"))
    workflow.save_article(article, by=writer, expected_version=None)
    article.headline = "Second words"
    workflow.save_article(article, by=writer, expected_version=article.version)
    workflow.submit_for_review(article, by=writer)
    workflow.publish_article(article, by=editor)

    records = list(article.history.order_by("history_date", "history_id"))
    assert [(r.history_type, r.headline, r.status) for r in records] == [
        ("+", "First words", Status.DRAFT),
        ("~", "Second words", Status.DRAFT),
        ("~", "Second words", Status.REVIEW),
        ("~", "Second words", Status.PUBLISHED),
    ]


@pytest.mark.parametrize(
    ("status", "offset"),
    [
        (status, offset)
        for status in Status.values
        for offset in (None, -3600, -1, 1, 3600)
        if not (status == Status.PUBLISHED and offset is None)  # the database refuses it
    ],
)
def test_a_rows_is_visible_says_what_published_finds(status, offset):
    # `published()` (a query) and `Article.is_visible` (a row in hand) are one rule.
    now = timezone.now()
    when = None if offset is None else now + timedelta(seconds=offset)
    article = ArticleFactory(status=status, published_at=when)
    found = Article.objects.published().filter(pk=article.pk).exists()
    assert article.is_visible is found
    assert article.is_scheduled is Article.objects.scheduled().filter(pk=article.pk).exists()


@pytest.mark.parametrize("trait", ["draft", "in_review", "withdrawn"])
def test_only_a_story_that_is_out_or_scheduled_can_be_flagged_breaking(editor, trait):
    article = ArticleFactory(**{trait: True})
    with pytest.raises(ValidationError, match="published or scheduled"):
        workflow.set_breaking(article, by=editor)
    assert not Article.objects.get(pk=article.pk).is_breaking
    scheduled = ArticleFactory(scheduled=True)
    workflow.set_breaking(scheduled, by=editor)
    assert Article.objects.get(pk=scheduled.pk).is_breaking


def test_flagging_writes_only_the_flags_so_an_edit_saved_meanwhile_is_kept(editor):
    article = ArticleFactory(headline="Pier fier")
    stale = Article.objects.get(pk=article.pk)  # loaded before the fix below
    fixed = Article.objects.get(pk=article.pk)
    fixed.headline = "Pier fire"
    workflow.save_article(fixed, by=editor)

    workflow.set_breaking(stale, by=editor)

    stored = Article.objects.get(pk=article.pk)
    assert (stored.headline, stored.is_breaking) == ("Pier fire", True)
    assert stored.version == article.version + 2


def test_a_bulk_publish_working_from_an_old_list_cannot_undo_a_withdrawal(editor, settled):
    # "Publish selected" loaded its stories; meanwhile another editor withdrew one of them and
    # fixed the headline of another.
    withdrawn, fixed = ArticleFactory(in_review=True), ArticleFactory(in_review=True)
    listed = list(Article.objects.filter(pk__in=[withdrawn.pk, fixed.pk]).order_by("pk"))
    workflow.publish_article(Article.objects.get(pk=withdrawn.pk), by=editor)
    workflow.withdraw_article(Article.objects.get(pk=withdrawn.pk), by=editor, legal=True)
    meanwhile = Article.objects.get(pk=fixed.pk)
    meanwhile.headline = "Headline fixed meanwhile"
    workflow.save_article(meanwhile, by=editor)

    with pytest.raises(PermissionDenied, match="from withdrawn to published"):
        workflow.publish_article(listed[0], by=editor)
    workflow.publish_article(listed[1], by=editor)

    stored = Article.objects.get(pk=withdrawn.pk)
    assert (stored.status, stored.withdrawn_reason) == (Status.WITHDRAWN, "legal")
    assert [m[:2] for m in moves(withdrawn)] == [
        (Status.REVIEW, Status.PUBLISHED),
        (Status.PUBLISHED, Status.WITHDRAWN),
    ]
    published = Article.objects.get(pk=fixed.pk)
    assert (published.status, published.headline) == (Status.PUBLISHED, "Headline fixed meanwhile")


def test_publishing_a_story_already_out_leaves_it_as_it_is(editor):
    article = ArticleFactory()
    with pytest.raises(ValidationError, match="already published"):
        workflow.publish_article(article, by=editor)
    assert Article.objects.get(pk=article.pk).published_at == article.published_at
    assert not Transition.objects.filter(article=article).exists()
