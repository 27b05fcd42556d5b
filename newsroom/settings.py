"""Newsroom settings: every value that differs between a laptop and production comes from the
environment, with a safe default. `.env.example` lists every variable."""

import ipaddress
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG")
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or ("dev-only-insecure-key" if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("Set DJANGO_SECRET_KEY (make run sets a throwaway one).")
# Earlier keys, comma-separated, still accepted for signed links already sent (newsletter
# confirmation, preferences, unsubscribe) and sessions while a new key is rolled out.
SECRET_KEY_FALLBACKS = env_list("DJANGO_SECRET_KEY_FALLBACKS")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

# The public name of the outlet and the address readers know it by (used in absolute links).
SITE_NAME = os.environ.get("NEWSROOM_SITE_NAME", "The Daily Racket")
SITE_DESCRIPTION = os.environ.get(
    "NEWSROOM_SITE_DESCRIPTION", "The news as it happens: the stories everyone is talking about."
)
# `make run` sets it from its HOST and PORT; empty means the default.
SITE_URL = (os.environ.get("NEWSROOM_SITE_URL") or "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    # Django's admin on the newsroom's own site: staff pass a second factor (accounts.admin_site).
    "accounts.apps.NewsroomAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",  # its templates render /sitemap.xml and the section sitemaps
    "taggit",
    "simple_history",
    "django_prose_editor",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",  # authenticator apps (TOTP)
    "django_otp.plugins.otp_static",  # one-time recovery codes
    "django_tasks",
    "django_tasks_db",  # the database task backend and its worker (`manage.py run_worker`)
    "ninja",  # the content API's framework (`manage.py export_openapi_schema`)
    "accounts",
    "pictures",
    "articles",
    "newsletters",
    "anymail",  # providers' bounce and complaint webhooks (newsletters/services/bounces.py)
    "api",
]

MIDDLEWARE = [
    # Outermost: strips the body from every HEAD response, once everything else has run.
    "newsroom.middleware.HeadRequestMiddleware",
    "newsroom.middleware.RequestIDMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "newsroom.csp.ImportMapHashMiddleware",  # the admin editor's import map, by its hash
    "django.middleware.http.ConditionalGetMiddleware",
    # Before sessions and CSRF: a cached public page is served without running them.
    "newsroom.cache.PublicPageCacheMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Once the session is known: where this request reads (a replica for a public read). Inside
    # the page cache, which serves hits without reading at all and stores no response that sets
    # this middleware's read-your-writes cookie.
    "newsroom.routers.ReplicaReadsMiddleware",
    # Once the user is known and before anything reads the body: bodies bounded by sender.
    "newsroom.middleware.RequestBodyLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After messages: a session idle too long is ended, with a note on the login page.
    "accounts.middleware.StaffSessionIdleMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes requires: it turns a lockout into its response.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username/address before the password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Brute force on the admin login: five failures (wrong passwords or wrong second-factor codes)
# for one username from one client address lock that pair out for an hour. Never by username
# alone: anyone could then lock a named editor out from everywhere (docs/DEPLOY.md, "Logins").
AXES_FAILURE_LIMIT = int(os.environ.get("NEWSROOM_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("NEWSROOM_LOGIN_COOLOFF_HOURS", "1"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The client's address behind the proxies, by the same rule as the sign-up rate limits.
AXES_CLIENT_IP_CALLABLE = "newsroom.clientip.client_ip"
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"

# Reverse proxies in front of the site that append to X-Forwarded-For (0: use the peer address),
# and the addresses the nearest of them connects from: X-Forwarded-For from any other peer is
# ignored. The default covers loopback and private networks (a proxy beside the app, compose).
NEWSROOM_PROXY_COUNT = int(os.environ.get("NEWSROOM_PROXY_COUNT", "0"))
NEWSROOM_TRUSTED_PROXIES = tuple(
    env_list("NEWSROOM_TRUSTED_PROXIES")
    or ["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"]
)
for _network in NEWSROOM_TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError as error:
        raise ImproperlyConfigured(f"NEWSROOM_TRUSTED_PROXIES: {error}") from None

# Two-factor authentication (authenticator app codes, or one-time recovery codes) for staff in
# these roles (accounts.roles group names), and for every superuser: their logins open the
# whole newsroom. A comma-separated list; empty leaves it to each person (docs/DEPLOY.md).
NEWSROOM_2FA_REQUIRED_ROLES = tuple(env_list("NEWSROOM_2FA_REQUIRED_ROLES", "Editor"))
# The issuer authenticator apps show beside the account name.
OTP_TOTP_ISSUER = os.environ.get("NEWSROOM_2FA_ISSUER") or f"{SITE_NAME} newsroom"
# The admin's device pages never show a key: nobody, administrators included, can copy
# someone's authenticator app; removing a device (a reset) is what they are for.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# A staff session ends after this many minutes without a request (at most a minute sooner:
# the last activity is written down once a minute, not on every request).
NEWSROOM_STAFF_SESSION_IDLE_MINUTES = int(
    os.environ.get("NEWSROOM_STAFF_SESSION_IDLE_MINUTES", "30")
)

# HTTPS: on in production (DJANGO_HTTPS=true behind a TLS-terminating load balancer that sets
# X-Forwarded-Proto); off for a first run on http://127.0.0.1.
HTTPS = env_bool("DJANGO_HTTPS")
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", 31_536_000 if HTTPS else 0))
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD")
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # load balancers probe over plain HTTP
SESSION_COOKIE_HTTPONLY = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# No inline script anywhere, and no inline style on public pages; the admin adds
# 'unsafe-inline' for styles on its own pages (newsroom.csp). JSON-LD is data, not script, so
# CSP does not apply to it.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", *env_list("NEWSROOM_MEDIA_ORIGINS")],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}
# Whole request bodies: staff upload pictures in the admin; readers send small forms. A larger
# body is refused with 413 before it is read (see newsroom.middleware).
NEWSROOM_STAFF_BODY_MAX_BYTES = int(os.environ.get("NEWSROOM_STAFF_BODY_MAX_BYTES", 20_000_000))
NEWSROOM_PUBLIC_BODY_MAX_BYTES = int(os.environ.get("NEWSROOM_PUBLIC_BODY_MAX_BYTES", 65_536))
# Bodies larger than this (not counting uploaded files) are refused with 400.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000

ROOT_URLCONF = "newsroom.urls"
WSGI_APPLICATION = "newsroom.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "newsroom.context_processors.site",
                "articles.context_processors.navigation",
                "articles.context_processors.breaking_news",
            ],
        },
    },
]

