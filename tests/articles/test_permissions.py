"""Who may do what: every role against every editorial action, asked of the workflow services
and tried through the admin over HTTP (where a refused request must leave the database as it
was, whatever the request contained)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone
from taggit.models import Tag

from accounts.models import Author
from articles import shared_previews
from articles.models import Article, LiveEntry, PreviewLink, Section, Transition
from articles.services import live, takedown, workflow
from tests.accounts.factories import AuthorFactory, UserFactory
from tests.articles.admin_forms import article_post_data
from tests.articles.factories import ArticleFactory

pytestmark = pytest.mark.django_db

Status = Article.Status
ROLES = ["writer", "other_reporter", "editor", "newsletter_editor", "superuser", "outsider"]
WRITERS = {"writer", "other_reporter", "editor", "superuser"}
EDITORS = {"editor", "superuser"}
# The rows of the matrix: which roles may do each thing. "writer" is the Reporter who wrote the
# story acted on; "own" drafts belong to whoever acts; "other's" drafts to a third Reporter.
ALLOWED = {
    "create": WRITERS,
    "edit own draft": WRITERS,
    "edit other's draft": EDITORS,
    "edit published": EDITORS,
    "submit for review": {"writer", "editor", "superuser"},
    "publish now": EDITORS,
    "schedule": EDITORS,
    "set an embargo on own draft": WRITERS,
    "set when a story leaves the site": EDITORS,
    "unpublish": EDITORS,
    "withdraw": EDITORS,
    "legal takedown": EDITORS,
    "return to reporter": {"writer", "editor", "superuser"},
    "share a preview link": {"writer", "editor", "superuser"},
    "post a live entry": WRITERS,
    "publish a live entry": EDITORS,
    "flag breaking or featured": EDITORS,
    "delete own draft": WRITERS,
    "delete published": EDITORS,
    "manage sections, authors and tags": EDITORS,
}
LATER = timedelta(days=2)


@pytest.fixture
def people():
    return {
        "writer": UserFactory(username="writer", reporter=True),
        "other_reporter": UserFactory(username="other-reporter", reporter=True),
        "colleague": UserFactory(username="colleague", reporter=True),
        "editor": UserFactory(username="editor", editor=True),
        "newsletter_editor": UserFactory(username="newsletters", newsletter_editor=True),
        "superuser": UserFactory(username="root", superuser=True),
        "outsider": UserFactory(username="reader"),  # no staff status, no role
    }


@dataclass
class Action:
    """One column of the matrix: the row it starts from, how the service layer is asked, what
    the admin is sent, and whether the effect is in the database afterwards."""

    setup: Callable
    service: Callable
    admin: Callable
    done: Callable


def change(client, article, **changes):
    url = reverse("admin:articles_article_change", args=[article.pk])
    return client.post(url, article_post_data(article, **changes))


def move(client, article, value, **changes):
    """A press of one of the action bar's buttons."""
    url = reverse("admin:articles_article_change", args=[article.pk])
    return client.post(url, article_post_data(article, **changes) | {"_move": value})


def withdraw(client, article, reason):
    url = reverse("admin:articles_article_withdraw", args=[article.pk])
    return client.post(url, {"reason": reason, "note": "Court order"})


def delete(client, article):
    return client.post(reverse("admin:articles_article_delete", args=[article.pk]), {"post": "yes"})


def status_is(status):
    return lambda article: Article.objects.get(pk=article.pk).status == status


def headline_is(headline):
    return lambda article: Article.objects.get(pk=article.pk).headline == headline


def new_article_data():
    article = Article(
        headline="Fresh story", section=Section.objects.get(slug="news"), body="<p>New.</p>"
    )
    return article_post_data(article, slug="", status=Status.DRAFT)


def create_with_service(user, _):
    article = Article(headline="Fresh story", section=Section.objects.get(slug="news"))
    workflow.save_article(article, by=user, expected_version=None)


def edit_with_service(user, article):
    article.headline = "Edited headline"
    workflow.save_article(article, by=user, expected_version=article.version)


def flag_with_service(user, article):
    workflow.set_breaking(article, by=user)
    workflow.set_flags(article, by=user, is_featured=True)


def flags_set(article):
    stored = Article.objects.get(pk=article.pk)
    return stored.is_breaking and stored.is_featured


def set_time_with_service(field):
    def run(user, article):
        setattr(article, field, future_time())
        workflow.save_article(article, by=user, expected_version=article.version)

    return run


def time_set(field):
    return lambda article: getattr(Article.objects.get(pk=article.pk), field) is not None


