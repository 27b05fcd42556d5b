"""The servers the benchmarks start on 127.0.0.1, each a context manager that stops what it
started by its process id: gunicorn, Debian's nginx and an SMTP sink; the Redis page cache, of
which only the keys under a run's own prefix are deleted; and `site`, the reader's site set up
for the web benchmarks on a fresh database."""

import importlib.util
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit, urlunsplit

from . import LOOPBACK_HOSTS, PYTHON, ROOT, BenchError, report
from .client import fetch, wrk_version
from .commands import manage, site_env
from .database import add_stories, database_url, drop_database, fresh_database

NGINX, MIME_TYPES = Path("/usr/sbin/nginx"), Path("/etc/nginx/mime.types")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class _Server:
    """A child process in its own session that answers GET /healthz on `port` once it is up."""

    name, port, log_path, process = "server", 0, Path("/nonexistent"), None
    # (signal, seconds to wait, to its whole process group?) in turn until it exits.
    stop_steps = ((signal.SIGTERM, 15, True), (signal.SIGKILL, 5, True))

    def start(self, command: list[str], timeout: float = 60.0, **popen) -> None:
        self.process = subprocess.Popen(command, start_new_session=True, **popen)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"{self.name} exited ({self.process.returncode}):\n{self.tail()}")
            try:
                if fetch(self.port, "/healthz", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise BenchError(f"{self.name} did not answer within {timeout:.0f} s:\n{self.tail()}")

    def stop(self) -> None:
        for sig, seconds, group in self.stop_steps:
            if self.process is None or self.process.poll() is not None:
                return
            try:
                (os.killpg if group else os.kill)(self.process.pid, sig)
                self.process.wait(timeout=seconds)
            except subprocess.TimeoutExpired:
                continue
            except ProcessLookupError:
                return

    def tail(self) -> str:
        return tail(self.log_path)

    def __exit__(self, *exc_info) -> None:
        self.stop()


class Gunicorn(_Server):
    """The site under gunicorn with the project's gunicorn.conf.py, on a free port, without an
    access log (formatting a line per request is not what is measured)."""

    name = "gunicorn"

    def __init__(self, env: dict[str, str], scratch: Path, *, workers: int, max_requests: int):
        self.port, self.log_path = free_port(), scratch / "gunicorn.log"
        self.env = {**env, "GUNICORN_ACCESS_LOG": ""}  # empty: none, in gunicorn.conf.py
        self.command = [
            PYTHON, "-m", "gunicorn", "newsroom.wsgi:application", "--config", "gunicorn.conf.py",
            "--workers", str(workers), "--bind", f"127.0.0.1:{self.port}",
            "--max-requests", str(max_requests),
        ]  # fmt: skip

    def __enter__(self) -> Self:
        with open(self.log_path, "w") as log:
            self.start(self.command, cwd=ROOT, env=self.env, stdout=log, stderr=log)
        return self

    def display(self) -> str:
        """The command as the results show it, without this machine's paths or ports."""
        text = " ".join([".venv/bin/python", *self.command[1:]])
        return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text)

    def worker_boots(self) -> int:
        return tail(self.log_path, 1_000_000).count("Booting worker")


