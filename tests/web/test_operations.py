"""/metrics (Prometheus text, protected), request ids and JSON logs."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from server.app import create_app
from server.db.tables import Outbox, Ticket
from server.settings import get_settings
from tests import factories
from tests.ldap_server import free_port
from tests.log_capture import json_log_lines
from tests.web.test_live import connect, move, receive, session_of

TOKEN = "scrape-token-for-tests"


@pytest.fixture
def metrics_token(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("GUICHET_METRICS_TOKEN", TOKEN)
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, by name and labels (the parser fails on bad syntax)."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(client: AsyncTestClient) -> dict:
    response = await client.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


async def test_metrics_need_the_token(metrics_token: None, client: AsyncTestClient) -> None:
    assert (await client.get("/metrics")).status_code == 403
    wrong = {"authorization": "Bearer not-the-token"}
    assert (await client.get("/metrics", headers=wrong)).status_code == 403


async def test_scrape_reports_requests_sockets_fanout_outbox_and_login_failures(
    metrics_token: None, client: AsyncTestClient
) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    # A mail nobody will send for a while: one hour old, next attempt tomorrow.
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    await Outbox.insert(
        Outbox(
            kind="created",
            ticket=ticket_id,
            recipient=w.requester_a.id,
            created_at=hour_ago,
            next_attempt_at=datetime.now(UTC) + timedelta(days=1),
        )
    )
    before = await scrape(client)
    tech = await session_of(client, "tech@desk.test")
    await client.post(
        "/login",
        data={"email": "tech@desk.test", "password": "wrong password"},
        headers=factories.csrf_header(client),
    )
    ws = await connect(client, tech, "view=board")
    with ws:
        receive(ws)  # snapshot
        during = await scrape(client)
        assert (await move(client, tech, ticket_id, "assigned", 1)).status_code == 200
        receive(ws)  # the push
        after = await scrape(client)

    sockets = "guichet_websocket_connections"
    assert value(during, sockets, view="board") == value(before, sockets, view="board") + 1
    failures = "guichet_login_failures_total"
    assert (
        value(after, failures, method="password") == value(before, failures, method="password") + 1
    )
    fanout = "guichet_fanout_delay_seconds_count"
    assert value(after, fanout) >= value(before, fanout) + 1
    route = {"route": "/tickets/{ticket_id}/move", "method": "POST", "status": "200"}
    assert value(after, "guichet_http_request_duration_seconds_count", **route) >= 1
    assert value(after, "guichet_outbox_pending") >= 1
    assert value(after, "guichet_outbox_oldest_age_seconds") >= 3500
    assert ("guichet_scheduler_lag_seconds", ()) in after


class LiveServer:
    """The real application on a loopback port (uvicorn in a thread)."""

    def __init__(self) -> None:
        self.port = free_port()
        config = uvicorn.Config(create_app(), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve()))

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


async def test_without_a_token_only_loopback_clients_not_proxied_may_scrape() -> None:
    assert not get_settings().metrics_token
    with LiveServer() as live:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{live.port}") as http:
            response = await http.get("/metrics")
            assert response.status_code == 200
            assert samples(response.text)
            proxied = await http.get("/metrics", headers={"x-forwarded-for": "203.0.113.9"})
            assert proxied.status_code == 403


async def test_not_loopback_without_token_is_refused(client: AsyncTestClient) -> None:
    # The test client presents itself as "testclient", not a loopback address.
    assert (await client.get("/metrics")).status_code == 403


async def test_request_id_reaches_the_logs_and_the_published_event(
    client: AsyncTestClient,
) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    tech = await session_of(client, "tech@desk.test")
    bus = client.app.state.bus
    published: list[dict[str, Any]] = []
    original = bus.publish

    async def recording(message: dict[str, Any]) -> None:
        published.append(message)
        await original(message)

    bus.publish = recording
    with json_log_lines() as lines:
        response = await move(client, tech, ticket_id, "assigned", 1)
        row = await Ticket.select(Ticket.version).where(Ticket.id == ticket_id).first()
        version = row["version"]
        second = await client.post(
            f"/tickets/{ticket_id}/move",
            data={"status": "pending", "version": str(version)},
            headers={
                **factories.csrf_header(client),
                "hx-request": "true",
                "x-request-id": "req-from-proxy-42",
            },
        )
    assert response.status_code == second.status_code == 200
    # Without a header, a fresh id; with one, the proxy's, echoed back.
    generated = response.headers["x-request-id"]
    assert len(generated) == 32
    assert second.headers["x-request-id"] == "req-from-proxy-42"
    moves = [m for m in published if m.get("ticket_id") == ticket_id]
    assert {m.get("request_id") for m in moves} >= {generated, "req-from-proxy-42"}
    access = [line for line in lines if line["logger"] == "guichet.http"]
    assert any(
        line["request_id"] == "req-from-proxy-42"
        and line["route"] == "/tickets/{ticket_id}/move"
        and line["status"] == 200
        for line in access
    )


async def test_a_request_id_with_odd_characters_is_replaced(client: AsyncTestClient) -> None:
    response = await client.get("/login", headers={"x-request-id": "bad id with spaces"})
    assert response.headers["x-request-id"] != "bad id with spaces"
    assert len(response.headers["x-request-id"]) == 32
