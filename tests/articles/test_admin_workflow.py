"""The editorial workflow in the admin, driven over HTTP as editors use it: lost updates caught
with both versions shown, history and revert, bulk actions by role, the preview and the
editors' dashboard."""

import re
from datetime import timedelta

import lxml.html
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from api import webhooks
from articles.models import Article, Section, Transition
from articles.services import workflow
from tests.accounts.factories import AuthorFactory, UserFactory
from tests.articles.admin_forms import article_post_data, form_data
from tests.articles.factories import ArticleFactory

pytestmark = pytest.mark.django_db

Status = Article.Status


def logged_in(user):
    """A browser of its own for `user`."""
    client = Client()
    client.force_login(user)
    return client


def change_url(article):
    return reverse("admin:articles_article_change", args=[article.pk])


def open_form(client, article):
    response = client.get(change_url(article))
    assert response.status_code == 200
    return form_data(response)


def errors_of(response):
    return response.context["adminform"].form.errors if response.status_code == 200 else {}


# Lost updates ---------------------------------------------------------------------------------


def test_the_second_of_two_editors_to_save_is_told_who_saved_first_and_keeps_what_they_typed(
    alice, bob
):
    article = ArticleFactory(
        headline="Pier closed", body="<p>The pier is closed.</p>", created_by=alice
    )
    alices_client, bobs_client = logged_in(alice), logged_in(bob)
    alices_form, bobs_form = open_form(alices_client, article), open_form(bobs_client, article)
    assert alices_form["edit_version"] == bobs_form["edit_version"] == str(article.version)

    alices_form["headline"] = "Pier closed after storm"
    assert alices_client.post(change_url(article), alices_form).status_code == 302

    bobs_form["headline"] = "Pier closed for repairs"
    bobs_form["body"] = "<p>Engineers found rust in the supports.</p>"
    response = bobs_client.post(change_url(article), bobs_form)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Alice Editor saved this article at" in html
    assert Article.objects.get(pk=article.pk).headline == "Pier closed after storm"
    # What Bob typed is still in the form…
    form = response.context["adminform"].form
    assert form["headline"].value() == "Pier closed for repairs"
    assert "Engineers found rust in the supports." in form["body"].value()
    assert 'value="Pier closed for repairs"' in html
    # …and the table shows their version beside his.
    table = re.search(r'<table class="conflict-table">.*?</table>', html, re.S).group(0)
    assert "Pier closed after storm" in table and "Pier closed for repairs" in table
    assert "Engineers found rust in the supports." in table
    assert response.context["conflict"][0][1:] == (
        "Pier closed after storm",
        "Pier closed for repairs",
    )

    # Having seen the conflict, Bob saves again and his version is kept.
    again = form_data(response)
    assert again["edit_version"] == str(Article.objects.get(pk=article.pk).version)
    assert bobs_client.post(change_url(article), again).status_code == 302
    stored = Article.objects.get(pk=article.pk)
    assert stored.headline == "Pier closed for repairs"
    assert "Engineers found rust" in stored.body
    assert stored.updated_by == bob


def test_an_editor_saving_twice_in_a_row_meets_no_conflict(client, alice):
    article = ArticleFactory(headline="Pier closed")
    client.force_login(alice)
    for headline in ("Pier shut", "Pier shut again"):
        data = open_form(client, article)
        data["headline"] = headline
        assert client.post(change_url(article), data).status_code == 302
    assert Article.objects.get(pk=article.pk).headline == "Pier shut again"


# History and revert ---------------------------------------------------------------------------