def check_delete_rule(user, article):
    if not workflow.can_delete(user, article):
        raise PermissionDenied
    article.delete()


MANAGE_PERMISSIONS = [
    "articles.add_section",
    "articles.change_section",
    "articles.delete_section",
    "accounts.change_author",
    "taggit.change_tag",
    "taggit.delete_tag",
]


def check_manage_rule(user, _):
    if not all(user.has_perm(permission) for permission in MANAGE_PERMISSIONS):
        raise PermissionDenied
    Section.objects.create(name="Weather", slug="weather")
    Author.objects.filter(name="Agency Desk").update(name="Agency Desk (PA)")
    Tag.objects.filter(name="politics").delete()


def manage_through_admin(client, _):
    client.post(
        reverse("admin:articles_section_add"),
        {"name": "Weather", "slug": "weather", "description": "", "order": "9"},
    )
    author = Author.objects.get(name="Agency Desk")
    client.post(
        reverse("admin:accounts_author_change", args=[author.pk]),
        {"name": "Agency Desk (PA)", "slug": author.slug, "job_title": "", "bio": "", "user": ""},
    )
    tag = Tag.objects.get(name="politics")
    return client.post(reverse("admin:taggit_tag_delete", args=[tag.pk]), {"post": "yes"})


def managed(_):
    return (
        Section.objects.filter(slug="weather").exists()
        and Author.objects.filter(name="Agency Desk (PA)").exists()
        and not Tag.objects.filter(name="politics").exists()
    )


def nothing_managed(_):
    return (
        not Section.objects.filter(slug="weather").exists()
        and Author.objects.filter(name="Agency Desk").exists()
        and Tag.objects.filter(name="politics").exists()
    )


def future_time():
    return (timezone.now() + LATER).replace(microsecond=0)


def scheduled(article):
    stored = Article.objects.get(pk=article.pk)
    return stored.status == Status.PUBLISHED and stored.published_at > timezone.now()


