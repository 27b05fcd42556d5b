"""Publishing to Apple News (`api.apple_news_api`) against a News API on 127.0.0.1 that checks
each request's HHMAC signature itself and reads the multipart body with the standard library:
a story published is created, changed is updated with the revision Apple gave (a stale one
read again), withdrawn is deleted; Apple down or answering 5xx is tried again later, a 4xx is
kept for the desk; nothing is sent while the channel is not set up."""

import base64
import email.parser
import email.policy
import hashlib
import hmac
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django_tasks_db.models import DBTaskResult

from api import apple_news, apple_news_api
from api.models import AppleNewsArticle
from articles.services import workflow
from tests.accounts.factories import UserFactory
from tests.articles.factories import ArticleFactory

pytestmark = pytest.mark.django_db
SECRET = base64.b64encode(b"a secret only Apple and the outlet know").decode()
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


class NewsAPI:
    """Apple's News API as far as Newsroom uses it, on a free loopback port."""

    def __init__(self):
        self.articles, self.calls, self.answers = {}, [], []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self._answer()

            def do_POST(self):
                self._answer()

            def do_DELETE(self):
                self._answer()

            def _answer(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, data = api.handle(self.command, self.path, self.headers, body)
                out = json.dumps(data).encode() if data is not None else b""
                self.send_response(status)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def signed(self, method, path, headers, body) -> bool:
        found = re.fullmatch(
            r'HHMAC; key="(.+)"; signature="(.+)"; date="(.+)"', headers["Authorization"] or ""
        )
        if not found or found[1] != "key-1":
            return False
        canonical = f"{method}{self.url}{path}{found[3]}".encode()
        if body:
            canonical += headers["Content-Type"].encode() + body
        digest = hmac.new(base64.b64decode(SECRET), canonical, hashlib.sha256).digest()
        return hmac.compare_digest(base64.b64encode(digest).decode(), found[2])

    def handle(self, method, path, headers, body):
        if not self.signed(method, path, headers, body):
            return 401, {"errors": [{"code": "UNAUTHORIZED"}]}
        parts = self.parts(headers, body) if body else {}
        self.calls.append((method, path, parts))
        if self.answers:
            return self.answers.pop(0)
        if method == "POST" and path == "/channels/channel-1/articles":
            article_id = f"apple-{len(self.articles) + 1}"
            self.articles[article_id] = {"revision": 1, "document": parts["article.json"]}
        elif method == "DELETE":
            return (204, None) if self.articles.pop(path.rsplit("/", 1)[1], None) else (404, {})
        else:
            article_id = path.rsplit("/", 1)[1]
            held = self.articles[article_id]
            if method == "POST":
                if parts["metadata"]["data"]["revision"] != f"r{held['revision']}":
                    return 409, {"errors": [{"code": "WRONG_REVISION"}]}
                held.update(revision=held["revision"] + 1, document=parts["article.json"])
        revision = f"r{self.articles[article_id]['revision']}"
        return 200, {
            "data": {"id": article_id, "revision": revision, "shareUrl": "https://apple.news/x"}
        }

    @staticmethod
    def parts(headers, body) -> dict:
        message = email.parser.BytesParser(policy=email.policy.default).parsebytes(
            f"Content-Type: {headers['Content-Type']}\r\n\r\n".encode() + body
        )
        return {
            part.get_filename(): json.loads(part.get_content()) for part in message.iter_parts()
        }


@pytest.fixture
def news_api(settings):
    api = NewsAPI()
    settings.NEWSROOM_APPLE_NEWS_API = api.url
    settings.NEWSROOM_APPLE_NEWS_CHANNEL = "channel-1"
    settings.NEWSROOM_APPLE_NEWS_KEY = "key-1"
    settings.NEWSROOM_APPLE_NEWS_SECRET = SECRET
    yield api
    api.server.shutdown()
    api.server.server_close()


@pytest.fixture
def editor():
    return UserFactory(username="eddie", editor=True)


def test_a_story_is_created_updated_and_deleted_as_readers_see_it(
    news_api, editor, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = IMMEDIATE
    story = ArticleFactory(in_review=True, headline="Gulls take the pier")
    with django_capture_on_commit_callbacks(execute=True):
        workflow.save_article(story, by=editor, to="published")
    record = AppleNewsArticle.objects.get(story=story)
    assert (record.apple_id, record.revision, record.last_error) == ("apple-1", "r1", "")
    document = news_api.articles["apple-1"]["document"]
    assert apple_news.problems(document) == [] and document["title"] == "Gulls take the pier"

    story.refresh_from_db()
    story.headline = "Gulls take the whole pier"
    with django_capture_on_commit_callbacks(execute=True):
        workflow.save_article(story, by=editor, substantive=True)
    method, path, parts = news_api.calls[-1]
    assert (method, path, parts["metadata"]) == (
        "POST",
        "/articles/apple-1",
        {"data": {"revision": "r1"}},
    )
    assert news_api.articles["apple-1"]["document"]["title"] == "Gulls take the whole pier"
    assert AppleNewsArticle.objects.get(story=story).revision == "r2"

    story.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        workflow.withdraw_article(story, by=editor, legal=True, note="Injunction")
    assert news_api.calls[-1][:2] == ("DELETE", "/articles/apple-1") and not news_api.articles
    assert AppleNewsArticle.objects.get(story=story).apple_id == ""


def test_a_revision_changed_at_apple_is_read_again_and_the_update_made(news_api):
    story = ArticleFactory(headline="Pier collapses")
    assert apple_news_api.sync(story.pk) == "created"
    news_api.articles["apple-1"]["revision"] = 7  # changed in News Publisher meanwhile
    assert apple_news_api.sync(story.pk) == "updated"
    assert [c[:2] for c in news_api.calls[-3:]] == [
        ("POST", "/articles/apple-1"), ("GET", "/articles/apple-1"), ("POST", "/articles/apple-1")
    ]  # fmt: skip
    assert AppleNewsArticle.objects.get(story=story).revision == "r8"


def test_apple_down_or_failing_is_tried_again_later_and_a_refusal_kept(news_api, settings):
    story = ArticleFactory()
    news_api.answers = [(503, {"errors": [{"code": "SERVICE_UNAVAILABLE"}]})]
    assert apple_news_api.sync_task.call(story.pk) == "to try again"
    [retry] = DBTaskResult.objects.filter(task_path__endswith="apple_news_api.sync_task")
    assert retry.args_kwargs["args"] == [story.pk, 2] and retry.run_after > retry.enqueued_at
    assert "503" in AppleNewsArticle.objects.get(story=story).last_error

    settings.NEWSROOM_APPLE_NEWS_API = "http://127.0.0.1:9"  # nothing listens: down
    assert apple_news_api.sync_task.call(story.pk, 2) == "to try again"

    settings.NEWSROOM_APPLE_NEWS_API = news_api.url
    news_api.answers = [(400, {"errors": [{"code": "INVALID_DOCUMENT"}]})]
    assert apple_news_api.sync_task.call(story.pk, 3) == "refused"
    assert "INVALID_DOCUMENT" in AppleNewsArticle.objects.get(story=story).last_error
    assert apple_news_api.sync_task.call(story.pk, 4) == "created"  # the next change goes
    assert AppleNewsArticle.objects.get(story=story).last_error == ""


def test_a_wrong_secret_is_refused_by_apple_and_kept(news_api, settings):
    settings.NEWSROOM_APPLE_NEWS_SECRET = base64.b64encode(b"not the secret").decode()
    story = ArticleFactory()
    assert apple_news_api.sync_task.call(story.pk) == "refused"
    assert "401" in AppleNewsArticle.objects.get(story=story).last_error and not news_api.articles


def test_nothing_is_sent_while_the_channel_is_not_set_up(
    news_api, editor, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = IMMEDIATE
    settings.NEWSROOM_APPLE_NEWS_CHANNEL = ""
    story = ArticleFactory(in_review=True)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.save_article(story, by=editor, to="published")
    assert news_api.calls == [] and not AppleNewsArticle.objects.exists()
