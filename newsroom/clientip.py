"""The client's address, the one rule that the login lockout (django-axes) and the sign-up rate
limits both use.

Behind `NEWSROOM_PROXY_COUNT` proxies, each appending the address it was reached from to
X-Forwarded-For (nginx's `$proxy_add_x_forwarded_for`, a cloud load balancer), the client is the
entry that many places from the right; whatever the client wrote itself stands further left and
is ignored. The header is believed only when the peer (REMOTE_ADDR) is one of
`NEWSROOM_TRUSTED_PROXIES`: a request that reaches the app by another way keeps its peer address,
whatever X-Forwarded-For it carries.
"""

from __future__ import annotations

import ipaddress
from functools import cache

from django.conf import settings
from django.http import HttpRequest
from ipware import get_client_ip


def client_ip(request: HttpRequest) -> str:
    """The address of the client behind the configured proxies, or the peer's address when no
    proxy is configured, the peer is not a trusted proxy, or the header is too short to hold the
    client (a request made from the proxy's own machine)."""
    peer = request.META.get("REMOTE_ADDR", "")
    proxies = settings.NEWSROOM_PROXY_COUNT
    if not proxies or not _is_trusted_proxy(peer):
        return peer
    # ipware counts the proxies *within* the header (the nearest one is the peer, not listed),
    # hence one less; `strict=False` lets the client's own entries stand on the left, ignored.
    address, _routable = get_client_ip(
        request,
        proxy_order="left-most",
        proxy_count=proxies - 1,
        request_header_order=["HTTP_X_FORWARDED_FOR"],  # the one header our proxies write
        strict=False,
    )
    return address or peer


def _is_trusted_proxy(address: str) -> bool:
    try:
        peer = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped:
        peer = peer.ipv4_mapped
    return any(peer in network for network in _trusted_networks(settings.NEWSROOM_TRUSTED_PROXIES))


@cache
def _trusted_networks(entries: tuple[str, ...]) -> tuple[ipaddress._BaseNetwork, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)
