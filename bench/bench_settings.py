"""Settings for the reader's-site benchmark (`bench/web_pages.py`) only: the project's own
settings with a URLconf that adds the bare view the figures are compared with. Selected with
`DJANGO_SETTINGS_MODULE=bench.bench_settings` (the project root on PYTHONPATH); never used by
the site itself."""

from newsroom.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bench_urls"
