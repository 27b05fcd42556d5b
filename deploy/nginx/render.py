"""Fill the placeholders of newsroom.conf: `python deploy/nginx/render.py KEY=VALUE ...` prints
the configuration. compose.conf is this template rendered for compose.yaml (in front of Varnish,
so PAGE_CACHE is off); the nginx benchmark and test render their own copy for loopback, with
the micro-cache (PAGE_CACHE=newsroom_pages)."""

import importlib.util
import sys
from pathlib import Path

TEMPLATE = Path(__file__).with_name("newsroom.conf")
_spec = importlib.util.spec_from_file_location(
    "deploy_placeholders", Path(__file__).resolve().parent.parent / "placeholders.py"
)
_placeholders = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_placeholders)
COMPOSE = {
    "CACHE_DIR": "/var/cache/nginx/newsroom",
    "UPSTREAM": "varnish:6081",
    "LISTEN": "80",
    "STATIC_ROOT": "/srv/static",
    "MEDIA_ROOT": "/srv/media",
    "PAGE_CACHE": "off",
    "READS_COLLECTOR": "reads:5140",
}


def render(**values: str) -> str:
    return _placeholders.fill(TEMPLATE, values)


if __name__ == "__main__":
    pairs = dict(arg.split("=", 1) for arg in sys.argv[1:]) or COMPOSE
    sys.stdout.write(render(**pairs))
