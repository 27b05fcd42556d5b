"""The login lockout behind the real proxy chain: a load balancer (played by this test, which
sends the X-Forwarded-For it would) in front of deploy/nginx/newsroom.conf's nginx, which
appends the balancer's address, in front of the app, so NEWSROOM_PROXY_COUNT=2. The lockout
must fall on the reader's address, not on nginx's or the balancer's.

Uses tests/newsroom/test_nginx.py's nginx; without /usr/sbin/nginx this skips (a failure under
CI=true, where `make system-packages` has installed it). With the browser tests (marker e2e)
rather than tests/accounts: like them it needs a live server, whose flush of every table after
the test must come after the suite's other tests, which rely on the migrations' rows."""

import os
import re

import pytest
from axes.models import AccessAttempt

from tests.accounts.factories import UserFactory
from tests.newsroom.test_nginx import NGINX, proxy  # noqa: F401  (the fixture)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not os.access(NGINX, os.X_OK), reason=f"no nginx at {NGINX}"),
    pytest.mark.django_db(transaction=True),
    pytest.mark.lockout,
]

PASSWORD = "correct horse battery staple"  # UserFactory's


class Reader:
    """One browser behind the load balancer, which tells nginx the reader's address."""

    def __init__(self, proxy, address, *, claims=None):  # noqa: F811
        self.proxy, self.address = proxy, address
        # What the balancer passes on: anything the reader wrote, then the reader's address.
        self.forwarded = ", ".join([*(claims or []), address])
        status, headers, page = proxy.get("/admin/login/", headers=self.headers())
        assert status == 200
        self.cookie = next(c for c in headers["set-cookie"] if c.startswith("csrftoken="))
        self.token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)

    def headers(self, **extra):
        return {"X-Forwarded-For": self.forwarded, **extra}

    def log_in(self, username, password) -> int:
        status, _headers, _page = self.proxy.post(
            "/admin/login/?next=/admin/",
            {"csrfmiddlewaretoken": self.token, "username": username, "password": password},
            headers=self.headers(Cookie=self.cookie.split(";")[0], Origin=self.proxy.origin),
        )
        return status


def test_five_failures_lock_out_the_reader_behind_nginx_and_not_everyone(proxy, settings):  # noqa: F811
    settings.NEWSROOM_PROXY_COUNT = 2  # the balancer, then nginx
    UserFactory(username="maggie", reporter=True)
    attacker = Reader(proxy, "198.51.100.66")
    assert [attacker.log_in("maggie", "wrong") for _ in range(5)] == [200] * 4 + [429]
    assert attacker.log_in("maggie", PASSWORD) == 429
    disguised = Reader(proxy, "198.51.100.66", claims=["192.0.2.1"])
    assert disguised.log_in("maggie", PASSWORD) == 429
    assert list(AccessAttempt.objects.values_list("username", "ip_address")) == [
        ("maggie", "198.51.100.66")
    ]
    assert Reader(proxy, "198.51.100.7").log_in("maggie", PASSWORD) == 302
