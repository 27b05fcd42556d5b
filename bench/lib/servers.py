"""The servers the benchmarks start on 127.0.0.1, each stopped by its process id: `site`, the
reader's site on a fresh database; `edge_stack`, Varnish and nginx before it, and an editor."""

import importlib.util
import json
import os
import signal
import socket
import socketserver
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Self

import redis

from . import MANAGE, PYTHON, ROOT, BenchError, report
from .commands import command_env, database_url, drop_database, fresh_database, manage
from .load import fetch, wrk_version

MIME_TYPES, REDIS_URL = Path("/etc/nginx/mime.types"), "redis://127.0.0.1:6379/15"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def render(script: str, **values: str) -> str:
    """The configuration `deploy/SCRIPT` (a render.py) renders from `values`."""
    spec = importlib.util.spec_from_file_location("render", ROOT / "deploy" / script)
    spec.loader.exec_module(module := importlib.util.module_from_spec(spec))
    return module.render(**values)


class Server:
    """`command` in its own process group, logging to `log_path`, up once GET /healthz on `port`
    answers (at once without a port), stopped by TERM then KILL; as is, `manage.py ARGS`."""

    port, log_path, env, process = 0, None, None, None

    def __init__(self, env: dict, *args: str):
        self.env, self.command = env, [PYTHON, MANAGE, *args]

    def __enter__(self) -> Self:
        with open(self.log_path or os.devnull, "w") as log:
            popen = {"cwd": ROOT, "env": self.env, "stdout": log, "stderr": log}
            try:
                self.process = subprocess.Popen(self.command, start_new_session=True, **popen)
            except FileNotFoundError as exc:
                raise BenchError(f"no {exc.filename} (make system-packages)") from None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            with suppress(OSError):
                if not self.port or fetch(self.port, "/healthz", timeout=2)[0] == 200:
                    return self
            time.sleep(0.2)
        self.__exit__()
        name, code = type(self).__name__.lower(), self.process.returncode
        raise BenchError(f"{name} did not start ({code}):\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        found = self.log_path and self.log_path.is_file()
        text = self.log_path.read_text(errors="replace") if found else ""
        return "\n".join(text.splitlines()[-lines:])

    def __exit__(self, *exc_info) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if self.process.poll() is None:
                with suppress(ProcessLookupError, subprocess.TimeoutExpired):
                    os.killpg(self.process.pid, sig)
                    self.process.wait(timeout=15)


class Gunicorn(Server):
    """The site under gunicorn (gunicorn.conf.py) on a free port: 2 workers, no access log."""

    workers, ARGS = 2, "newsroom.wsgi:application --config gunicorn.conf.py --workers 2"
    ARGS += " --max-requests 0"
    DISPLAY = f"gunicorn {ARGS} (no access log)"

    def __init__(self, env: dict[str, str], scratch: Path):
        self.port = free_port()
        self.log_path = scratch / f"gunicorn-{self.port}.log"
        self.env = {**env, "GUNICORN_ACCESS_LOG": ""}  # empty: none, in gunicorn.conf.py
        bind = ["--bind", f"127.0.0.1:{self.port}"]
        self.command = [PYTHON, "-m", "gunicorn", *self.ARGS.split(), *bind]


class Nginx(Server):
    """Debian's nginx under `scratch/nginx-UPSTREAM`: the site's configuration rendered inside the
    nginx image's main one (no access log), files from `scratch`, beacons to UDP port `reads`."""

    def __init__(self, scratch: Path, *, upstream: int, reads: int = 9):  # 9: discard
        self.port, prefix = free_port(), scratch / f"nginx-{upstream}"
        self.log_path = prefix / "error.log"
        (prefix / "tmp").mkdir(parents=True)
        (prefix / "newsroom.conf").write_text(render(
            "nginx/render.py", CACHE_DIR=str(prefix / "cache"), UPSTREAM=f"127.0.0.1:{upstream}",
            LISTEN=f"127.0.0.1:{self.port}", STATIC_ROOT=str(scratch / "static"),
            MEDIA_ROOT=str(scratch / "media"), PAGE_CACHE="newsroom_pages",
            READS_COLLECTOR=f"127.0.0.1:{reads}",
        ))  # fmt: skip
        temp = "client_body proxy fastcgi uwsgi scgi".split()
        temp = "".join(f"    {kind}_temp_path {prefix}/tmp/{kind};\n" for kind in temp)
        mime = f"    include {MIME_TYPES};\n" if MIME_TYPES.is_file() else ""
        (prefix / "nginx.conf").write_text(
            f"daemon off;\nworker_processes auto;\npid {prefix}/nginx.pid;\n"
            f"error_log stderr warn;\nevents {{ worker_connections 1024; }}\nhttp {{\n"
            f"{mime}    default_type application/octet-stream;\n    sendfile on;\n"
            f"    keepalive_timeout 65;\n    access_log off;\n{temp}"
            f"    include {prefix}/newsroom.conf;\n}}\n"
        )
        config = ["-p", f"{prefix}/", "-c", f"{prefix}/nginx.conf", "-e", "stderr"]
        self.command = ["/usr/sbin/nginx", *config]


class Varnish(Server):
    """varnishd with deploy/varnish/newsroom.vcl before `backend`, purged on `purge_port`."""

    def __init__(self, scratch: Path, *, backend: int):
        (prefix := scratch / f"varnish-{backend}").mkdir()
        (prefix / "newsroom.vcl").write_text(render(
            "varnish/render.py", BACKEND_HOST="127.0.0.1", BACKEND_PORT=str(backend),
            PURGERS="127.0.0.1", GRACE="1h", REFRESH_GRACE="10s",
        ))  # fmt: skip
        self.port, self.purge_port, self.log_path = free_port(), free_port(), prefix / "log"
        self.workdir = prefix / "work"
        self.command = [
            "/usr/sbin/varnishd", "-F", "-j", "none", "-n", str(self.workdir), "-T", "none",
            "-f", str(prefix / "newsroom.vcl"), "-a", f"127.0.0.1:{self.port}",
            "-a", f"purge=127.0.0.1:{self.purge_port}", "-s", "malloc,256m",
        ]  # fmt: skip

    def counters(self) -> dict[str, int]:
        """varnishstat's counters now (MAIN.cache_hit, MAIN.cache_miss, …)."""
        done = subprocess.run(["varnishstat", "-n", str(self.workdir), "-1", "-j"],
                              capture_output=True, text=True, check=True)  # fmt: skip
        found = json.loads(done.stdout)
        return {k: v["value"] for k, v in found.get("counters", found).items() if "value" in v}

    def since(self, before: dict[str, int]) -> dict:
        """The MAIN counters' growth since `before` (less "MAIN."); `hit_ratio`: hits over hits,
        misses and passes."""
        now = self.counters()
        grown = {k[5:]: now[k] - before[k] for k in before if k.startswith("MAIN.")}
        served = sum(grown[k] for k in ("cache_hit", "cache_miss", "cache_hitpass"))
        return grown | {"hit_ratio": grown["cache_hit"] / max(1, served)}


# The editor `driver` runs: updates, publishes, withdraws; makes a live blog, posts to it.
EDITOR = """
import datetime, json, sys, time
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from accounts import roles
from accounts.models import User
from articles.models import Article, LiveEntry, Section
from articles.services import live, workflow
news = Section.objects.get(slug="news")
editor = User.objects.get_or_create(username="bench-editor", defaults={"is_staff": True})[0]
editor.groups.set(Group.objects.filter(name=roles.EDITOR))
for line in sys.stdin:
    verb, pk, count = [*line.split(), 0][:3]
    story, done, count = Article.objects.filter(pk=pk).first(), [], int(count)
    if verb == "update":
        words = f"Edge check {time.time_ns()}"
        story.body += f"<p>{words}</p>"
        story.save()
        done = {"path": story.get_absolute_url(), "shows": words}
    elif verb == "publish":
        words = f"Edge check story {time.time_ns()}"
        Article.objects.create(headline=words, section=news, body="<p>New.</p>",
                               status="published", published_at=timezone.now())
        done = {"path": "/", "shows": words}
    elif verb == "withdraw":
        story.status, story.withdrawn_reason = "withdrawn", "editorial"
        story.save()
        done = {"path": story.get_absolute_url(), "gone": True}
    elif verb == "live":  # a live blog with `count` entries, before anything is cached
        workflow.set_live_status(story, Article.LiveStatus.LIVE, by=editor)
        LiveEntry.objects.bulk_create(
            LiveEntry(article=story, body=f"<p>Earlier update {n}.</p>", status="published",
                      posted_at=timezone.now() - datetime.timedelta(seconds=30 * (count - n)))
            for n in range(count))
        done = {"entries": story.live_entries.count()}
    else:  # post: a live entry, timed at its commit (the first hook, before the purges')
        with transaction.atomic():
            transaction.on_commit(lambda: done.append(time.time()))
            entry = live.post_entry(story, by=editor, publish=True,
                                    body=f"<p>Update {count}, {time.time_ns()}.</p>")
        done = {"pk": entry.pk, "post_at": done[0]}
    print(json.dumps({"at": time.time()} | done), flush=True)
"""


@contextmanager
def driver(env: dict):
    """`EDITOR` in `manage.py shell`: a function sending it a line of words, answered in JSON;
    leaving the `with` closes its input and waits for it."""
    command, pipe = [PYTHON, MANAGE, "shell", "--no-imports", "-c", EDITOR], subprocess.PIPE
    process = subprocess.Popen(command, cwd=ROOT, env=env, text=True, bufsize=1, stdin=pipe,
                               stdout=pipe)  # fmt: skip

    def send(*words) -> dict:
        process.stdin.write(" ".join(map(str, words)) + "\n")
        if not (line := process.stdout.readline()):
            raise BenchError(f"the driver stopped ({process.poll()}) on {words}")
        return json.loads(line)

    try:
        yield send
    finally:
        process.stdin.close()
        process.wait(timeout=30)


@contextmanager
def smtp_sink():
    """An SMTP server on 127.0.0.1 that accepts everything and only counts `messages`."""
    from aiosmtpd.controller import Controller

    class Sink:
        port, messages = free_port(), 0

        async def handle_DATA(self, server, session, envelope):
            self.messages += 1
            return "250 OK"

    controller = Controller(sink := Sink(), hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


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


@dataclass
class Site:
    url: str  # the benchmark database
    env: dict  # the site's environment
    scratch: Path  # a temporary directory: STATIC_ROOT, MEDIA_ROOT, logs
    redis: object  # a client of REDIS_URL
    prefix: str  # the run's cache keys: PREFIX:VERSION:KEY
    described: dict = field(default_factory=dict)  # in the result: database, machine, stories
    server: Gunicorn | None = None

    def forget_cache(self) -> None:
        """Delete the run's cache keys, and only them."""
        keys = list(self.redis.scan_iter(match=f"{self.prefix}:*", count=1000))
        for start in range(0, len(keys), 500):
            self.redis.unlink(*keys[start : start + 500])


@contextmanager
def site(database: str, *, stories: int, serve=True, keep=False):
    """The site, untimed: `database` recreated with `stories` (`stories.make`), static files
    collected, gunicorn serving it when `serve`; the database dropped unless `keep`. Its
    environment: the Redis page cache under the run's own key prefix, `bench.bench_settings`."""
    url, client = database_url(database), redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        redis_version = client.info()["redis_version"]
    except redis.RedisError as exc:
        raise BenchError(f"Redis is not reachable at {REDIS_URL}: {exc}") from None
    versions = {"wrk_version": wrk_version(), "redis_server_version": redis_version}
    prefix = f"newsroom-bench-{database.rsplit('_', 1)[-1]}-{os.getpid()}"
    with tempfile.TemporaryDirectory(prefix=f"{database}-") as scratch:
        scratch = Path(scratch)
        scratch.chmod(0o755)  # nginx's workers run as `nobody` when started by root
        (scratch / "media").mkdir()
        path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
        env = command_env(
            url, REDIS_URL=REDIS_URL, NEWSROOM_CACHE_PREFIX=prefix, PYTHONPATH=path,
            DJANGO_SETTINGS_MODULE="bench.bench_settings", DJANGO_STATIC_ROOT=f"{scratch}/static",
            DJANGO_MEDIA_ROOT=f"{scratch}/media",
        )  # fmt: skip
        web = Site(url, env, scratch, client, prefix)
        try:
            fresh_database(url)
            facts, started = report.machine_facts(url, **versions), time.monotonic()
            code = f"from bench.lib.stories import make; make({stories})"
            made = json.loads(manage(env, "shell", "-c", code).splitlines()[-1])
            web.described = {"database": database, "machine": facts, "stories": made}
            if made["articles"] != stories or made["visible"] < 0.9 * stories:
                raise BenchError(f"the set-up made {made}, not {stories} stories")
            seconds = time.monotonic() - started
            print(f"  {stories:,} stories ({made['visible']:,} visible) in {seconds:.0f} s")
            manage(env, "collectstatic", "--noinput", "-v", "0")
            with Gunicorn(env, scratch) if serve else nullcontext() as web.server:
                yield web
        finally:
            web.forget_cache()
            if not keep:
                drop_database(url)


@contextmanager
def edge_stack(web, mode: str):
    """Gunicorn (invalidation by `mode`), Varnish, the purge worker, nginx and the driver, up."""
    env = web.env | {"NEWSROOM_PAGE_CACHE_INVALIDATION": mode}
    server = Gunicorn(env, web.scratch)
    varnish = Varnish(web.scratch, backend=server.port)  # up once /healthz answers through it
    purge = f"http://127.0.0.1:{varnish.purge_port}"
    env["NEWSROOM_VARNISH_URLS"] = server.env["NEWSROOM_VARNISH_URLS"] = purge
    worker = Server(env, "db_worker", "--queue-name", "edge", "--interval", "0.1",
                    "--no-startup-delay")  # fmt: skip
    nginx = Nginx(web.scratch, upstream=server.port)
    with server, varnish, worker, nginx, driver(env) as editor:
        yield SimpleNamespace(server=server, varnish=varnish, worker=worker, nginx=nginx,
                              driver=editor)  # fmt: skip
