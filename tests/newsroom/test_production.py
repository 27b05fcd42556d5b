"""Production behaviour: deploy check, security headers, login lockout, bad requests, health,
and the container and proxy files."""

import importlib.util
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from django.urls import reverse

from tests import pg_clusters
from tests.accounts.factories import UserFactory
from tests.articles.factories import ArticleFactory

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "news.example.com",
    "DJANGO_HTTPS": "true",
    "DJANGO_DEBUG": "false",
    "DJANGO_HSTS_PRELOAD": "true",
}


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "NEWSROOM_"))}
    return {**env, **extra}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_deploy_check_reports_nothing_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        cwd=ROOT,
        env=clean_env(**PRODUCTION_ENV),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "admin_login"])
def test_security_headers_on_public_and_admin_pages(client, url):
    ArticleFactory()
    response = client.get(reverse("admin:login") if url == "admin_login" else url)
    assert response.status_code == 200
    csp = dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")
    )
    assert csp["script-src"] == "'self'"  # no 'unsafe-inline', no hosts
    # Inline styles are the admin's alone (its widgets and badges); public pages have none.
    expected_styles = "'self' 'unsafe-inline'" if url == "admin_login" else "'self'"
    assert csp["style-src"] == expected_styles
    assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


@pytest.mark.django_db
def test_public_pages_carry_no_inline_script_nor_inline_style(client):
    article = ArticleFactory()
    for url in ("/", article.get_absolute_url(), "/search/?q=council", "/newsletters/"):
        html = client.get(url).content.decode()
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert 'type="application/ld+json"' in tag or "src=" in tag, tag
        assert not re.search(r"<style\b|\sstyle=", html), url


