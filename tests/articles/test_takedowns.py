"""Taking a story down from the admin: a reason and a note, both required and recorded in the
audit list; a legal takedown removes from storage the pictures only that story shows."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.urls import reverse

from articles.models import Article, Takedown, Transition
from articles.services import takedown
from pictures import placements
from pictures.models import Image
from tests.articles.factories import ArticleFactory
from tests.pictures.factories import ImageFactory

pytestmark = pytest.mark.django_db


def stored_files(image) -> list[str]:
    folder = placements.directory(image.pk, image.rendition_key)
    renditions = [folder + name for name in default_storage.listdir(folder)[1]]
    return [image.file.name, *renditions]


def test_a_legal_takedown_from_the_admin_gives_410_and_removes_the_pictures_files(
    client, editor, django_capture_on_commit_callbacks
):
    own = ImageFactory(caption="The claimant's house")
    shared = ImageFactory(caption="Stock picture of a court")
    story = ArticleFactory(headline="What the neighbours said", hero_image=own)
    story.pictures.set([own, shared])
    other = ArticleFactory(hero_image=shared)
    other.pictures.set([shared])
    files = stored_files(own)
    assert all(default_storage.exists(name) for name in files)

    client.force_login(editor)
    url = reverse("admin:articles_article_withdraw", args=[story.pk])
    page = client.get(url).content.decode()
    assert "Legal reason" in page and "Editorial decision" in page
    assert client.post(url, {"reason": "legal", "note": ""}).status_code == 200  # note required
    assert Article.objects.get(pk=story.pk).status == Article.Status.PUBLISHED
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"reason": "legal", "note": "Injunction, High Court"})
    assert response.status_code == 302

    client.logout()
    gone = client.get(story.get_absolute_url())
    assert gone.status_code == 410 and "removed for legal reasons" in gone.content.decode()
    assert not any(default_storage.exists(name) for name in files)
    own = Image.objects.get(pk=own.pk)
    assert own.rendition_key == "" and not own.is_shown and not own.file
    assert default_storage.exists(shared.file.name)  # another story still shows it
    record = Takedown.objects.get()
    assert record.legal and record.note == "Injunction, High Court" and record.by == editor
    assert record.pictures_removed == [{"id": own.pk, "caption": "The claimant's house"}]
    assert record.pictures_kept == [{"id": shared.pk, "caption": "Stock picture of a court"}]
    move = Transition.objects.get(article=story, to_status=Article.Status.WITHDRAWN)
    assert move.note == "Injunction, High Court"

    client.force_login(editor)
    audit = client.get(reverse("admin:articles_takedown_changelist")).content.decode()
    assert "What the neighbours said" in audit and "Injunction, High Court" in audit


def test_an_editorial_withdrawal_keeps_the_pictures_and_says_so_plainly(client, editor):
    picture = ImageFactory()
    story = ArticleFactory(hero_image=picture)
    story.pictures.set([picture])
    takedown.take_down(story, by=editor, legal=False, note="Duplicate of another story")
    gone = client.get(story.get_absolute_url())
    assert gone.status_code == 410 and "no longer available" in gone.content.decode()
    assert default_storage.exists(picture.file.name)
    assert Takedown.objects.get().pictures_removed == []


def test_a_takedown_without_a_note_is_refused_and_changes_nothing(editor):
    story = ArticleFactory()
    with pytest.raises(ValidationError, match="Say why"):
        takedown.take_down(story, by=editor, legal=True, note="  ")
    assert Article.objects.get(pk=story.pk).status == Article.Status.PUBLISHED
    assert not Takedown.objects.exists()


def test_the_story_form_no_longer_offers_withdrawn_and_refuses_it_if_posted(client, editor):
    from tests.articles.admin_forms import article_post_data

    story = ArticleFactory()
    client.force_login(editor)
    url = reverse("admin:articles_article_change", args=[story.pk])
    form = client.get(url).content.decode()
    assert 'value="withdrawn"' not in form and "Withdraw…" in form
    client.post(url, article_post_data(story, status=Article.Status.WITHDRAWN))
    assert Article.objects.get(pk=story.pk).status == Article.Status.PUBLISHED
