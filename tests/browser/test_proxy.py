"""Two instances behind Debian's nginx, with the repository's proxy settings: a move made
through one instance reaches a browser whose socket, opened through the proxy, lives on the
other; when that instance stops (SIGTERM), the browser reconnects through the proxy to the
first and keeps following moves. Once with each shared channels backend."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.live_instances import (
    DEMO_PASSWORD,
    Instance,
    a_new_ticket,
    demo_database,
    move,
    signed_in,
)
from tests.nginx_proxy import Nginx, nginx_proxy
from tests.redis_server import free_port, throwaway_redis

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture(params=["postgres", "redis"])
def behind_proxy(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Nginx, Instance, Instance]]:
    """Instances A and B behind nginx. B is the primary upstream and A its backup, so while B
    is up every socket opened through the proxy is on B: the test knows where it is."""
    channels = request.param
    with ExitStack() as stack:
        url = stack.enter_context(demo_database(tmp_path, postgres=channels == "postgres"))
        env = {"CHANNELS": channels}
        if channels == "redis":
            env["REDIS_URL"] = stack.enter_context(throwaway_redis(tmp_path / "redis")).url
        proxy_port = free_port()
        env["BASE_URL"] = f"http://127.0.0.1:{proxy_port}"
        first = Instance(url, tmp_path, "a", **env)
        stack.callback(first.stop)
        second = Instance(url, tmp_path, "b", **env)
        stack.callback(second.stop)
        first.wait_ready()
        second.wait_ready()
        upstreams = [f"127.0.0.1:{second.port}", f"127.0.0.1:{first.port} backup"]
        proxy = stack.enter_context(nginx_proxy(tmp_path / "nginx", upstreams, proxy_port))
        yield proxy, first, second


async def wait_for(predicate: Callable[[], bool], within: float = 20) -> None:
    import asyncio

    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def board_through(browser: Browser, proxy: Nginx) -> Page:
    page = await (await browser.new_context(locale="fr-FR")).new_page()
    await page.goto(f"{proxy.base}/login")
    await page.fill("#email", "superviseur@guichet.example")
    await page.fill("#password", DEMO_PASSWORD)
    await page.click("form[action='/login'] button[type=submit]")
    await page.wait_for_load_state()
    await page.goto(f"{proxy.base}/board")
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    return page


async def test_moves_through_one_instance_reach_a_browser_on_the_other_through_nginx(
    behind_proxy: tuple[Nginx, Instance, Instance], browser: Browser
) -> None:
    proxy, first, second = behind_proxy
    page = await board_through(browser, proxy)
    # The browser's socket went through the proxy to B, and only to B.
    await wait_for(lambda: second.board_sockets() == 1)
    assert first.board_sockets() == 0

    tech = await signed_in(first.base, "tech.n1@guichet.example")  # straight to A
    ticket_id, version = await a_new_ticket(tech)
    await expect(page.locator(f"#cards-new #card-{ticket_id}")).to_be_visible()
    assert await move(tech, ticket_id, "pending", version) == 200
    await expect(page.locator(f"#cards-pending #card-{ticket_id}")).to_be_visible()

    # B stops: its sockets close with 1012, the page reconnects through the proxy, to A.
    second.process.terminate()
    second.process.wait(timeout=15)
    await wait_for(lambda: first.board_sockets() == 1)
    # nginx logs a websocket when it ends: B's, upgraded through the proxy.
    upgraded = [line for line in proxy.access_log.splitlines() if line.startswith("GET /ws?")]
    assert upgraded[0].endswith(f" 101 upstream=127.0.0.1:{second.port}"), upgraded
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    ticket_id, version = await a_new_ticket(tech)
    assert await move(tech, ticket_id, "pending", version) == 200
    await expect(page.locator(f"#cards-pending #card-{ticket_id}")).to_be_visible()
    await tech.aclose()