ACTIONS = {
    "create": Action(
        setup=lambda people, user: None,
        service=create_with_service,
        admin=lambda client, _: client.post(
            reverse("admin:articles_article_add"), new_article_data()
        ),
        done=lambda _: Article.objects.filter(headline="Fresh story").exists(),
    ),
    "edit own draft": Action(
        setup=lambda people, user: ArticleFactory(draft=True, created_by=user),
        service=edit_with_service,
        admin=lambda client, article: change(client, article, headline="Edited headline"),
        done=headline_is("Edited headline"),
    ),
    "edit other's draft": Action(
        setup=lambda people, user: ArticleFactory(draft=True, created_by=people["colleague"]),
        service=edit_with_service,
        admin=lambda client, article: change(client, article, headline="Edited headline"),
        done=headline_is("Edited headline"),
    ),
    "edit published": Action(
        setup=lambda people, user: ArticleFactory(created_by=people["writer"]),
        service=edit_with_service,
        admin=lambda client, article: change(client, article, headline="Edited headline"),
        done=headline_is("Edited headline"),
    ),
    "submit for review": Action(
        setup=lambda people, user: ArticleFactory(draft=True, created_by=people["writer"]),
        service=lambda user, article: workflow.submit_for_review(article, by=user),
        admin=lambda client, article: change(client, article, status=Status.REVIEW),
        done=status_is(Status.REVIEW),
    ),
    "publish now": Action(
        setup=lambda people, user: ArticleFactory(in_review=True, created_by=people["writer"]),
        service=lambda user, article: workflow.publish_article(article, by=user),
        admin=lambda client, article: change(client, article, status=Status.PUBLISHED),
        done=lambda article: Article.objects.get(pk=article.pk).is_visible,
    ),
    "schedule": Action(
        setup=lambda people, user: ArticleFactory(in_review=True, created_by=people["writer"]),
        service=lambda user, article: workflow.publish_article(article, by=user, at=future_time()),
        admin=lambda client, article: change(
            client, article, status=Status.PUBLISHED, published_at=future_time()
        ),
        done=scheduled,
    ),
    # On the actor's own draft, which a Reporter may edit: only "unpublish at" is refused them.
    "set an embargo on own draft": Action(
        setup=lambda people, user: ArticleFactory(draft=True, created_by=user),
        service=set_time_with_service("embargo_until"),
        admin=lambda client, article: change(client, article, embargo_until=future_time()),
        done=time_set("embargo_until"),
    ),
    "set when a story leaves the site": Action(
        setup=lambda people, user: ArticleFactory(draft=True, created_by=user),
        service=set_time_with_service("unpublish_at"),
        admin=lambda client, article: change(client, article, unpublish_at=future_time()),
        done=time_set("unpublish_at"),
    ),
    "unpublish": Action(
        setup=lambda people, user: ArticleFactory(created_by=people["writer"]),
        service=lambda user, article: workflow.unpublish_article(article, by=user),
        admin=lambda client, article: change(client, article, status=Status.DRAFT),
        done=status_is(Status.DRAFT),
    ),
    "withdraw": Action(
        setup=lambda people, user: ArticleFactory(created_by=people["writer"]),
        service=lambda user, article: workflow.withdraw_article(article, by=user),
        admin=lambda client, article: withdraw(client, article, "editorial"),
        done=status_is(Status.WITHDRAWN),
    ),
    "legal takedown": Action(
        setup=lambda people, user: ArticleFactory(created_by=people["writer"]),
        service=lambda user, article: takedown.take_down(
            article, by=user, legal=True, note="Court order"
        ),
        admin=lambda client, article: withdraw(client, article, "legal"),
        done=lambda article: Article.objects.get(pk=article.pk).withdrawn_reason == "legal",
    ),
    "return to reporter": Action(
        setup=lambda people, user: ArticleFactory(in_review=True, created_by=people["writer"]),
        service=lambda user, article: workflow.save_article(
            article, by=user, to=Status.DRAFT, note="Check the quote"
        ),
        admin=lambda client, article: move(client, article, "return", move_note="Check it"),
        done=status_is(Status.DRAFT),
    ),
    "share a preview link": Action(
        setup=lambda people, user: ArticleFactory(draft=True, created_by=people["writer"]),
        service=lambda user, article: shared_previews.share(article, by=user),
        admin=lambda client, article: client.post(
            reverse("admin:articles_article_preview_links", args=[article.pk]), {"days": "1"}
        ),
        done=lambda article: PreviewLink.objects.filter(article=article).exists(),
    ),
    "post a live entry": Action(
        setup=lambda people, user: ArticleFactory(live_status=Article.LiveStatus.LIVE),
        service=lambda user, article: live.post_entry(article, by=user, body="<p>Gales.</p>"),
        admin=lambda client, article: client.post(
            reverse("admin:articles_article_live_post", args=[article.pk]), {"text": "Gales."}
        ),
        done=lambda article: LiveEntry.objects.filter(article=article).exists(),
    ),
    "publish a live entry": Action(
        setup=lambda people, user: ArticleFactory(live_status=Article.LiveStatus.LIVE),
        service=lambda user, article: live.post_entry(
            article, by=user, body="<p>Gales.</p>", publish=True
        ),
        admin=lambda client, article: client.post(
            reverse("admin:articles_article_live_post", args=[article.pk]),
            {"text": "Gales.", "publish": "on"},
        ),
        done=lambda article: LiveEntry.objects.filter(
            article=article, status=LiveEntry.Status.PUBLISHED
        ).exists(),
    ),
    # On the actor's own draft, so a Reporter may save it: only the flags are refused.
    "flag breaking or featured": Action(
        # Flags are for stories out (or scheduled): a published one, by the user acting.
        setup=lambda people, user: ArticleFactory(created_by=user),
        service=flag_with_service,
        admin=lambda client, article: change(client, article, is_breaking=True, is_featured=True),
        done=flags_set,
    ),
    "delete own draft": Action(
        setup=lambda people, user: ArticleFactory(draft=True, created_by=user),
        service=check_delete_rule,
        admin=delete,
        done=lambda article: not Article.objects.filter(pk=article.pk).exists(),
    ),
    "delete published": Action(
        setup=lambda people, user: ArticleFactory(created_by=people["writer"]),
        service=check_delete_rule,
        admin=delete,
        done=lambda article: not Article.objects.filter(pk=article.pk).exists(),
    ),
    "manage sections, authors and tags": Action(
        setup=lambda people, user: None,
        service=check_manage_rule,
        admin=manage_through_admin,
        done=managed,
    ),
}
MATRIX = [
    pytest.param(action, role, role in ALLOWED[action], id=f"{action}-{role}")
    for action in ACTIONS
    for role in ROLES
]


@pytest.fixture
def managed_things():
    AuthorFactory(name="Agency Desk")
    Tag.objects.create(name="politics", slug="politics")


@pytest.mark.parametrize(("action", "role", "allowed"), MATRIX)
def test_the_workflow_services_allow_exactly_the_roles_in_the_matrix(
    people, managed_things, action, role, allowed
):
    user = people[role]
    case = ACTIONS[action]
    article = case.setup(people, user)
    if allowed:
        case.service(user, article)
        assert case.done(article)
    else:
        with pytest.raises(PermissionDenied):
            case.service(user, article)
        assert not case.done(article)
        if action == "manage sections, authors and tags":
            assert nothing_managed(article)


