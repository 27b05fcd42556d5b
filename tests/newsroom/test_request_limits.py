"""Request bodies are bounded by who sends them, before anything reads them."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def spool(settings, tmp_path):
    """Where Django would write an uploaded file too big for memory."""
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    return tmp_path


def big_upload(size: int) -> dict:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return {"email": "reader@example.com", "file": SimpleUploadedFile("x.bin", b"x" * size)}


@pytest.mark.parametrize("url", ["/newsletters/sign-up/", "/admin/login/", "/search/", "/"])
def test_an_anonymous_body_over_the_public_limit_is_refused_unread(url, spool, settings):
    settings.NEWSROOM_PUBLIC_BODY_MAX_BYTES = 65_536
    response = Client().post(url, big_upload(5_000_000))
    assert response.status_code == 413
    assert "at most 65,536" in response.content.decode()
    assert list(spool.iterdir()) == []  # nothing was parsed or spooled to disk


def test_a_sign_up_of_ordinary_size_still_goes_through(settings):
    response = Client().post(reverse("newsletters:signup"), {"email": "reader@example.com"})
    assert response.status_code != 413


def test_staff_may_send_bodies_up_to_the_staff_limit(settings, spool):
    settings.NEWSROOM_STAFF_BODY_MAX_BYTES = 2_000_000
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = reverse("admin:articles_article_add")
    assert client.post(url, big_upload(1_000_000)).status_code != 413
    assert client.post(url, big_upload(3_000_000)).status_code == 413


def test_a_malformed_content_length_is_a_bad_request():
    response = Client().generic("POST", "/newsletters/sign-up/", b"x", CONTENT_LENGTH="ten")
    assert response.status_code == 400
