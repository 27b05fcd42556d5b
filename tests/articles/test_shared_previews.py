"""Shareable preview links: an unpublished story shown to someone without a login, through a
link that is unguessable, kept only as a hash, expiring, revocable and never indexed."""

import hashlib
import re
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from articles import shared_previews
from articles.models import PreviewLink
from tests.accounts.factories import UserFactory
from tests.articles.factories import ArticleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(writer):
    return ArticleFactory(draft=True, headline="Embargoed: the budget leak", created_by=writer)


def test_a_shared_link_shows_the_draft_without_a_login_and_is_never_indexed(client, draft, editor):
    assert client.get(draft.get_absolute_url()).status_code == 404  # not out
    link, path = shared_previews.share(draft, by=editor, days=3)
    token = path.rstrip("/").rsplit("/", 1)[1]
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(PreviewLink.objects.values_list(flat=True))  # only its hash kept
    response = client.get(path)
    assert response.status_code == 200 and "Embargoed: the budget leak" in response.content.decode()
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert response["Cache-Control"] == "private, no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    assert "X-Page-Cache" not in client.get(path).headers  # never from the page cache
    link.refresh_from_db()
    assert link.opened == 2 and timedelta(days=3) - (link.expires_at - timezone.now()) < timedelta(
        minutes=1
    )


def test_an_expired_revoked_or_made_up_link_opens_nothing(client, draft, editor):
    link, path = shared_previews.share(draft, by=editor)
    PreviewLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(path).status_code == 404
    link, path = shared_previews.share(draft, by=editor)
    shared_previews.revoke(link, by=editor)
    assert client.get(path).status_code == 404
    assert client.get(reverse("articles:shared-preview", args=["made-up"])).status_code == 404


def test_only_who_may_preview_the_story_may_share_it(draft, writer):
    other = UserFactory(username="other", reporter=True)
    with pytest.raises(PermissionDenied):
        shared_previews.share(draft, by=other)
    with pytest.raises(ValidationError):
        shared_previews.share(draft, by=writer, days=365)
    shared_previews.share(draft, by=writer)  # the story's own writer may


def test_the_admin_makes_a_link_shows_it_once_and_revokes_it(client, draft, editor):
    client.force_login(editor)
    change = reverse("admin:articles_article_change", args=[draft.pk])
    url = reverse("admin:articles_article_preview_links", args=[draft.pk])
    assert client.get(url).status_code == 405
    response = client.post(url, {"days": "1"}, follow=True)
    shown = " ".join(str(m) for m in response.context["messages"])
    (address,) = re.findall(r"http://testserver(/preview/[^/\s]+/)", shown)
    client.logout()
    assert client.get(address).status_code == 200
    client.force_login(editor)
    page = client.get(change).content.decode()
    assert address not in page  # shown once, in the message only
    link = PreviewLink.objects.get()
    client.post(url, {"revoke": str(link.pk)})
    client.logout()
    assert client.get(address).status_code == 404