_CONN_MAX_AGE = int(os.environ.get("DJANGO_CONN_MAX_AGE", "60"))
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=_CONN_MAX_AGE,
        conn_health_checks=True,
    )
}
# Read replicas: PostgreSQL streaming standbys of DATABASE_URL, comma-separated, known as
# replica_1, replica_2, … Public pages and feeds read from a usable one (newsroom.routers); the
# admin, the newsletter pages, every write, tasks and commands use the primary. Under test each
# is a mirror of the primary (no test database of its own).
for _number, _url in enumerate(env_list("DATABASE_REPLICA_URLS"), start=1):
    _replica = dj_database_url.parse(
        _url,
        conn_max_age=_CONN_MAX_AGE,
        conn_health_checks=True,
        test_options={"MIRROR": "default"},
    )
    # A replica host that has gone away costs this long (libpq's least) once per retry interval.
    _replica.setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)
    DATABASES[f"replica_{_number}"] = _replica
NEWSROOM_REPLICAS = tuple(alias for alias in DATABASES if alias != "default")
if NEWSROOM_REPLICAS and any(not db["ENGINE"].endswith("postgresql") for db in DATABASES.values()):
    raise ImproperlyConfigured("DATABASE_REPLICA_URLS: replicas are of a PostgreSQL DATABASE_URL.")
