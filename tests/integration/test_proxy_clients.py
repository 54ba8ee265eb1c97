"""Behind a reverse proxy every request comes from the proxy's address. With
GUICHET_FORWARDED_ALLOW_IPS naming the proxy, ``guichet serve`` takes the client's address
from X-Forwarded-For, so login limits count each client, not the whole hospital behind the
proxy; and /metrics still refuses anything that came through a proxy. Debian's nginx with the
repository's settings, on the suite's engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live_instances import DEMO_PASSWORD, Instance, demo_database
from tests.nginx_proxy import Nginx, nginx_proxy

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[tuple[Nginx, Instance]]:
    with demo_database(tmp_path) as url:
        instance = Instance(url, tmp_path, "a", serve=True, FORWARDED_ALLOW_IPS="127.0.0.1")
        try:
            instance.wait_ready()
            with nginx_proxy(tmp_path / "nginx", [f"127.0.0.1:{instance.port}"]) as proxy:
                yield proxy, instance
        finally:
            instance.stop()


def login(proxy: Nginx, client_address: str, password: str) -> int:
    """One login through the proxy by a client nginx sees as ``client_address`` (the test's
    own X-Forwarded-For: nginx appends the loopback peer, which the instance trusts)."""
    with httpx.Client(base_url=proxy.base, timeout=30) as client:
        client.get("/login")
        response = client.post(
            "/login",
            data={"email": "tech.n1@guichet.example", "password": password, "next": "/board"},
            headers={
                "x-csrftoken": client.cookies["guichet_csrf"],
                "x-forwarded-for": client_address,
            },
        )
        return response.status_code


def test_login_limits_count_each_client_behind_the_proxy(
    proxied: tuple[Nginx, Instance],
) -> None:
    proxy, instance = proxied
    limit = int(instance.env["GUICHET_LOGIN_ATTEMPTS_PER_MINUTE"])
    codes = [login(proxy, "198.51.100.7", "wrong") for _ in range(limit + 1)]
    assert codes == [400] * limit + [429]  # that client must wait...
    # ... while a colleague behind the same proxy signs in to the same account at once.
    assert login(proxy, "198.51.100.8", DEMO_PASSWORD) == 303


def test_metrics_refuse_what_came_through_the_proxy(proxied: tuple[Nginx, Instance]) -> None:
    proxy, instance = proxied
    assert httpx.get(f"{instance.base}/metrics", timeout=10).status_code == 200  # loopback
    # The proxy's own settings answer 404; forwarded by another proxy, the instance refuses.
    assert httpx.get(f"{proxy.base}/metrics", timeout=10).status_code == 404
    forwarded = httpx.get(
        f"{instance.base}/metrics", headers={"x-forwarded-for": "198.51.100.7"}, timeout=10
    )
    assert forwarded.status_code == 403
