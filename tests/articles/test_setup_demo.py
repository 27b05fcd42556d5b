"""`manage.py setup_demo`, which `make run` uses on a first run."""

import re
from base64 import b32decode
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from lxml import html

from articles import demo
from articles.management.commands import setup_demo
from articles.models import Article, LiveEntry

pytestmark = pytest.mark.django_db


def run_setup() -> str:
    out = StringIO()
    call_command("setup_demo", stdout=out)
    return out.getvalue()


def printed_login(out: str) -> tuple[str, str, str, list[str]]:
    """Username, password, authenticator key and recovery codes, as `make run` shows them."""
    username, password = re.search(r"username “(\w+)”, password “([^”]+)”", out).groups()
    key = re.search(r"the key “([A-Z2-7 ]+)”", out).group(1)
    codes = re.search(r"recovery codes: (.+)$", out, re.MULTILINE).group(1).split(", ")
    return username, password, key, codes


def log_in(client, username, password, code):
    response = client.post(
        reverse("admin:login"), {"username": username, "password": password, "next": "/admin/"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:two_factor_verify")
    return client.post(reverse("admin:two_factor_verify"), {"code": code})


@pytest.fixture
def no_renditions(monkeypatch):
    """For the tests of the login alone: making every demo picture's renditions takes
    seconds, and the first test checks them."""
    monkeypatch.setattr(demo.upkeep, "bring_renditions_up_to_date", lambda pk: None)


def test_first_run_loads_the_demo_stories_and_prints_a_working_editor_login(client):
    out = run_setup()
    # The thirteen seed stories and the live blog.
    assert Article.objects.published().count() == 14
    assert "Installed 15 demo pictures" in out
    # Every story shows its picture: a picture-led front page from the first run.
    assert all(story.hero is not None for story in Article.objects.select_related("hero_image"))
    home = client.get("/").content.decode()
    assert home.count("<picture") >= 13 and 'fetchpriority="high"' in home
    username, password, key, _codes = printed_login(out)
    # What an authenticator app given the printed key shows.
    code = f"{TOTP(b32decode(key.replace(' ', ''))).token():06d}"
    response = log_in(client, username, password, code)
    assert response.status_code == 302 and response["Location"] == "/admin/"
    index = client.get("/admin/").content.decode()
    assert "Stories" in index and "Newsletters" in index
    assert "Users" not in index  # an editor, not an administrator


def test_a_printed_recovery_code_logs_the_demo_editor_in_once(client, no_renditions):
    username, password, _key, codes = printed_login(run_setup())
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z2-7]{4}-[a-z2-7]{4}", c) for c in codes)
    assert log_in(client, username, password, codes[0])["Location"] == "/admin/"
    client.logout()
    again = log_in(client, username, password, codes[0])
    assert again.status_code == 200 and "not right" in again.content.decode()


def test_running_it_again_keeps_the_stories_and_the_logins(client, no_renditions, settings):
    out = run_setup()
    _, first_password, first_key, first_codes = printed_login(out)
    again = run_setup()
    _, password, key, codes = printed_login(again)
    assert "demo content not loaded again" in again
    assert Article.objects.count() == 14
    assert (password, key, codes) == (first_password, first_key, first_codes)
    kept = Path(settings.NEWSROOM_DEMO_LOGINS_FILE)
    assert kept.stat().st_mode & 0o777 == 0o600  # passwords: its owner's only
    assert first_password in kept.read_text()


def test_new_logins_replace_the_kept_ones(client, no_renditions):
    _, first_password, first_key, first_codes = printed_login(run_setup())
    out = StringIO()
    call_command("setup_demo", "--new-logins", stdout=out)
    _, password, key, codes = printed_login(out.getvalue())
    assert first_password != password and first_key != key
    assert not set(first_codes) & set(codes)
    old_key_code = f"{TOTP(b32decode(first_key.replace(' ', ''))).token():06d}"
    assert log_in(client, "editor", password, old_key_code).status_code == 200  # refused


def test_a_login_per_role_the_reporter_without_a_second_factor(client, no_renditions):
    out = run_setup()
    found = dict(re.findall(r"Demo ([a-z ]+) login for /admin/: username “(\w+)”", out))
    assert found == {"editor": "editor", "reporter": "reporter", "newsletter editor": "newsletters"}
    password = re.search(r"username “reporter”, password “([^”]+)”", out).group(1)
    response = client.post(
        reverse("admin:login"), {"username": "reporter", "password": password, "next": "/admin/"}
    )
    assert response.status_code == 302 and response["Location"] == "/admin/"
    index = client.get("/admin/").content.decode()
    assert "Stories" in index and "Newsletters" not in index


def test_the_demo_has_a_live_blog_still_live_with_pictures_and_an_embed(client, no_renditions):
    out = run_setup()
    blog = Article.objects.get(live_status=Article.LiveStatus.LIVE)
    assert f"Made the demo live blog: {blog.get_absolute_url()}" in out
    entries = list(blog.live_entries.filter(status=LiveEntry.Status.PUBLISHED))
    assert len(entries) >= 25
    bodies = "".join(entry.body for entry in entries)
    assert 'class="picture"' in bodies and 'class="gallery"' in bodies
    assert 'class="embed"' in bodies
    newest = max(entry.posted_at for entry in entries)
    assert timezone.now() - newest < timedelta(minutes=10)  # "live": updated minutes ago
    home = html.fromstring(client.get("/").content)
    assert home.xpath('//section[@class="breaking"]//a/text()') == [blog.headline]
    assert home.xpath('//*[@class="lead__headline"]/a/span[@class="badge-live"]')
    page = html.fromstring(client.get(blog.get_absolute_url()).content)
    assert page.xpath('//figure[contains(@class, "embed")]')
    assert len(page.xpath("//*[@data-entry]")) == 20  # the first page of entries
    # Run again: not made twice.
    run_setup()
    assert Article.objects.filter(live_status=Article.LiveStatus.LIVE).count() == 1


def test_keep_posting_adds_entries_on_a_timer_and_leaves_the_login_alone(
    monkeypatch, no_renditions
):
    _, password, _key, _codes = printed_login(run_setup())
    blog = Article.objects.get(live_status=Article.LiveStatus.LIVE)
    before = blog.live_entries.count()
    naps = []

    def nap(seconds):
        naps.append(seconds)
        if len(naps) > 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(setup_demo.time, "sleep", nap)
    out = StringIO()
    call_command("setup_demo", "--keep-posting", "20", stdout=out)
    assert naps == [20, 20, 20] and "Stopped posting" in out.getvalue()
    assert "password" not in out.getvalue()
    added = blog.live_entries.order_by("-posted_at")[:2]
    assert blog.live_entries.count() == before + 2
    assert all(entry.status == LiveEntry.Status.PUBLISHED for entry in added)
    editor = get_user_model().objects.get(username="editor")
    assert editor.check_password(password)