DATABASE_ROUTERS = ["newsroom.routers.ReplicaRouter"]
# SQLite (the embedded first-run database) builds the index that covers `unpublish_at` on
# PostgreSQL without that column: the index still serves, only its count is not index-only.
SILENCED_SYSTEM_CHECKS = (
    ["models.W040"] if DATABASES["default"]["ENGINE"].endswith("sqlite3") else []
)
# Paths whose every read uses the primary, even a GET: the admin (previews included) and a
# reader's own newsletter pages (sign-up, confirm, unsubscribe, preferences), which must show
# what was just done there, perhaps from another device than the one that did it.
NEWSROOM_PRIMARY_PATHS = ("/admin/", "/newsletters/")
# A replica further behind than this is not read. Verdicts are kept per process for
# NEWSROOM_REPLICA_CHECK_SECONDS; one that did not answer is tried again after
# NEWSROOM_REPLICA_RETRY_SECONDS.
NEWSROOM_REPLICA_MAX_LAG_SECONDS = float(os.environ.get("NEWSROOM_REPLICA_MAX_LAG_SECONDS", "5"))
NEWSROOM_REPLICA_CHECK_SECONDS = float(os.environ.get("NEWSROOM_REPLICA_CHECK_SECONDS", "2"))
NEWSROOM_REPLICA_RETRY_SECONDS = float(os.environ.get("NEWSROOM_REPLICA_RETRY_SECONDS", "30"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            # Redis, but a Redis outage degrades to cache misses instead of errors.
            "BACKEND": "newsroom.cache_backends.ResilientRedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            # A healthy Redis answers in well under a millisecond; these bound what a hung one
            # costs before the breaker skips it for NEWSROOM_CACHE_RETRY_SECONDS.
            "OPTIONS": {
                "socket_connect_timeout": float(
                    os.environ.get("NEWSROOM_CACHE_CONNECT_TIMEOUT", "0.1")
                ),
                "socket_timeout": float(os.environ.get("NEWSROOM_CACHE_TIMEOUT", "0.25")),
                "retry_after": float(os.environ.get("NEWSROOM_CACHE_RETRY_SECONDS", "30")),
            },
            "KEY_PREFIX": os.environ.get("NEWSROOM_CACHE_PREFIX", "newsroom"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "Europe/London")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("DJANGO_MEDIA_ROOT", BASE_DIR / "media"))
# Whether the app itself serves uploads under MEDIA_URL: on for `make run` and for DJANGO_DEBUG
# (nothing else is in front there), off in production, where nginx or object storage serves
# them (docs/DEPLOY.md). Django's file view is simple and unoptimised, hence not the default.
SERVE_MEDIA = env_bool("NEWSROOM_SERVE_MEDIA", default=DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed file names, so static files can be cached forever by browsers and the CDN.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# A static file missing from the manifest (collectstatic not run yet) falls back to its plain
# name instead of turning every page into a 500.
WHITENOISE_MANIFEST_STRICT = False
# Media on S3-compatible object storage (AWS, MinIO, R2, …) when a bucket is named, so any
# number of app containers share uploads; local files under MEDIA_ROOT otherwise.
if os.environ.get("NEWSROOM_S3_BUCKET"):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["NEWSROOM_S3_BUCKET"],
            "endpoint_url": os.environ.get("NEWSROOM_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("NEWSROOM_S3_REGION") or None,
            "custom_domain": os.environ.get("NEWSROOM_MEDIA_DOMAIN") or None,
            "file_overwrite": False,
            "querystring_auth": False,
            "default_acl": None,
        },
    }

EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "newsroom@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Who is emailed about the site's own trouble (a partner's webhook endpoint switched off):
# comma-separated addresses.
ADMINS = [
    (address.strip(), address.strip())
    for address in os.environ.get("DJANGO_ADMINS", "").split(",")
    if address.strip()
]
# SMTP is used when DJANGO_EMAIL_HOST is set (and DJANGO_EMAIL_BACKEND is not).
EMAIL_HOST = os.environ.get("DJANGO_EMAIL_HOST", "localhost")
if os.environ.get("DJANGO_EMAIL_HOST") and not os.environ.get("DJANGO_EMAIL_BACKEND"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_PORT = int(os.environ.get("DJANGO_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("DJANGO_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("DJANGO_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("DJANGO_EMAIL_USE_SSL")
EMAIL_TIMEOUT = int(os.environ.get("DJANGO_EMAIL_TIMEOUT", "30"))

# Background tasks: Django's Tasks API (the django-tasks backport) with the database backend;
# `manage.py run_worker` runs them. Tests switch to the immediate backend.
# Queues: "default" (newsletters, pictures' renditions) and "edge" (purges of the edge cache,
# each a few milliseconds, with a worker of their own so that they never wait behind a send).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "edge"]}}

# Webhooks to partners (api/webhooks.py): how long a partner may take to answer, and how many
# hours of failing deliveries switch an endpoint off (its admins are emailed).
NEWSROOM_WEBHOOK_TIMEOUT = float(os.environ.get("NEWSROOM_WEBHOOK_TIMEOUT", "5"))
NEWSROOM_WEBHOOK_DISABLE_AFTER = int(os.environ.get("NEWSROOM_WEBHOOK_DISABLE_AFTER", "24"))
# Apple News (api.apple_news_api): the channel and its API key from News Publisher; unset, no
# story is sent there.
NEWSROOM_APPLE_NEWS_CHANNEL = os.environ.get("NEWSROOM_APPLE_NEWS_CHANNEL", "")
NEWSROOM_APPLE_NEWS_KEY = os.environ.get("NEWSROOM_APPLE_NEWS_KEY", "")
NEWSROOM_APPLE_NEWS_SECRET = os.environ.get("NEWSROOM_APPLE_NEWS_SECRET", "")
NEWSROOM_APPLE_NEWS_API = os.environ.get("NEWSROOM_APPLE_NEWS_API") or "https://news-api.apple.com"
NEWSROOM_APPLE_NEWS_TIMEOUT = float(os.environ.get("NEWSROOM_APPLE_NEWS_TIMEOUT", "10"))

# Newsletters (see newsletters/ and .env.example).
NEWSROOM_NEWSLETTER_FROM = os.environ.get(
    "NEWSROOM_NEWSLETTER_FROM", f"{SITE_NAME} <newsletters@localhost>"
)
NEWSROOM_NEWSLETTER_REPLY_TO = os.environ.get("NEWSROOM_NEWSLETTER_REPLY_TO", "letters@localhost")
# The mailto: half of List-Unsubscribe; the mailbox's messages are for the newsroom to act on.
NEWSROOM_NEWSLETTER_UNSUBSCRIBE_MAILTO = os.environ.get(
    "NEWSROOM_NEWSLETTER_UNSUBSCRIBE_MAILTO", "unsubscribe@localhost"
)
NEWSROOM_NEWSLETTER_CONFIRM_MAX_AGE = int(
    os.environ.get("NEWSROOM_NEWSLETTER_CONFIRM_MAX_AGE", 3 * 24 * 3600)
)
NEWSROOM_NEWSLETTER_PREFERENCES_MAX_AGE = int(
    os.environ.get("NEWSROOM_NEWSLETTER_PREFERENCES_MAX_AGE", 180 * 24 * 3600)
)
# Sign-ups per hour from one client address, and confirmation emails per hour to one address.
NEWSROOM_NEWSLETTER_SIGNUPS_PER_IP = int(os.environ.get("NEWSROOM_NEWSLETTER_SIGNUPS_PER_IP", 20))
NEWSROOM_NEWSLETTER_SIGNUPS_PER_ADDRESS = int(
    os.environ.get("NEWSROOM_NEWSLETTER_SIGNUPS_PER_ADDRESS", 3)
)
NEWSROOM_NEWSLETTER_BATCH_SIZE = int(os.environ.get("NEWSROOM_NEWSLETTER_BATCH_SIZE", 200))
# Send tasks that share one edition, each one worker's worth of sending (run that many workers).
NEWSROOM_NEWSLETTER_SENDERS = int(os.environ.get("NEWSROOM_NEWSLETTER_SENDERS", 2))
NEWSROOM_NEWSLETTER_MAX_ATTEMPTS = int(os.environ.get("NEWSROOM_NEWSLETTER_MAX_ATTEMPTS", 5))
# Soft bounces (a full mailbox) within so many days that suppress an address
# (newsletters/services/bounces.py); a hard bounce or a complaint does at once.
NEWSROOM_NEWSLETTER_SOFT_BOUNCES = int(os.environ.get("NEWSROOM_NEWSLETTER_SOFT_BOUNCES", 3))
NEWSROOM_NEWSLETTER_SOFT_BOUNCE_DAYS = int(
    os.environ.get("NEWSROOM_NEWSLETTER_SOFT_BOUNCE_DAYS", 30)
)
# Mail providers' bounce and complaint webhooks (django-anymail, at /newsletters/anymail/…):
# the shared secret every provider sends as basic auth ("user:password"), and Mailgun's
# signing key; other providers' keys go into ANYMAIL the same way.
ANYMAIL = {
    key: value
    for key, value in {
        "WEBHOOK_SECRET": os.environ.get("NEWSROOM_ANYMAIL_WEBHOOK_SECRET", ""),
        "MAILGUN_WEBHOOK_SIGNING_KEY": os.environ.get("NEWSROOM_MAILGUN_WEBHOOK_SIGNING_KEY", ""),
    }.items()
    if value
}
NEWSROOM_NEWSLETTER_RETRY_DELAY = int(os.environ.get("NEWSROOM_NEWSLETTER_RETRY_DELAY", 60))
# Seconds after which another worker may take over a batch a worker claimed but did not finish.
NEWSROOM_NEWSLETTER_CLAIM_TIMEOUT = int(os.environ.get("NEWSROOM_NEWSLETTER_CLAIM_TIMEOUT", 300))

# When what readers may see changes by itself (a scheduled story's time, a banner's or a
# licence's end), with the surrogate keys of the pages it touches: cached pages never outlive
# it. A function of the current time, from the content's app.
NEWSROOM_UPCOMING_CHANGES = "articles.surrogates.upcoming_changes"
# The public pages' queries as server-side prepared statements on PostgreSQL (newsroom.prepared);
# off behind a pooler in transaction mode, which moves a client between server connections.
NEWSROOM_PREPARED_STATEMENTS = os.environ.get("NEWSROOM_PREPARED_STATEMENTS", "1") != "0"
# The edge (Varnish, a CDN): where purges go, each a dict with BACKEND (newsroom.purge's
# VarnishPurge, FastlyPurge or CloudflarePurge) and its options. NEWSROOM_VARNISH_URLS is the
# short way for Varnish: its addresses, comma-separated. With purges reaching it, the edge may
# keep pages for NEWSROOM_EDGE_MAX_AGE seconds (browsers: a minute); without, for a minute.
NEWSROOM_PURGE_BACKENDS = [
    {"BACKEND": "newsroom.purge.VarnishPurge", "URLS": env_list("NEWSROOM_VARNISH_URLS")}
] if env_list("NEWSROOM_VARNISH_URLS") else []  # fmt: skip
NEWSROOM_EDGE_MAX_AGE = int(os.environ.get("NEWSROOM_EDGE_MAX_AGE", "3600"))
# Where `manage.py setup_demo` keeps the demo logins' passwords on this machine (never committed).
NEWSROOM_DEMO_LOGINS_FILE = str(
    BASE_DIR / os.environ.get("NEWSROOM_DEMO_LOGINS_FILE", ".demo-logins.json")
)
# A chat tool's incoming webhook (Slack, Mattermost, Teams…) told of stories submitted for review,
# returned and published (articles/notifications.py). Empty: email only.
NEWSROOM_DESK_WEBHOOK_URL = os.environ.get("NEWSROOM_DESK_WEBHOOK_URL", "")
# How often an open live blog asks for new entries (static/js/live.js), in seconds.
NEWSROOM_LIVE_POLL_SECONDS = int(os.environ.get("NEWSROOM_LIVE_POLL_SECONDS", "10"))
# The response header carrying the surrogate keys: xkey for Varnish's xkey module,
# Surrogate-Key for Fastly, Cache-Tag for Cloudflare (comma-separated there).
NEWSROOM_SURROGATE_KEY_HEADER = os.environ.get("NEWSROOM_SURROGATE_KEY_HEADER", "xkey")
# "keys" (purge what changed) or "version" (every change makes every page stale, the earlier
# design, kept for comparison in the benchmarks).
NEWSROOM_PAGE_CACHE_INVALIDATION = os.environ.get("NEWSROOM_PAGE_CACHE_INVALIDATION", "keys")

# Embeds: links an editor pastes are made into snapshots by asking their provider's oEmbed
# endpoint, on the server (pictures/embeds.py). Each provider: the link patterns it answers for
# (the group "id" goes into the player's address), its endpoint, the player a reader's click
# loads, and the hosts its thumbnails may be copied from. Meta's providers need an app token.
NEWSROOM_OEMBED_TIMEOUT = float(os.environ.get("NEWSROOM_OEMBED_TIMEOUT", "5"))
_META_TOKEN = os.environ.get("NEWSROOM_OEMBED_META_TOKEN", "")
NEWSROOM_OEMBED_PROVIDERS = [
    {
        "name": "YouTube",
        "endpoint": "https://www.youtube.com/oembed",
        "patterns": [
            r"https?://(?:www\.|m\.)?youtube\.com/(?:watch\?(?:.*&)?v=|shorts/|live/)(?P<id>[\w-]{11})",
            r"https?://youtu\.be/(?P<id>[\w-]{11})",
        ],
        "player": "https://www.youtube-nocookie.com/embed/{id}?autoplay=1",
        "thumbnail_hosts": ["i.ytimg.com"],
        "colour": "#c4302b",
    },
    {
        "name": "Vimeo",
        "endpoint": "https://vimeo.com/api/oembed.json",
        "patterns": [r"https?://(?:www\.)?vimeo\.com/(?:video/)?(?P<id>\d+)"],
        "player": "https://player.vimeo.com/video/{id}?autoplay=1&dnt=1",
        "thumbnail_hosts": ["i.vimeocdn.com"],
        "colour": "#1ab7ea",
    },
    {
        "name": "X",
        "endpoint": "https://publish.twitter.com/oembed",
        "patterns": [
            r"https?://(?:www\.|mobile\.)?(?:twitter|x)\.com/\w+/status(?:es)?/(?P<id>\d+)"
        ],
        "player": "https://platform.twitter.com/embed/Tweet.html?id={id}&dnt=true",
        "colour": "#14171a",
    },
    {
        "name": "Instagram",
        "endpoint": "https://graph.facebook.com/v19.0/instagram_oembed",
        "patterns": [r"https?://(?:www\.)?instagram\.com/(?:p|reel|tv)/(?P<id>[\w-]+)"],
        "player": "https://www.instagram.com/p/{id}/embed/",
        "thumbnail_hosts": [".cdninstagram.com", ".fbcdn.net"],
        "params": {"access_token": _META_TOKEN},
        "needs": "NEWSROOM_OEMBED_META_TOKEN",
        "colour": "#c13584",
    },
    {
        "name": "TikTok",
        "endpoint": "https://www.tiktok.com/oembed",
        "patterns": [r"https?://(?:www\.)?tiktok\.com/@[\w.-]+/video/(?P<id>\d+)"],
        "player": "https://www.tiktok.com/embed/v2/{id}",
        "thumbnail_hosts": [".tiktokcdn.com", ".tiktokcdn-us.com"],
        "colour": "#010101",
    },
    {
        "name": "Facebook",
        "endpoint": "https://graph.facebook.com/v19.0/oembed_post",
        "patterns": [
            r"https?://(?:www\.)?facebook\.com/(?:[\w.]+/(?:posts|videos)/|watch/?\?v=)(?P<id>[\w]+)"
        ],
        "player": "https://www.facebook.com/plugins/post.php?href={url}",
        "thumbnail_hosts": [".fbcdn.net"],
        "params": {"access_token": _META_TOKEN},
        "needs": "NEWSROOM_OEMBED_META_TOKEN",
        "colour": "#1877f2",
    },
]

# Largest article file the importer accepts; anything bigger is not a news story.
NEWSROOM_IMPORT_MAX_BYTES = int(os.environ.get("NEWSROOM_IMPORT_MAX_BYTES", 1_000_000))

TAGGIT_CASE_INSENSITIVE = True

# One JSON object per line on stderr, each with the request id (also sent back as X-Request-ID),
# for the log collector. NEWSROOM_LOG_FORMAT=text gives plain lines for a terminal.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "newsroom.middleware.RequestIDLogFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "text" if os.environ.get("NEWSROOM_LOG_FORMAT") == "text" else "json",
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {"django.server": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
