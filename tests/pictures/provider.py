"""An oEmbed provider on 127.0.0.1, served by the test itself: it answers for links like
https://testtube.example/watch/ID as a real provider would, or times out, or answers junk,
as the test asks (`Provider.mode`). It also serves the thumbnail and the player page."""

import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from PIL import Image

LINK = "https://testtube.example/watch/{id}"
PATTERN = r"https://testtube\.example/watch/(?P<id>\w+)"


def thumbnail_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 360), (200, 30, 40)).save(out, "JPEG")
    return out.getvalue()


class Provider:
    def __init__(self):
        self.mode = "ok"  # ok, slow, junk, no-version, missing, no-thumbnail
        self.requests: list[str] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                provider.requests.append(self.path)
                path = urlsplit(self.path)
                if path.path == "/thumbnail.jpg":
                    return self._send(200, "image/jpeg", thumbnail_jpeg())
                if path.path.startswith("/player/"):
                    return self._send(200, "text/html", b"<!doctype html><title>Player</title>")
                url = parse_qs(path.query).get("url", [""])[0]
                mode = provider.mode
                if mode == "slow":
                    time.sleep(2)
                    return self._send(200, "application/json", b"{}")
                if mode == "junk":
                    return self._send(200, "text/html", b"<html><body>Sign in</body></html>")
                if mode == "missing":
                    return self._send(404, "text/plain", b"Not found")
                data = {
                    "version": "1.0",
                    "type": "video",
                    "title": "Seagull steals chips live on camera",
                    "author_name": "PierCam",
                    "author_url": "https://testtube.example/piercam",
                    "html": f'<iframe src="https://evil.example/{url}"></iframe>',
                    "thumbnail_url": f"http://127.0.0.1:{provider.port}/thumbnail.jpg",
                }
                if mode == "no-version":
                    del data["version"]
                if mode == "no-thumbnail":
                    del data["thumbnail_url"]
                return self._send(200, "application/json", json.dumps(data).encode())

            def _send(self, status, kind, body):
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def settings_entry(self) -> dict:
        return {
            "name": "TestTube",
            "endpoint": f"{self.origin}/oembed",
            "patterns": [PATTERN],
            "player": f"{self.origin}/player/{{id}}?autoplay=1",
            "thumbnail_hosts": [],
            "colour": "#c8102e",
        }

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
