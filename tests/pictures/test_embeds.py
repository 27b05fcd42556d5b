"""Embeds: a link pasted into a story becomes a snapshot on the server, fetched by oEmbed from
a provider served on 127.0.0.1 by the test; readers see the snapshot and nothing of the
provider's until they click. A provider that times out, answers junk or refuses leaves a
clear message for the editor and nothing saved."""

from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from articles.models import Article, Section
from pictures.embeds import EmbedError, snapshot_embed
from pictures.models import Embed, Image
from tests.articles.admin_forms import article_post_data

from .provider import LINK, Provider

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider(settings):
    with Provider() as running:
        settings.NEWSROOM_OEMBED_PROVIDERS = [
            running.settings_entry(),
            *[p for p in settings.NEWSROOM_OEMBED_PROVIDERS if p["name"] == "Instagram"],
        ]
        settings.NEWSROOM_OEMBED_TIMEOUT = 0.5
        yield running


def save_story(client, link, headline="Gull caught on camera"):
    article = Article(headline=headline, section=Section.objects.get(slug="news"))
    data = article_post_data(
        article, slug="", body=f'<p>Watch this.</p><p class="embed">{link}</p>'
    )
    return client.post(reverse("admin:articles_article_add"), data)


def body_errors(response) -> list[str]:
    assert response.status_code == 200, "the story was saved"
    return response.context["adminform"].form.errors["body"]


def stored_files():
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def nothing_saved():
    return (Article.objects.count(), Embed.objects.count(), Image.objects.count(), stored_files())


def test_a_pasted_link_becomes_a_snapshot_and_readers_see_only_the_snapshot(
    provider, editor_client, client
):
    link = LINK.format(id="abc123")
    response = save_story(editor_client, link)

    assert response.status_code == 302
    embed = Embed.objects.select_related("thumbnail").get()
    assert (embed.url, embed.provider, embed.kind) == (link, "TestTube", "video")
    assert embed.title == "Seagull steals chips live on camera"
    assert (embed.author_name, embed.author_url) == ("PierCam", "https://testtube.example/piercam")
    # The player comes from the provider's settings, never from the answer's HTML.
    assert embed.player_url == f"{provider.origin}/player/abc123?autoplay=1"
    thumbnail = embed.thumbnail
    assert (thumbnail.width, thumbnail.licence, thumbnail.credit) == (640, "embed", "PierCam")
    assert thumbnail.is_shown  # copied into the library, renditions made
    story = Article.objects.get()
    assert set(story.pictures.all()) == {thumbnail}

    story.status, story.published_at = Article.Status.PUBLISHED, story.created_at
    story.save()
    provider.requests.clear()
    page = client.get(story.get_absolute_url())
    html = page.content.decode()
    assert "Seagull steals chips live on camera" in html and "PierCam" in html
    assert f'data-player="{embed.player_url}"' in html
    assert "<iframe" not in html and "evil.example" not in html
    assert provider.origin not in html.replace(f'data-player="{embed.player_url}"', "")
    assert f"frame-src {provider.origin}" in page["Content-Security-Policy"]
    assert provider.requests == []  # the page asked the provider nothing


def test_the_snapshot_outlives_the_original(provider, editor_client, client):
    link = LINK.format(id="gone42")
    assert save_story(editor_client, link).status_code == 302
    provider.mode = "missing"  # the post is deleted

    assert snapshot_embed(link).title == "Seagull steals chips live on camera"
    assert save_story(editor_client, link, headline="The same video again").status_code == 302
    assert Embed.objects.count() == 1


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        (
            "slow",
            "TestTube did not answer within 0.5 seconds, so the embed was not made and nothing "
            "was saved. Try saving again in a minute.",
        ),
        (
            "junk",
            "TestTube's answer about this link was not oEmbed data, so the embed was not made "
            "and nothing was saved. Check the link, or try again later.",
        ),
        (
            "no-version",
            "TestTube's answer about this link was not oEmbed data (no version or type), so the "
            "embed was not made and nothing was saved.",
        ),
        (
            "missing",
            "TestTube says there is no such post or video (404): it may have been deleted or "
            "made private. The embed was not made and nothing was saved.",
        ),
    ],
)
def test_a_provider_that_fails_leaves_a_clear_message_and_nothing_saved(
    provider, editor_client, mode, message
):
    provider.mode = mode
    link = LINK.format(id="x1")

    assert body_errors(save_story(editor_client, link)) == [f"{link}: {message}"]
    assert nothing_saved() == (0, 0, 0, [])


def test_a_link_no_provider_answers_for_is_refused_by_name(provider, editor_client):
    [error] = body_errors(save_story(editor_client, "https://www.example.com/some/post"))
    assert "Links from www.example.com cannot be embedded" in error
    assert nothing_saved() == (0, 0, 0, [])


def test_a_provider_needing_a_token_says_so(provider, editor_client, settings):
    [error] = body_errors(save_story(editor_client, "https://www.instagram.com/p/Cx1/"))
    assert "Instagram embeds need the newsroom's access token (NEWSROOM_OEMBED_META_TOKEN)" in error
    assert nothing_saved() == (0, 0, 0, [])


def test_a_post_without_a_thumbnail_gets_a_card_drawn_for_it(provider):
    provider.mode = "no-thumbnail"
    embed = snapshot_embed(LINK.format(id="text1"))
    assert (embed.thumbnail.width, embed.thumbnail.height) == (1200, 675)
    assert embed.thumbnail.caption == "Seagull steals chips live on camera"


def test_snapshot_errors_are_validation_errors_the_form_can_show(provider):
    provider.mode = "junk"
    with pytest.raises(EmbedError):
        snapshot_embed(LINK.format(id="y"))
