"""Edge purges (`newsroom.purge`): each backend's requests as its API wants them, checked
against a recording HTTP server on loopback; batching; and a purge that an edge does not take
is retried later, as a durable task, until it does."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django_tasks_db.models import DBTaskResult

from newsroom import cache as page_cache
from newsroom import purge

pytestmark = pytest.mark.django_db


class Recorder:
    """An HTTP server on 127.0.0.1 that records every request and answers `status` with
    `body` (JSON), or closes the connection while `down`."""

    def __init__(self):
        self.requests, self.status, self.body, self.down = [], 200, {"success": True}, False
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                recorder.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": self.rfile.read(length) if length else b"",
                    }
                )
                if recorder.down:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                payload = json.dumps(recorder.body).encode()
                self.send_response(recorder.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_PURGE = do_POST = do_GET = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder():
    with Recorder() as server:
        yield server


KEYS = [f"a{n}" for n in range(1, 301)]


def test_varnish_gets_purge_requests_with_the_keys_in_batches(recorder):
    sent = purge.VarnishPurge(urls=[recorder.url, recorder.url]).purge(KEYS, soft=False)
    assert sent == 6  # 300 keys, 100 a request, two Varnishes
    assert {r["method"] for r in recorder.requests} == {"PURGE"}
    got = [key for r in recorder.requests[:3] for key in r["headers"]["xkey-purge"].split()]
    assert got == KEYS


def test_a_soft_purge_asks_varnish_to_keep_serving_the_old_copy_meanwhile(recorder):
    purge.VarnishPurge(urls=[recorder.url]).purge(["home"], soft=True)
    [request] = recorder.requests
    assert request["headers"]["xkey-softpurge"] == "home"
    assert "xkey-purge" not in request["headers"]


def test_fastly_gets_its_surrogate_key_purge_api(recorder):
    backend = purge.FastlyPurge(service_id="SVC1", token="tok", api_url=recorder.url)
    assert backend.purge(KEYS, soft=True) == 2  # 256 keys a request
    first = recorder.requests[0]
    assert (first["method"], first["path"]) == ("POST", "/service/SVC1/purge")
    assert first["headers"]["fastly-key"] == "tok"
    assert first["headers"]["fastly-soft-purge"] == "1"
    assert first["headers"]["surrogate-key"].split() == KEYS[:256]


def test_cloudflare_gets_its_cache_tag_purge_api(recorder):
    backend = purge.CloudflarePurge(zone_id="Z9", token="tok", api_url=recorder.url)
    assert backend.purge(KEYS[:45], soft=False) == 2  # 30 tags a request
    first = recorder.requests[0]
    assert (first["method"], first["path"]) == ("POST", "/zones/Z9/purge_cache")
    assert first["headers"]["authorization"] == "Bearer tok"
    assert json.loads(first["body"]) == {"tags": KEYS[:30]}


def test_cloudflare_saying_no_is_a_failure(recorder):
    recorder.body = {"success": False, "errors": [{"message": "Invalid zone"}]}
    with pytest.raises(purge.PurgeFailed, match="did not report success"):
        purge.CloudflarePurge(zone_id="Z9", token="t", api_url=recorder.url).purge(
            ["a"], soft=False
        )


@pytest.mark.parametrize("trouble", ["refused", "500", "dropped"])
def test_a_purge_the_edge_does_not_take_is_retried_later(
    recorder, settings, trouble, caplog, django_capture_on_commit_callbacks
):
    settings.NEWSROOM_PURGE_BACKENDS = [
        {"BACKEND": "newsroom.purge.VarnishPurge", "URLS": [recorder.url]}
    ]
    if trouble == "refused":
        recorder.__exit__()
    elif trouble == "500":
        recorder.status = 500
    else:
        recorder.down = True
    with django_capture_on_commit_callbacks(execute=True):
        assert purge.purge_edge_task.call(["a1", "home"], soft=False, attempt=1) == 0
    [retry] = DBTaskResult.objects.filter(task_path__endswith="purge_edge_task")
    assert retry.args_kwargs["args"][0] == ["a1", "home"]
    assert retry.args_kwargs["kwargs"] == {"soft": False, "attempt": 2}
    assert retry.run_after is not None
    assert "edge purge of 2 key(s) failed" in caplog.text


def test_a_purge_that_lands_is_logged_and_not_retried(recorder, settings, caplog):
    settings.NEWSROOM_PURGE_BACKENDS = [
        {"BACKEND": "newsroom.purge.VarnishPurge", "URLS": [recorder.url]}
    ]
    caplog.set_level("INFO", logger="newsroom.purge")
    assert purge.purge_edge_task.call(["a1"], soft=True) == 1
    assert not DBTaskResult.objects.filter(task_path__endswith="purge_edge_task").exists()
    assert "edge purge: 1 key(s), 1 request(s), soft" in caplog.text


def test_a_committed_change_sends_one_edge_purge_with_every_key(
    recorder, settings, django_capture_on_commit_callbacks
):
    settings.NEWSROOM_PURGE_BACKENDS = [
        {"BACKEND": "newsroom.purge.VarnishPurge", "URLS": [recorder.url]}
    ]
    with django_capture_on_commit_callbacks(execute=True):
        page_cache.purge({"a1", "home"}, soft=True)
        page_cache.purge({"a2"}, soft=False)  # a takedown in the batch: the batch is hard
    [queued] = DBTaskResult.objects.filter(task_path__endswith="purge_edge_task")
    assert queued.args_kwargs["args"][0] == ["a1", "a2", "home"]
    assert queued.args_kwargs["kwargs"]["soft"] is False
