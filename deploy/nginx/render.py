"""Fill the placeholders of newsroom.conf: `python deploy/nginx/render.py KEY=VALUE ...` prints
the configuration. compose.conf is this template rendered for compose.yaml (in front of Varnish,
so PAGE_CACHE is off); the nginx benchmark and test render their own copy for loopback, with
the micro-cache (PAGE_CACHE=newsroom_pages)."""

import re
import sys
from pathlib import Path

TEMPLATE = Path(__file__).with_name("newsroom.conf")
PLACEHOLDER = re.compile(r"__[A-Z][A-Z_]*__")
COMPOSE = {
    "CACHE_DIR": "/var/cache/nginx/newsroom",
    "UPSTREAM": "varnish:6081",
    "LISTEN": "80",
    "STATIC_ROOT": "/srv/static",
    "MEDIA_ROOT": "/srv/media",
    "PAGE_CACHE": "off",
}


def render(**values: str) -> str:
    text = TEMPLATE.read_text()
    for key, value in values.items():
        text = text.replace(f"__{key}__", value)
    # Placeholders only: a value may itself contain "__" (a temporary directory's name).
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    left = sorted(
        {m for line in lines for m in PLACEHOLDER.findall(line)} - {f"__{k}__" for k in values}
    )
    if left:
        raise ValueError(f"placeholders left unfilled: {', '.join(left)}")
    return text


if __name__ == "__main__":
    pairs = dict(arg.split("=", 1) for arg in sys.argv[1:]) or COMPOSE
    sys.stdout.write(render(**pairs))