@pytest.mark.parametrize(("action", "role", "allowed"), MATRIX)
def test_the_admin_allows_exactly_the_roles_in_the_matrix_whatever_is_posted(
    client, people, managed_things, action, role, allowed
):
    user = people[role]
    case = ACTIONS[action]
    article = case.setup(people, user)
    client.force_login(user)
    response = case.admin(client, article)
    if allowed:
        assert case.done(article), getattr(response, "context", None) and _errors(response)
    else:
        assert not case.done(article)
        if action == "manage sections, authors and tags":
            assert nothing_managed(article)
        if role == "outsider":
            assert response.status_code == 302
            assert response["Location"].startswith(reverse("admin:login"))


def _errors(response):
    admin_form = response.context.get("adminform") if response.context else None
    return admin_form.form.errors if admin_form else response.status_code


def test_a_reporters_forged_post_setting_published_does_not_publish(client, people):
    writer = people["writer"]
    article = ArticleFactory(in_review=True, created_by=writer)
    client.force_login(writer)

    response = change(
        client,
        article,
        status=Status.PUBLISHED,
        published_at=timezone.now() - timedelta(minutes=5),
        is_breaking=True,
    )

    assert response.status_code == 200
    assert "status" in response.context["adminform"].form.errors
    stored = Article.objects.get(pk=article.pk)
    assert (stored.status, stored.published_at, stored.is_breaking) == (Status.REVIEW, None, False)
    assert not Transition.objects.filter(article=article).exists()
    assert client.get(stored.get_absolute_url()).status_code == 404


def test_a_reporter_is_offered_only_the_statuses_they_may_give(client, people):
    writer = people["writer"]
    article = ArticleFactory(draft=True, created_by=writer)
    client.force_login(writer)
    form = (
        client.get(reverse("admin:articles_article_change", args=[article.pk]))
        .context["adminform"]
        .form
    )
    assert [value for value, _ in form.fields["status"].choices] == [Status.DRAFT, Status.REVIEW]
    assert "published_at" not in form.fields and "is_breaking" not in form.fields


def test_a_reporter_sees_a_published_story_read_only(client, people):
    article = ArticleFactory(created_by=people["writer"])
    client.force_login(people["writer"])
    response = client.get(reverse("admin:articles_article_change", args=[article.pk]))
    assert response.status_code == 200
    assert not response.context["has_change_permission"]
    html = response.content.decode()
    assert 'name="_save"' not in html and 'name="headline"' not in html


def test_a_reporter_may_delete_their_own_draft_after_it_went_to_review_and_back(client, people):
    writer, editor = people["writer"], people["editor"]
    article = ArticleFactory(draft=True, created_by=writer)
    workflow.submit_for_review(article, by=writer)
    workflow.transition_article(article, to=Status.DRAFT, by=editor)
    client.force_login(writer)

    delete(client, article)

    assert not Article.objects.filter(pk=article.pk).exists()


def test_a_reporter_cannot_delete_published_stories_with_the_delete_selected_action(client, people):
    writer = people["writer"]
    own_draft = ArticleFactory(draft=True, created_by=writer)
    published = ArticleFactory(created_by=writer)
    client.force_login(writer)

    client.post(
        reverse("admin:articles_article_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [own_draft.pk, published.pk],
            "post": "yes",
        },
    )

    assert Article.objects.filter(pk=published.pk).exists()


def test_an_editor_may_delete_selected_stories_of_any_status(client, people):
    stories = [ArticleFactory(draft=True, created_by=people["writer"]), ArticleFactory()]
    client.force_login(people["editor"])
    client.post(
        reverse("admin:articles_article_changelist"),
        {"action": "delete_selected", "_selected_action": [s.pk for s in stories], "post": "yes"},
    )
    assert not Article.objects.filter(pk__in=[s.pk for s in stories]).exists()


@pytest.mark.parametrize("trait", ["draft", "in_review", "withdrawn"])
def test_no_move_outside_the_workflow_is_allowed_even_for_a_superuser(people, trait):
    article = ArticleFactory(**{trait: True})
    impossible = {
        "draft": Status.WITHDRAWN,
        "in_review": Status.WITHDRAWN,
        "withdrawn": Status.PUBLISHED,
    }[trait]
    with pytest.raises(PermissionDenied):
        workflow.transition_article(article, to=impossible, by=people["superuser"])
