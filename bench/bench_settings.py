"""The benchmarks' settings (`DJANGO_SETTINGS_MODULE=bench.bench_settings`), never the site's: the
project's, plus the bare view (`bench_urls`), and no cache at all with `BENCH_CACHE=dummy`."""

import os

from newsroom.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bench_urls"
if os.environ.get("BENCH_CACHE") == "dummy":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
