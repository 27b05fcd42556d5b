"""Fill the placeholders of newsroom.vcl: `python deploy/varnish/render.py KEY=VALUE ...` prints
the VCL. default.vcl is this template rendered for compose.yaml; the Varnish tests render their
own for loopback. PURGERS is a comma-separated list of addresses and networks (`10.0.0.0/8`),
written out as the `purgers` ACL; GRACE (how long past its lifetime a copy may stand in for an
origin that fails) and REFRESH_GRACE (how long after a soft purge or its lifetime a copy may be
given while one fetch refreshes it, the origin being healthy) are VCL durations."""

import importlib.util
import sys
from pathlib import Path

TEMPLATE = Path(__file__).with_name("newsroom.vcl")
_spec = importlib.util.spec_from_file_location(
    "deploy_placeholders", Path(__file__).resolve().parent.parent / "placeholders.py"
)
_placeholders = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_placeholders)
COMPOSE = {
    "BACKEND_HOST": "web",
    "BACKEND_PORT": "8000",
    # Loopback and the private networks compose's own network is drawn from: the web and
    # worker containers, which send the purges. The purge listener is not published.
    "PURGERS": "127.0.0.1,::1,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16",
    "GRACE": "1h",
    "REFRESH_GRACE": "10s",
}


def acl(entries: str) -> str:
    """ACL lines for comma-separated addresses and networks."""
    lines = []
    for entry in (item.strip() for item in entries.split(",")):
        if entry:
            address, _, bits = entry.partition("/")
            lines.append(f'    "{address}"/{bits};' if bits else f'    "{address}";')
    return "\n".join(lines)


def render(**values: str) -> str:
    if "PURGERS" in values:
        values = {**values, "PURGERS": acl(values["PURGERS"])}
    return _placeholders.fill(TEMPLATE, values)


if __name__ == "__main__":
    pairs = dict(arg.split("=", 1) for arg in sys.argv[1:]) or COMPOSE
    sys.stdout.write(render(**pairs))
