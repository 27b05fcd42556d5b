"""Uploaded media served by the app itself, when NEWSROOM_SERVE_MEDIA says so (`make run`);
production leaves it to nginx or object storage."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.articles.factories import ArticleFactory

ROOT = Path(__file__).resolve().parents[2]


def setting(expression: str, **env) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "NEWSROOM_"))}
    result = subprocess.run(
        [sys.executable, "-c", f"from newsroom import settings as s; print({expression})"],
        cwd=ROOT,
        env={**clean, "DJANGO_SECRET_KEY": "x", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_serving_media_is_its_own_setting_off_by_default():
    assert setting("s.SERVE_MEDIA") == "False"
    assert setting("s.SERVE_MEDIA", NEWSROOM_SERVE_MEDIA="1") == "True"
    assert setting("s.SERVE_MEDIA", NEWSROOM_SERVE_MEDIA="0", DJANGO_DEBUG="1") == "False"
    # A development server has nothing else in front either.
    assert setting("s.SERVE_MEDIA", DJANGO_DEBUG="1") == "True"


def media_urls(html: str) -> list[str]:
    return sorted(set(re.findall(r"/media/[^\s\"',]+", html)))


@pytest.mark.django_db
def test_an_uploaded_picture_shows_on_the_story_with_debug_off(client, settings):
    settings.DEBUG = False
    settings.SERVE_MEDIA = True
    story = ArticleFactory(with_hero=True)
    urls = media_urls(client.get(story.get_absolute_url()).content.decode())
    for extension in (".avif", ".webp", ".jpeg"):
        assert any(url.endswith(extension) for url in urls), extension
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Content-Type"] in {"image/jpeg", "image/webp", "image/avif"}
        assert "public" in response["Cache-Control"]
        path = Path(settings.MEDIA_ROOT) / url.removeprefix("/media/")
        assert b"".join(response.streaming_content) == path.read_bytes()
        response.close()


@pytest.mark.django_db
def test_media_is_not_served_when_the_setting_is_off(client, settings):
    settings.SERVE_MEDIA = False
    story = ArticleFactory(with_hero=True)
    assert client.get(story.hero_image.file.url).status_code == 404


@pytest.mark.django_db
def test_media_serving_stays_inside_media_root(client, settings, tmp_path):
    settings.SERVE_MEDIA = True
    (tmp_path / "secret.txt").write_text("not for readers")
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    # Refused as a suspicious path (400) or not found (404); never the file.
    for path in ["/media/../secret.txt", "/media/%2e%2e/secret.txt", "/media/..%2fsecret.txt"]:
        assert client.get(path).status_code in {400, 404}, path
    assert client.get("/media/").status_code == 404  # no directory listings
