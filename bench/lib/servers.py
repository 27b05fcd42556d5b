"""The servers the benchmarks start on 127.0.0.1, each stopped by its process id; and `site`, the
reader's site on a fresh database, its page cache under keys of the run's own."""

import importlib.util
import json
import os
import re
import signal
import socket
import socketserver
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

import redis

from . import LOOPBACK_HOSTS, MANAGE, PYTHON, ROOT, BenchError, report
from .commands import database_url, drop_database, fresh_database, manage, site_env
from .load import fetch, wrk_version

NGINX, MIME_TYPES = Path("/usr/sbin/nginx"), Path("/etc/nginx/mime.types")
GROUP = {"start_new_session": True}  # its own process group, which `__exit__` signals


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def render(script: str, **values: str) -> str:
    """The configuration `deploy/SCRIPT` (a render.py) renders from `values`."""
    spec = importlib.util.spec_from_file_location("render", ROOT / "deploy" / script)
    spec.loader.exec_module(module := importlib.util.module_from_spec(spec))
    return module.render(**values)


class _Server:
    """A child in its own process group, up once GET /healthz on `port` answers; stopped with
    TERM to its group, then KILL."""

    name, port, log_path, process = "server", 0, Path("/nonexistent"), None

    def start(self, command: list[str], timeout: float = 60.0, **popen) -> Self:
        self.process = subprocess.Popen(command, **GROUP, **popen)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            with suppress(OSError):
                if fetch(self.port, "/healthz", timeout=2)[0] == 200:
                    return self
            time.sleep(0.2)
        self.__exit__()
        raise BenchError(f"{self.name} did not start ({self.process.returncode}):\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.is_file() else ""
        return "\n".join(text.splitlines()[-lines:])

    def __exit__(self, *exc_info) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if self.process.poll() is None:
                with suppress(ProcessLookupError, subprocess.TimeoutExpired):
                    os.killpg(self.process.pid, sig)
                    self.process.wait(timeout=15)


class Gunicorn(_Server):
    """The site under gunicorn (gunicorn.conf.py) on a free port: 2 workers, no access log."""

    DISPLAY = "gunicorn newsroom.wsgi:application --config gunicorn.conf.py --workers 2 "
    DISPLAY += "--max-requests 0 (no access log)"

    name, workers = "gunicorn", 2

    def __init__(self, env: dict[str, str], scratch: Path):
        self.port = free_port()
        self.log_path = scratch / f"gunicorn-{self.port}.log"
        self.env = {**env, "GUNICORN_ACCESS_LOG": ""}  # empty: none, in gunicorn.conf.py
        self.command = [
            PYTHON, "-m", "gunicorn", "newsroom.wsgi:application", "--config", "gunicorn.conf.py",
            "--workers", str(self.workers), "--bind", f"127.0.0.1:{self.port}",
            "--max-requests", "0",
        ]  # fmt: skip

    def __enter__(self) -> Self:
        with open(self.log_path, "w") as log:
            return self.start(self.command, cwd=ROOT, env=self.env, stdout=log, stderr=log)

    def log_count(self, text: str) -> int:
        return self.tail(1_000_000).count(text)


class Nginx(_Server):
    """Debian's nginx in the foreground, writing under `prefix`: the site configuration rendered
    for this run inside the official nginx image's main one (less the access log)."""

    name = "nginx"

    def __init__(self, prefix: Path, *, upstream: int, static_root: Path, media_root: Path):
        if not os.access(NGINX, os.X_OK):
            raise BenchError(f"no nginx at {NGINX} (make system-packages)")
        self.port, self.log_path = free_port(), prefix / "error.log"
        (prefix / "tmp").mkdir(parents=True)
        (prefix / "newsroom.conf").write_text(render(
            "nginx/render.py", CACHE_DIR=str(prefix / "cache"), UPSTREAM=f"127.0.0.1:{upstream}",
            LISTEN=f"127.0.0.1:{self.port}", STATIC_ROOT=str(static_root),
            MEDIA_ROOT=str(media_root), PAGE_CACHE="newsroom_pages",
        ))  # fmt: skip
        temp = "client_body proxy fastcgi uwsgi scgi".split()
        temp = "".join(f"    {kind}_temp_path {prefix}/tmp/{kind};\n" for kind in temp)
        mime = f"    include {MIME_TYPES};\n" if MIME_TYPES.is_file() else ""
        (prefix / "nginx.conf").write_text(
            f"daemon off;\nworker_processes auto;\npid {prefix}/nginx.pid;\n"
            f"error_log {self.log_path} warn;\nevents {{ worker_connections 1024; }}\nhttp {{\n"
            f"{mime}    default_type application/octet-stream;\n    sendfile on;\n"
            f"    keepalive_timeout 65;\n    access_log off;\n{temp}"
            f"    include {prefix}/newsroom.conf;\n}}\n"
        )
        self.command = [str(NGINX), "-p", f"{prefix}/", "-c", f"{prefix}/nginx.conf"]
        self.command += ["-e", str(self.log_path)]

    def __enter__(self) -> Self:
        checked = subprocess.run([*self.command, "-t", "-q"], capture_output=True, text=True)
        if checked.returncode:
            raise BenchError(f"nginx refused the configuration:\n{checked.stderr}")
        return self.start(self.command, 30, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Varnish(_Server):
    """varnishd with deploy/varnish/newsroom.vcl before `backend`: purges on `purge_port`."""

    name, VARNISHD = "varnish", Path("/usr/sbin/varnishd")

    def __init__(self, prefix: Path, *, backend: int, memory: str = "256m"):
        if not os.access(self.VARNISHD, os.X_OK):
            raise BenchError(f"no varnishd at {self.VARNISHD} (make system-packages)")
        prefix.mkdir(parents=True)
        (prefix / "newsroom.vcl").write_text(render(
            "varnish/render.py", BACKEND_HOST="127.0.0.1", BACKEND_PORT=str(backend),
            PURGERS="127.0.0.1", GRACE="1h", REFRESH_GRACE="10s",
        ))  # fmt: skip
        self.port, self.purge_port, self.log_path = free_port(), free_port(), prefix / "log"
        self.workdir = prefix / "work"
        self.command = [
            str(self.VARNISHD), "-F", "-j", "none", "-n", str(self.workdir), "-T", "none",
            "-f", str(prefix / "newsroom.vcl"), "-a", f"127.0.0.1:{self.port}",
            "-a", f"purge=127.0.0.1:{self.purge_port}", "-s", f"malloc,{memory}",
        ]  # fmt: skip

    def __enter__(self) -> Self:
        with open(self.log_path, "w") as log:
            return self.start(self.command, 60, stdout=log, stderr=log)

    def counters(self) -> dict[str, int]:
        """varnishstat's counters now (MAIN.cache_hit, MAIN.cache_miss, …)."""
        done = subprocess.run(["varnishstat", "-n", str(self.workdir), "-1", "-j"],
                              capture_output=True, text=True, check=True)  # fmt: skip
        found = json.loads(done.stdout)
        return {k: v["value"] for k, v in found.get("counters", found).items() if "value" in v}


class Worker(_Server):
    """`manage.py ARGS` in the background (a task worker, with no /healthz), stopped the same."""

    def __init__(self, env: dict, *args: str):
        self.env, self.command = env, [PYTHON, MANAGE, *args]

    def __enter__(self) -> Self:
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, **quiet, **GROUP)
        return self


class SmtpSink:
    """An SMTP server on 127.0.0.1 that accepts everything and only counts messages."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.port, self.messages = free_port(), 0
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        self.messages += 1
        return "250 OK"

    def __enter__(self) -> Self:
        self.controller.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.controller.stop()


@contextmanager
def hung_redis():
    """A Redis that hangs (accepts, reads, never answers): its URL, a list of connections."""
    accepted = []

    class Silent(socketserver.BaseRequestHandler):
        def handle(self):
            accepted.append(self.client_address)
            while self.request.recv(65536):  # until the client closes it
                pass

    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), Silent) as server:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        yield f"redis://127.0.0.1:{server.server_address[1]}/0", accepted
        server.shutdown()


def redis_client() -> tuple:
    """A client of BENCH_REDIS_URL (a loopback Redis, else database 15 on 127.0.0.1) that
    answered, its URL, that URL without credentials, the server's version."""
    url = os.environ.get("BENCH_REDIS_URL") or "redis://127.0.0.1:6379/15"
    parts, client = urlsplit(url), redis.Redis.from_url(url, socket_connect_timeout=2)
    shown = f"redis://{parts.hostname}:{parts.port or 6379}{parts.path}"
    if parts.hostname not in LOOPBACK_HOSTS or not re.fullmatch(r"/\d+", parts.path or ""):
        raise BenchError(f"BENCH_REDIS_URL must name a database on a loopback Redis: {shown}")
    with suppress(redis.RedisError):
        return client, url, shown, client.info()["redis_version"]
    raise BenchError(f"Redis is not reachable at {shown}")


@dataclass
class Site:
    url: str  # the benchmark database
    env: dict  # the site's environment
    scratch: Path  # a temporary directory: STATIC_ROOT, MEDIA_ROOT, logs
    facts: dict  # the result's "machine"
    stories: dict  # what the set-up made
    redis_url: str  # without credentials
    redis: object  # a client of it
    prefix: str  # the run's cache keys: PREFIX:VERSION:KEY
    server: Gunicorn | None = None

    def forget_cache(self) -> None:
        """Delete the run's cache keys, and only them."""
        keys = list(self.redis.scan_iter(match=f"{self.prefix}:*", count=1000))
        for start in range(0, len(keys), 500):
            self.redis.unlink(*keys[start : start + 500])


def add_stories(env: dict[str, str], count: int, seed: int) -> dict:
    """Import `count` stories (`stories.make`) into the empty database of `env`."""
    started, code = time.monotonic(), f"from bench.lib.stories import make; make({count}, {seed})"
    made = json.loads(manage(env, "shell", "-c", code).strip().splitlines()[-1])
    if made["articles"] != count or made["visible"] < 0.9 * count:
        raise BenchError(f"the set-up made {made}, not {count} stories")
    seconds = time.monotonic() - started
    print(f"  {count:,} stories ({made['visible']:,} visible) in {seconds:.0f} s")
    return made


@contextmanager
def site(database: str, *, stories: int, seed: int = 2026, serve=True, keep=False):
    """The site, untimed: `database` recreated with `stories`, static files collected, gunicorn
    serving it when `serve`; the database dropped unless `keep`."""
    (client, cache_url, shown, version), url = redis_client(), database_url(database)
    prefix = f"newsroom-bench-{database.rsplit('_', 1)[-1]}-{os.getpid()}"
    versions = {"wrk_version": wrk_version(), "redis_server_version": version}
    with tempfile.TemporaryDirectory(prefix=f"{database}-") as scratch:
        scratch = Path(scratch)
        scratch.chmod(0o755)  # nginx's workers run as `nobody` when started by root
        (scratch / "media").mkdir()
        env = site_env(url, cache_url, prefix)
        env |= {"DJANGO_STATIC_ROOT": f"{scratch}/static", "DJANGO_MEDIA_ROOT": f"{scratch}/media"}
        web = Site(url, env, scratch, {}, {}, shown, client, prefix)
        try:
            fresh_database(url)
            web.facts = report.machine_facts(url, **versions)
            web.stories = add_stories(env, stories, seed)
            manage(env, "collectstatic", "--noinput", "-v", "0")
            with Gunicorn(env, scratch) if serve else nullcontext() as web.server:
                yield web
        finally:
            web.forget_cache()
            if not keep:
                drop_database(url)
