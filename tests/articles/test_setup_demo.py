"""`manage.py setup_demo`, which `make run` uses on a first run."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from articles.models import Article

pytestmark = pytest.mark.django_db


def run_setup() -> str:
    out = StringIO()
    call_command("setup_demo", stdout=out)
    return out.getvalue()


def test_first_run_loads_the_demo_stories_and_prints_a_working_editor_login(client):
    out = run_setup()
    assert Article.objects.published().count() == 13
    username, password = re.search(r"username “(\w+)”, password “([^”]+)”", out).groups()
    response = client.post(
        reverse("admin:login"), {"username": username, "password": password, "next": "/admin/"}
    )
    assert response.status_code == 302 and response["Location"] == "/admin/"
    index = client.get("/admin/").content.decode()
    assert "Articles" in index and "Newsletters" in index
    assert "Users" not in index  # an editor, not an administrator


def test_running_it_again_keeps_the_stories_and_gives_a_new_password(client):
    first = re.search(r"password “([^”]+)”", run_setup()).group(1)
    out = run_setup()
    second = re.search(r"password “([^”]+)”", out).group(1)
    assert "demo content not loaded again" in out
    assert Article.objects.count() == 13 and first != second