class Nginx(_Server):
    """Debian's nginx in the foreground, everything it writes under `prefix`, serving the site
    configuration `deploy/nginx/render.py` renders for this run inside the main configuration
    of the official nginx image (less the access log)."""

    name = "nginx"
    # QUIT (graceful) to the master, then TERM, then KILL to its group if it lingers.
    stop_steps = (
        (signal.SIGQUIT, 15, False),
        (signal.SIGTERM, 10, False),
        (signal.SIGKILL, 5, True),
    )

    def __init__(self, prefix: Path, *, upstream: int, static_root: Path, media_root: Path):
        if not os.access(NGINX, os.X_OK):
            raise BenchError(f"no nginx at {NGINX} (make system-packages)")
        self.port, self.log_path = free_port(), prefix / "error.log"
        (prefix / "tmp").mkdir(parents=True)
        script = ROOT / "deploy" / "nginx" / "render.py"
        spec = importlib.util.spec_from_file_location("newsroom_nginx_render", script)
        render = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(render)
        site = render.render(
            CACHE_DIR=str(prefix / "cache"), UPSTREAM=f"127.0.0.1:{upstream}",
            LISTEN=f"127.0.0.1:{self.port}", STATIC_ROOT=str(static_root),
            MEDIA_ROOT=str(media_root),
        )  # fmt: skip
        (prefix / "newsroom.conf").write_text(site)
        temp = "".join(f"    {kind}_temp_path {prefix}/tmp/{kind};\n" for kind in TEMP_PATHS)
        mime = f"    include {MIME_TYPES};\n" if MIME_TYPES.is_file() else ""
        (prefix / "nginx.conf").write_text(
            f"daemon off;\nworker_processes auto;\npid {prefix}/nginx.pid;\n"
            f"error_log {self.log_path} warn;\nevents {{ worker_connections 1024; }}\nhttp {{\n"
            f"{mime}    default_type application/octet-stream;\n    sendfile on;\n"
            f"    keepalive_timeout 65;\n    access_log off;\n{temp}"
            f"    include {prefix}/newsroom.conf;\n}}\n"
        )
        self.command = [str(NGINX), "-p", f"{prefix}/", "-c", str(prefix / "nginx.conf")]
        self.command += ["-e", str(self.log_path)]

    def __enter__(self) -> Self:
        checked = subprocess.run(
            [*self.command, "-t", "-q"], capture_output=True, text=True, timeout=60
        )
        if checked.returncode:
            raise BenchError(f"nginx refused the configuration:\n{checked.stderr}")
        self.start(self.command, timeout=30, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return self

    def error_lines(self) -> list[str]:
        """The error log's warnings and worse (the run should have none)."""
        lines = tail(self.log_path, 1_000_000).splitlines()
        return [line for line in lines if "[notice]" not in line][-20:]

    @staticmethod
    def version() -> str:
        done = subprocess.run([str(NGINX), "-v"], capture_output=True, text=True, timeout=30)
        return (done.stdout + done.stderr).strip().removeprefix("nginx version: ")


TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


class SmtpSink:
    """An SMTP server on 127.0.0.1 that accepts everything and only counts messages."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.port, self.messages, self._lock = free_port(), 0, threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            self.messages += 1
        return "250 OK"

    def __enter__(self) -> Self:
        self.controller.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.controller.stop()


def redis_url() -> str:
    """BENCH_REDIS_URL or database 15 on the loopback server: this machine's, a database named."""
    url = os.environ.get("BENCH_REDIS_URL") or "redis://127.0.0.1:6379/15"
    parts = urlsplit(url)
    if parts.scheme != "redis" or parts.hostname not in LOOPBACK_HOSTS:
        raise BenchError(f"the benchmark only uses a loopback Redis, not {url!r}")
    if not re.fullmatch(r"/\d+", parts.path or ""):
        raise BenchError(f"BENCH_REDIS_URL must name a database (…/15), not {url!r}")
    return url


def safe_redis_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.hostname}:{parts.port or 6379}"))


def redis_client(url: str):
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise BenchError(f"Redis is not reachable at {safe_redis_url(url)}: {exc}") from exc
    return client


def cache_prefix(kind: str) -> str:
    """A cache key prefix of this run's own: other benchmarks may share the Redis database."""
    return f"newsroom-bench-{kind}-{os.getpid()}"


def forget_cache(client, prefix: str) -> None:
    """Delete this run's cache keys (Django's Redis keys are PREFIX:VERSION:KEY), only them."""
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    for start in range(0, len(keys), 500):
        client.unlink(*keys[start : start + 500])


@dataclass(frozen=True)
class Site:
    url: str  # the benchmark database
    env: dict  # the site's environment
    server: Gunicorn
    scratch: Path  # a temporary directory: STATIC_ROOT, MEDIA_ROOT, logs
    facts: dict  # the result's "machine"
    stories: dict  # what the set-up made
    redis_url: str  # without credentials
    forget_cache: Callable[[], None]  # empties the run's part of the page cache


@contextmanager
def site(database: str, *, stories: int, seed: int, workers: int, max_requests: int, keep: bool):
    """The reader's site for the web benchmarks (not timed): the database `database` recreated
    with `stories`, static files collected, the Redis page cache under a prefix of the run's
    own, gunicorn serving it; the database is dropped at the end unless `keep`."""
    url, cache_url, versions = database_url(database), redis_url(), {"wrk_version": wrk_version()}
    client, prefix = redis_client(cache_url), cache_prefix(database.rsplit("_", 1)[-1])
    versions["redis_server_version"] = client.info("server").get("redis_version", "?")
    try:
        fresh_database(url)
        facts, env = report.machine_facts(url, **versions), site_env(url, cache_url, prefix)
        made = add_stories(env, stories, seed)
        with tempfile.TemporaryDirectory(prefix=f"{database}-") as scratch:
            scratch = Path(scratch)
            scratch.chmod(0o755)  # nginx's workers run as `nobody` when started by root
            (scratch / "media").mkdir()
            env |= {
                "DJANGO_STATIC_ROOT": f"{scratch}/static",
                "DJANGO_MEDIA_ROOT": f"{scratch}/media",
            }
            manage(env, "collectstatic", "--noinput", "-v", "0")
            with Gunicorn(env, scratch, workers=workers, max_requests=max_requests) as server:
                forget = partial(forget_cache, client, prefix)
                yield Site(
                    url, env, server, scratch, facts, made, safe_redis_url(cache_url), forget
                )
    finally:
        forget_cache(client, prefix)
        if not keep:
            drop_database(url)