@pytest.mark.django_db
def test_https_settings_redirect_and_send_hsts_and_secure_cookies(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    insecure = client.get("/")
    assert insecure.status_code == 301 and insecure["Location"].startswith("https://")
    secure = client.get(reverse("admin:login"), secure=True)
    assert secure["Strict-Transport-Security"].startswith("max-age=31536000")
    cookie = secure.cookies[settings.CSRF_COOKIE_NAME]
    assert cookie["secure"]
    UserFactory(username="boss", is_staff=True)
    login = client.post(
        reverse("admin:login"),
        {"username": "boss", "password": "correct horse battery staple"},
        secure=True,
    )
    assert login.status_code == 302
    session = login.cookies[settings.SESSION_COOKIE_NAME]
    assert session["secure"] and session["httponly"]


@pytest.mark.django_db
@pytest.mark.lockout
def test_admin_login_locks_out_after_five_failures_for_that_user_and_address(client):
    UserFactory(username="maggie", is_staff=True)  # password: correct horse battery staple
    url = reverse("admin:login")
    for _ in range(4):
        response = client.post(url, {"username": "maggie", "password": "wrong"})
        assert response.status_code == 200  # the ordinary "wrong password" page
    fifth = client.post(url, {"username": "maggie", "password": "wrong"})
    assert fifth.status_code == 429
    locked = client.post(url, {"username": "maggie", "password": "correct horse battery staple"})
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    # Another colleague at the same address is not locked out.
    UserFactory(username="declan", is_staff=True)
    other = client.post(url, {"username": "declan", "password": "correct horse battery staple"})
    assert other.status_code == 302


@pytest.mark.django_db
def test_bad_requests_get_clean_4xx_answers(client):
    assert client.get("/", HTTP_HOST="evil.example.com").status_code == 400
    big = "x" * 3_000_000  # refused before it is read: far over a reader's body limit
    assert client.post(reverse("newsletters:signup"), {"email": big}).status_code == 413
    for url in ("/?page=%ZZ", "/search/?q=%ff%fe%00", "/news/?page=-1", "/news/?page=99999"):
        assert client.get(url).status_code < 500, url


def test_healthz_answers_without_the_database(client):
    # No django_db mark: pytest-django makes any database access here an error.
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_checks_database_and_cache(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "cache": "ok"}


def _redis_server():
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process, port
        time.sleep(0.05)  # waiting for a server we started, not for the code under test
    process.kill()
    pytest.fail("redis-server did not start")


@pytest.mark.django_db
def test_site_keeps_serving_when_redis_goes_away(client, settings):
    process, port = _redis_server()
    try:
        settings.CACHES = {
            "default": {
                "BACKEND": "newsroom.cache_backends.ResilientRedisCache",
                "LOCATION": f"redis://127.0.0.1:{port}/0",
                "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.5},
            }
        }
        article = ArticleFactory(headline="Still here without Redis")
        first = client.get(article.get_absolute_url())
        assert first.status_code == 200
        assert client.get(article.get_absolute_url())["X-Page-Cache"] == "hit"
        assert client.get("/readyz").status_code == 200
    finally:
        process.kill()
        process.wait(timeout=10)
    # Redis is gone: pages are made afresh, slower but served.
    again = client.get(article.get_absolute_url())
    assert again.status_code == 200 and "Still here without Redis" in again.content.decode()
    assert not again.has_header("X-Page-Cache")
    assert client.get("/").status_code == 200
    # Ready still: the cache is optional, and a shared Redis going down must not take every
    # container out of the load balancer at once.
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "degraded"
    assert ready.json()["checks"]["database"] == "ok" and ready.json()["checks"]["cache"] != "ok"


class HungRedis:
    """A server on loopback that accepts connections and reads commands but never answers, as
    a Redis stuck on a full disk or a network half-partitioned does. Counts what it receives."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.received = 0
        self.connections: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(conn)
            threading.Thread(target=self._swallow, args=(conn,), daemon=True).start()

    def _swallow(self, conn):
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            self.received += data.count(b"*")  # a RESP command starts with an array header

    def close(self):
        self.listener.close()
        for conn in self.connections:
            conn.close()


@pytest.mark.django_db
def test_a_hung_redis_is_tried_once_then_skipped_and_readiness_stays_up(client, settings):
    hung = HungRedis()
    try:
        settings.CACHES = {
            "default": {
                "BACKEND": "newsroom.cache_backends.ResilientRedisCache",
                "LOCATION": f"redis://127.0.0.1:{hung.port}/0",
                "OPTIONS": {"socket_timeout": 0.05, "retry_after": 600},
            }
        }
        article = ArticleFactory(headline="Served while Redis hangs")
        first = client.get(article.get_absolute_url())
        assert first.status_code == 200
        tried = hung.received
        assert tried >= 1  # the first cache call waited for it, timed out and opened the breaker
        for path in (article.get_absolute_url(), "/", "/healthz", "/readyz", "/news/"):
            response = client.get(path)
            assert response.status_code == 200, path
        assert hung.received == tried  # nothing more was sent to it: every call was skipped
        assert client.get("/readyz").json()["status"] == "degraded"
    finally:
        hung.close()


READYZ_SCRIPT = """
import json, sys
from pathlib import Path
import django
django.setup()
from django.test import Client
from tests.pg_clusters import Cluster
client = Client()
cluster = Cluster(Path(sys.argv[1]), int(sys.argv[2]))
def readyz():
    response = client.get("/readyz")
    return [response.status_code, response.json()]
out = [readyz()]
cluster.stop()
out.append(readyz())
cluster.start()
out.append(readyz())
print(json.dumps(out))
"""


def test_readyz_is_503_while_the_database_is_down_and_recovers():
    """Against a throwaway PostgreSQL cluster of the test's own on a spare port: the machine's
    shared server is never touched."""
    if reason := pg_clusters.unavailable():
        pytest.skip(reason)
    scratch, cluster = pg_clusters.scratch_dir(), None
    try:
        cluster = pg_clusters.Cluster.create(scratch)
        env = clean_env(
            DJANGO_SECRET_KEY="x",
            DATABASE_URL=cluster.url,
            DJANGO_CONN_MAX_AGE="60",
            DJANGO_ALLOWED_HOSTS="testserver",
            DJANGO_SETTINGS_MODULE="newsroom.settings",
        )
        result = subprocess.run(
            [sys.executable, "-c", READYZ_SCRIPT, str(cluster.data), str(cluster.port)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        up, down, again = json.loads(result.stdout.strip().splitlines()[-1])
    finally:
        if cluster is not None:
            cluster.discard()
        shutil.rmtree(scratch, ignore_errors=True)
    assert up[0] == 200 and up[1]["checks"]["database"] == "ok"
    assert down[0] == 503 and down[1]["status"] == "unavailable"
    assert down[1]["checks"]["database"] != "ok" and down[1]["checks"]["cache"] == "ok"
    # The answer is public: it says what failed, not where it lives.
    assert down[1]["checks"]["database"] == "unavailable"
    assert again[0] == 200 and again[1]["checks"]["database"] == "ok"


def test_backup_and_restore_round_trip():
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        pytest.skip("backup and restore are for PostgreSQL (set DATABASE_URL=postgres://…)")
    server = base.rsplit("/", 1)[0]
    name = f"newsroom_backup_{secrets.token_hex(4)}"
    url = f"{server}/{name}"
    psql = ["psql", f"{server}/postgres", "-qAtc"]
    subprocess.run([*psql, f"CREATE DATABASE {name}"], check=True, timeout=60)
    backups = ROOT / "backups"
    try:
        env = clean_env(DJANGO_SECRET_KEY="x", DATABASE_URL=url)
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=300)
        subprocess.run(
            [
                *manage,
                "shell",
                "-c",
                "from articles.models import Article, Section; Article.objects.create("
                "headline='Backed up story', section=Section.objects.get(slug='news'), "
                "status='published', published_at='2026-11-01T00:00Z')",
            ],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=120,
        )
        made = subprocess.run(
            ["make", "-s", "backup"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert made.returncode == 0, made.stderr
        dump = ROOT / made.stdout.strip().removeprefix("Wrote ")
        assert dump.is_file() and dump.stat().st_size > 0
        subprocess.run([*psql, "DELETE FROM articles_article"], check=False, timeout=60)
        subprocess.run(
            ["psql", url, "-qAtc", "DELETE FROM articles_article"], check=True, timeout=60
        )
        restored = subprocess.run(
            ["make", "-s", "restore", f"BACKUP={dump}"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert restored.returncode == 0, restored.stderr
        count = subprocess.run(
            [
                "psql",
                url,
                "-qAtc",
                "SELECT count(*) FROM articles_article WHERE headline = 'Backed up story'",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        assert count.stdout.strip() == "1"
        dump.unlink()
    finally:
        subprocess.run([*psql, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], timeout=60)
        if backups.is_dir() and not any(backups.iterdir()):
            backups.rmdir()


def test_dockerfile_names_files_that_exist_and_runs_unprivileged():
    text = (ROOT / "Dockerfile").read_text()
    for source in re.findall(r"^COPY (?!--from)(.+?) \S+$", text, re.MULTILINE):
        for path in source.split():
            if path != ".":
                assert (ROOT / path).exists(), path
    assert re.search(r"^USER (?!root)\w+", text, re.MULTILINE)
    assert "HEALTHCHECK" in text and "/healthz" in text
    assert text.count("FROM ") >= 2  # multi-stage
    cmd = json.loads(re.search(r"^CMD (.+)$", text, re.MULTILINE).group(1))
    assert cmd[:2] == ["gunicorn", "newsroom.wsgi"] and (ROOT / cmd[-1]).is_file()


def test_compose_file_parses_and_its_commands_exist():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert {"web", "worker", "db", "redis", "nginx", "reads"} <= set(services)
    for name in ("web", "worker", "migrate", "reads"):
        command = services[name]["command"]
        if command[:2] == ["python", "manage.py"]:
            result = subprocess.run(
                [sys.executable, "manage.py", "help", command[2]],
                cwd=ROOT,
                env=clean_env(DJANGO_SECRET_KEY="x"),
                capture_output=True,
                timeout=120,
            )
            assert result.returncode == 0, f"{name}: manage.py {command[2]} does not exist"
    for volume in services["nginx"]["volumes"]:
        source = volume.split(":")[0]
        if source.startswith("./"):
            assert (ROOT / source).is_file(), source


def nginx_render_module():
    sys.path.insert(0, str(ROOT / "deploy" / "nginx"))
    try:
        import render
    finally:
        sys.path.pop(0)
    return render


def test_the_nginx_template_takes_values_with_double_underscores_and_names_what_is_missing():
    render = nginx_render_module()
    # A temporary directory's random name can hold "__": a value, not a placeholder.
    values = {**render.COMPOSE, "CACHE_DIR": "/tmp/newsroom-nginx-test-1q3__pfy/cache"}
    assert "/tmp/newsroom-nginx-test-1q3__pfy/cache" in render.render(**values)
    with pytest.raises(ValueError, match="unfilled: __MEDIA_ROOT__$"):
        render.render(**{k: v for k, v in render.COMPOSE.items() if k != "MEDIA_ROOT"})


def test_compose_nginx_config_is_the_rendered_template_and_nginx_accepts_it(tmp_path):
    render = nginx_render_module()
    assert (ROOT / "deploy/nginx/compose.conf").read_text() == render.render(**render.COMPOSE)
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.skip("nginx is not installed (make system-packages)")
    site = render.render(
        CACHE_DIR=str(tmp_path / "cache"),
        UPSTREAM="127.0.0.1:9",
        LISTEN=f"127.0.0.1:{free_port()}",
        STATIC_ROOT=str(tmp_path),
        MEDIA_ROOT=str(tmp_path),
        PAGE_CACHE="newsroom_pages",
        READS_COLLECTOR=f"127.0.0.1:{free_port()}",
    )
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log; events {{}}\n"
        f"http {{ access_log off; include {tmp_path}/site.conf; }}\n"
    )
    result = subprocess.run(
        [nginx, "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_compose_varnish_vcl_is_the_rendered_template_and_its_image_builds_from_it():
    """tests/newsroom/test_varnish.py runs the same template under a real varnishd."""
    spec = importlib.util.spec_from_file_location(
        "varnish_render", ROOT / "deploy/varnish/render.py"
    )
    render = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render)
    assert (ROOT / "deploy/varnish/default.vcl").read_text() == render.render(**render.COMPOSE)
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert compose["services"]["varnish"]["build"] == "./deploy/varnish"
    dockerfile = (ROOT / "deploy/varnish/Dockerfile").read_text()
    assert "varnish-modules" in dockerfile and "COPY default.vcl " in dockerfile
    assert "purge=:6082" in dockerfile
    urls = compose["x-app"]["environment"]["NEWSROOM_VARNISH_URLS"]
    assert urlsplit(urls).netloc == "varnish:6082"  # the purge listener
    with pytest.raises(ValueError, match="unfilled: __GRACE__$"):
        render.render(**{k: v for k, v in render.COMPOSE.items() if k != "GRACE"})


def test_the_image_entry_command_starts_the_app_outside_a_container(tmp_path):
    port = free_port()
    env = clean_env(
        DJANGO_SECRET_KEY="x",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [str(gunicorn), "newsroom.wsgi", "--config", "gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        body = None
        for _ in range(200):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    body = json.loads(r.read())
                    break
            except OSError:
                time.sleep(0.05)  # gunicorn is booting
        assert body == {"status": "ok"}
    finally:
        process.terminate()
        process.wait(timeout=30)