def test_every_admin_save_is_in_the_history_page_with_who_made_it(client, writer, alice):
    client.force_login(writer)
    add = article_post_data(
        Article(headline="Gull menace", section=Section.objects.get(slug="news")),
        slug="",
        body="<p>Gulls everywhere.</p>",
        status=Status.REVIEW,
    )
    assert client.post(reverse("admin:articles_article_add"), add).status_code == 302
    article = Article.objects.get(headline="Gull menace")
    client.force_login(alice)
    data = open_form(client, article)
    data["headline"] = "Gull menace grows"
    assert client.post(change_url(article), data).status_code == 302

    records = list(article.history.order_by("history_date", "history_id"))
    # One record per save, each saying why: creating the story in review is one save.
    assert [
        (r.history_type, r.headline, r.status, r.history_user.username, r.history_change_reason)
        for r in records
    ] == [
        ("+", "Gull menace", Status.REVIEW, "writer", "Submitted for review"),
        ("~", "Gull menace grows", Status.REVIEW, "alice", "Edited"),
    ]
    page = client.get(reverse("admin:articles_article_history", args=[article.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    rows = re.findall(r"<tr>.*?</tr>", html.split("<tbody>", 1)[1], re.S)
    assert len(rows) == 2
    assert ">alice</a>" in rows[0] and "Gull menace grows" in rows[0] and "Edited" in rows[0]
    assert ">writer</a>" in rows[1] and "Submitted for review" in rows[1]
    assert "None" not in html.split("<tbody>", 1)[1]


def test_reverting_to_an_earlier_version_in_the_history_brings_back_its_headline_and_body(
    client, alice, bob
):
    client.force_login(alice)
    article = ArticleFactory(headline="Original headline", body="<p>Original body.</p>")
    data = open_form(client, article)
    data.update(headline="Botched headline", body="<p>Botched body.</p>")
    assert client.post(change_url(article), data).status_code == 302
    assert Article.objects.get(pk=article.pk).headline == "Botched headline"

    original = article.history.earliest("history_date")
    client.force_login(bob)
    revert_url = reverse("admin:articles_article_simple_history", args=[article.pk, original.pk])
    page = client.get(revert_url)
    assert page.status_code == 200
    # The revert page is simple-history's change form for the historical model.
    response = client.post(revert_url, form_data(page, form_id="historicalarticle_form"))

    assert response.status_code == 302, errors_of(response)
    stored = Article.objects.get(pk=article.pk)
    assert (stored.headline, stored.body) == ("Original headline", "<p>Original body.</p>")
    assert stored.status == Status.PUBLISHED
    latest = article.history.latest("history_date")
    assert (latest.headline, latest.history_user) == ("Original headline", bob)


def test_a_reporter_cannot_revert_a_published_story_through_the_history(client, writer):
    article = ArticleFactory(headline="Published headline", created_by=writer)
    article.headline = "Older headline"  # a history record to revert to
    article.save()
    article.headline = "Published headline"
    article.save()
    older = article.history.get(headline="Older headline")
    client.force_login(writer)
    revert_url = reverse("admin:articles_article_simple_history", args=[article.pk, older.pk])

    client.post(
        revert_url,
        article_post_data(Article.objects.get(pk=article.pk), **{"headline": "Older headline"}),
    )

    assert Article.objects.get(pk=article.pk).headline == "Published headline"


# Publishing from the change form --------------------------------------------------------------


def test_an_editor_publishes_from_the_change_form_and_the_move_is_recorded(client, writer, alice):
    article = ArticleFactory(in_review=True, created_by=writer)
    client.force_login(alice)
    data = open_form(client, article)
    data["status"] = Status.PUBLISHED

    assert client.post(change_url(article), data).status_code == 302

    stored = Article.objects.get(pk=article.pk)
    assert stored.is_visible
    transition = Transition.objects.get(article=article)
    assert (transition.from_status, transition.to_status, transition.by) == (
        Status.REVIEW,
        Status.PUBLISHED,
        alice,
    )


def test_the_change_form_refuses_to_publish_a_picture_without_alt_text(client, alice):
    article = ArticleFactory(in_review=True, with_hero=True, hero_image__alt_text="")
    client.force_login(alice)
    data = open_form(client, article)
    data["status"] = Status.PUBLISHED

    response = client.post(change_url(article), data)

    assert response.status_code == 200
    assert errors_of(response)["hero_image"] == [
        "Describe the story's picture (alt text, in Pictures) before publishing."
    ]
    assert Article.objects.get(pk=article.pk).status == Status.REVIEW


@pytest.mark.parametrize(("ticked", "updated"), [(True, True), (False, False)])
def test_only_a_ticked_substantive_update_shows_readers_an_updated_time(
    client, alice, ticked, updated
):
    article = ArticleFactory(headline="Pier fire")
    client.force_login(alice)
    data = open_form(client, article)
    data["body"] = "<p>The fire is out.</p>"
    if ticked:
        data["substantive_update"] = "on"

    assert client.post(change_url(article), data).status_code == 302

    stored = Article.objects.get(pk=article.pk)
    assert (stored.revised_at is not None) is updated
    page = Client().get(stored.get_absolute_url()).content.decode()
    assert ("Updated <time" in page) is updated


def test_an_editor_schedules_a_story_from_the_change_form(client, alice):
    article = ArticleFactory(in_review=True, headline="Tomorrow's scoop")
    at = (timezone.now() + timedelta(days=1)).replace(second=0, microsecond=0)
    client.force_login(alice)
    data = open_form(client, article)
    data.update(
        status=Status.PUBLISHED,
        published_at_0=timezone.localtime(at).strftime("%d/%m/%Y"),
        published_at_1=timezone.localtime(at).strftime("%H:%M:%S"),
    )

    assert client.post(change_url(article), data).status_code == 302

    stored = Article.objects.get(pk=article.pk)
    assert (stored.status, stored.published_at, stored.is_visible) == (Status.PUBLISHED, at, False)
    listing = client.get(reverse("admin:articles_article_changelist")).content.decode()
    assert "Scheduled" in listing


# Bulk actions ---------------------------------------------------------------------------------


def run_action(client, action, articles, **extra):
    data = {"action": action, "_selected_action": [a.pk for a in articles], "index": "0"}
    return client.post(reverse("admin:articles_article_changelist"), data | extra, follow=True)


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def test_a_reporter_cannot_publish_through_the_bulk_action(client, writer):
    own = ArticleFactory(in_review=True, created_by=writer, headline="My scoop")
    client.force_login(writer)

    response = run_action(client, "publish_selected", [own])

    assert Article.objects.get(pk=own.pk).status == Status.REVIEW
    assert messages_of(response) == [
        "“My scoop”: You may not move this article from in review to published."
    ]
    assert not Transition.objects.exists()


def test_an_editor_publishes_selected_stories_through_the_bulk_action(client, writer, alice):
    stories = [ArticleFactory(in_review=True, created_by=writer) for _ in range(2)]
    client.force_login(alice)

    response = run_action(client, "publish_selected", stories)

    assert all(Article.objects.get(pk=s.pk).is_visible for s in stories)
    assert "2 stories published." in messages_of(response)
    assert Transition.objects.filter(by=alice, to_status=Status.PUBLISHED).count() == 2


@pytest.mark.parametrize(
    ("action", "changed"),
    [
        ("withdraw_selected", lambda a: a.status == Status.WITHDRAWN),
        ("mark_breaking", lambda a: a.is_breaking),
    ],
)
def test_withdrawing_and_breaking_in_bulk_are_for_editors_only(
    client, writer, alice, action, changed
):
    story = ArticleFactory(created_by=writer)
    # Withdrawing asks why first (a page of its own), then takes the answer.
    answer = {"apply": "1", "reason": "editorial", "note": "Duplicate"}
    extra = answer if action == "withdraw_selected" else {}
    client.force_login(writer)
    run_action(client, action, [story], **extra)
    assert not changed(Article.objects.get(pk=story.pk))

    client.force_login(alice)
    run_action(client, action, [story], **extra)
    assert changed(Article.objects.get(pk=story.pk))


def test_a_bulk_publish_reports_the_stories_it_could_not_publish(client, alice):
    ready = ArticleFactory(in_review=True, headline="Ready")
    no_alt = ArticleFactory(
        in_review=True, with_hero=True, hero_image__alt_text="", headline="No alt"
    )
    client.force_login(alice)

    response = run_action(client, "publish_selected", [ready, no_alt])

    assert Article.objects.get(pk=ready.pk).is_visible
    assert Article.objects.get(pk=no_alt.pk).status == Status.REVIEW
    assert (
        "“No alt”: Describe the story's picture (alt text, in Pictures) before publishing."
        in messages_of(response)
    )


# Preview and dashboard ------------------------------------------------------------------------


def preview_url(article):
    return reverse("admin:articles_article_preview", args=[article.pk])


@pytest.mark.parametrize("trait", ["draft", "in_review", "scheduled"])
def test_staff_preview_an_unpublished_story_privately(client, writer, trait):
    article = ArticleFactory(headline="Not out yet", created_by=writer, **{trait: True})
    client.force_login(writer)

    response = client.get(preview_url(article))

    assert response.status_code == 200
    directives = {d.strip() for d in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= directives and "public" not in directives
    html = response.content.decode()
    assert '<h1 class="story__headline">Not out yet</h1>' in html
    assert 'class="preview-banner"' in html and '<meta name="robots" content="noindex">' in html


def test_the_preview_is_not_for_readers(client):
    article = ArticleFactory(draft=True)
    response = client.get(preview_url(article))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))

    client.force_login(UserFactory(username="reader"))  # logged in, but not staff
    response = client.get(preview_url(article))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def dashboard_lists(html: str) -> dict[str, str]:
    """Each list of the dashboard (by its heading) and the text in it."""
    tree = lxml.html.fromstring(html)
    modules = tree.xpath('//div[@id="desk-dashboard"]/div[@class="module"]')
    return {m.findtext("h2"): m.text_content() for m in modules}


def test_the_dashboard_lists_what_the_desk_needs_first(client, writer, alice):
    ArticleFactory(in_review=True, headline="Waiting for a look", created_by=writer)
    ArticleFactory(scheduled=True, headline="Out tomorrow")
    ArticleFactory(draft=True, headline="Still a draft", created_by=writer)
    ArticleFactory(draft=True, headline="Alice's own draft", created_by=alice)
    ArticleFactory(headline="Out this morning", published_at=timezone.now() - timedelta(seconds=1))
    ArticleFactory(headline="Out last week", published_at=timezone.now() - timedelta(days=7))
    ArticleFactory(headline="Storm live", live_status=Article.LiveStatus.LIVE)
    ArticleFactory(headline="Pier collapses", is_breaking=True)
    client.force_login(alice)

    for url in (reverse("admin:index"), reverse("editorial-dashboard")):
        lists = dashboard_lists(client.get(url).content.decode())
        assert "Alice's own draft" in lists["My drafts"]
        assert "Still a draft" not in lists["My drafts"]  # the writer's, not hers
        assert "Waiting for a look" in lists["Waiting for review"]
        assert "Wendy Writer" in lists["Waiting for review"]
        assert "Out tomorrow" in lists["Next scheduled"]
        assert "Waiting for a look" not in lists["Next scheduled"]
        assert "Out this morning" in lists["Published today"]
        assert "Out last week" not in lists["Published today"]
        running = lists["Breaking and live"]
        assert "Storm live" in running and "Live" in running and "Pier collapses" in running
    # The admin's list of everything: tags among the stories, no "Taggit".
    index = client.get(reverse("admin:index")).content.decode()
    assert "Taggit" not in index and "Stories" in index
    stories = lxml.html.fromstring(index).xpath('//div[contains(@class, "app-articles")]')[0]
    assert "Tags" in stories.text_content() and "Status changes" in stories.text_content()


def test_the_dashboard_is_for_staff_only(client):
    response = client.get(reverse("editorial-dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


# One save, one write ----------------------------------------------------------------------------


def test_publishing_from_the_form_writes_the_row_once_with_one_history_record(client, alice):
    article = ArticleFactory(
        in_review=True, authors=AuthorFactory.create_batch(2), tags=["pier", "storm"]
    )
    client.force_login(alice)
    data = open_form(client, article)
    data.update(status=Status.PUBLISHED, headline="Pier reopens")
    # Which partners' webhook endpoints to tell is kept in the cache, as it is on a running site
    # (a query the first time after a restart, then none).
    webhooks.active_endpoints()

    with CaptureQueriesContext(connection) as captured:
        assert client.post(change_url(article), data).status_code == 302

    statements = [query["sql"] for query in captured.captured_queries]
    updates = [s for s in statements if s.startswith('UPDATE "articles_article"')]
    history = [s for s in statements if s.startswith('INSERT INTO "articles_historicalarticle"')]
    assert (len(updates), len(history)) == (1, 1)
    # One more than before the library: the story's "used in" record of its pictures.
    # 48 as an edit, then a move; 32 once one save. Four of these find what to purge: the
    # row as it was, its tags and bylines (the listings it enters) and the rails after it.
    # One more since unsaved text is kept on the server: the save deletes the editor's copy.
    assert len(statements) <= 37, "\n".join(statements)
    stored = Article.objects.get(pk=article.pk)
    assert (stored.status, stored.headline, stored.version) == (
        Status.PUBLISHED,
        "Pier reopens",
        article.version + 1,
    )
    record = stored.history.latest("history_date")
    assert (record.status, record.headline, record.history_change_reason) == (
        Status.PUBLISHED,
        "Pier reopens",
        "Published",
    )
    assert {a.author_id for a in record.authors.all()} == set(
        stored.authors.values_list("pk", flat=True)
    )
    assert Transition.objects.filter(article=article, to_status=Status.PUBLISHED).count() == 1


def test_saving_a_story_unchanged_records_no_change_of_its_publication_time(client, alice):
    # A time kept with microseconds (as rows made before times were kept to the second are):
    # the form carries seconds, which must not read as a new publication time.
    published_at = timezone.now().replace(microsecond=123456) - timedelta(hours=2)
    article = ArticleFactory(published_at=published_at)
    client.force_login(alice)

    assert client.post(change_url(article), open_form(client, article)).status_code == 302

    stored = Article.objects.get(pk=article.pk)
    assert stored.published_at == published_at
    newest, before = stored.history.order_by("-history_date", "-history_id")[:2]
    assert newest.history_change_reason == "Edited"
    assert "published_at" not in newest.diff_against(before).changed_fields


def test_publishing_now_keeps_the_time_to_the_second(client, alice):
    article = ArticleFactory(in_review=True)
    client.force_login(alice)
    data = open_form(client, article)
    data["status"] = Status.PUBLISHED

    assert client.post(change_url(article), data).status_code == 302

    stored = Article.objects.get(pk=article.pk)
    assert stored.published_at is not None and stored.published_at.microsecond == 0
    assert [r.status for r in stored.history.order_by("history_date", "history_id")] == [
        Status.REVIEW,  # made by the factory
        Status.PUBLISHED,  # no "draft with a publish time" in between
    ]


# Hostile input through the form -----------------------------------------------------------------


def test_a_body_over_the_text_limit_is_refused_beside_the_field_not_a_server_error(client, alice):
    article = ArticleFactory(headline="Long read")
    client.force_login(alice)
    data = open_form(client, article)
    data["body"] = "<p>" + " ".join(f"w{n:07x}" for n in range(40_000)) + "</p>"

    response = client.post(change_url(article), data)

    assert response.status_code == 200
    [message] = errors_of(response)["body"]
    assert "the limit is 300,000" in message
    assert Article.objects.get(pk=article.pk).body == article.body


def test_control_characters_typed_or_pasted_into_the_form_are_not_stored(client, alice):
    article = ArticleFactory(headline="Pier")
    client.force_login(alice)
    data = open_form(client, article)
    data.update(
        headline="Pier\x0bfire\x02",
        standfirst="Smoke\x0bseen\x07 for miles.",
        body="<p>Crews\x1b arrived.</p>",
    )

    assert client.post(change_url(article), data).status_code == 302

    stored = Article.objects.get(pk=article.pk)
    assert (stored.headline, stored.standfirst) == ("Pier fire", "Smoke\nseen for miles.")
    assert stored.body == "<p>Crews arrived.</p>"


def test_a_reporters_revert_brings_back_their_words_not_an_editors_settings(client, writer, alice):
    article = ArticleFactory(draft=True, created_by=writer, headline="First draft")
    # An editor pencils in a publication time while it is a draft, then takes it out again.
    later = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
    pencilled = Article.objects.get(pk=article.pk)
    pencilled.published_at = later
    workflow.save_article(pencilled, by=alice)
    older = Article.objects.get(pk=article.pk).history.latest("history_date")
    cleared = Article.objects.get(pk=article.pk)
    cleared.headline, cleared.published_at = "Second draft", None
    workflow.save_article(cleared, by=alice)

    client.force_login(writer)
    revert_url = reverse("admin:articles_article_simple_history", args=[article.pk, older.pk])
    page = client.get(revert_url)
    response = client.post(revert_url, form_data(page, form_id="historicalarticle_form"))

    assert response.status_code == 302, errors_of(response)
    stored = Article.objects.get(pk=article.pk)
    assert stored.headline == "First draft"  # theirs to revert
    assert stored.published_at is None  # not theirs to set


def test_an_unpublished_story_is_previewed_by_its_reporter_and_editors_only(client, writer, alice):
    own = ArticleFactory(draft=True, created_by=writer, headline="Mine")
    colleagues = ArticleFactory(in_review=True, created_by=UserFactory(reporter=True))
    newsletters = UserFactory(newsletter_editor=True)

    def status(user, article):
        client.force_login(user)
        return client.get(preview_url(article)).status_code

    assert status(writer, own) == 200
    assert status(writer, colleagues) == 403  # a colleague's story under legal review, say
    assert status(alice, colleagues) == 200
    assert status(newsletters, own) == 403
    published = ArticleFactory(created_by=UserFactory(reporter=True))
    assert status(writer, published) == 200  # out already: nothing to keep from staff


def test_the_dashboard_lists_pictures_whose_licence_runs_out_soon_with_their_stories(client, alice):
    from tests.pictures.factories import ImageFactory

    soon = ImageFactory(
        caption="Red carpet arrivals",
        licence="agency",
        rights_expire_at=timezone.now() + timedelta(days=3),
        renditions="key-only",
    )
    ImageFactory(
        caption="Next year's problem",
        licence="agency",
        rights_expire_at=timezone.now() + timedelta(days=90),
        renditions="key-only",
    )
    story = ArticleFactory(headline="Stars dazzle at premiere", hero_image=soon)
    story.pictures.add(soon)
    client.force_login(alice)

    html = client.get(reverse("editorial-dashboard")).content.decode()

    pictures = dashboard_lists(html)["Pictures whose licence runs out within 14 days"]
    assert "Red carpet arrivals" in pictures and "Stars dazzle at premiere" in pictures
    assert "Next year" not in pictures


def test_a_correction_added_from_the_story_form_shows_updated_to_readers(client, alice):
    story = ArticleFactory(headline="Terns, not gulls")
    assert story.revised_at is None
    client.force_login(alice)
    data = article_post_data(story)
    data |= {
        "corrections-TOTAL_FORMS": "1",
        "corrections-0-kind": "correction",
        "corrections-0-text": "They were terns.",
        "corrections-0-published_at_0": timezone.localtime().strftime("%Y-%m-%d"),
        "corrections-0-published_at_1": timezone.localtime().strftime("%H:%M:%S"),
    }
    response = client.post(reverse("admin:articles_article_change", args=[story.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    story.refresh_from_db()
    assert story.revised_at is not None
    assert story.corrections.get().text == "They were terns."
    client.logout()
    page = lxml.html.fromstring(client.get(story.get_absolute_url()).content)
    assert page.xpath('//p[@class="story__meta"]//span[starts-with(normalize-space(), "Updated")]')
