"""Two Guichet processes sharing one database and one Redis (GUICHET_CHANNELS=redis): a move
made through one reaches a websocket on the other, and keeps doing so after Redis crashes and
comes back. Runs on the suite's engine (SQLite file or PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets

from tests.live_instances import (
    Instance,
    a_new_ticket,
    demo_database,
    instances,
    move,
    signed_in,
)
from tests.live_server import until
from tests.redis_server import RedisServer, throwaway_redis

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture
def redis_pair(tmp_path: Path) -> Iterator[tuple[RedisServer, Instance, Instance]]:
    with (
        throwaway_redis(tmp_path / "redis") as redis,
        demo_database(tmp_path) as url,
        instances(url, tmp_path, ["a", "b"], CHANNELS="redis", REDIS_URL=redis.url) as pair,
    ):
        yield redis, pair[0], pair[1]


def board_socket(instance: Instance, cookie: str) -> websockets.connect:
    return websockets.connect(
        f"ws://127.0.0.1:{instance.port}/ws?view=board",
        additional_headers={"Origin": instance.base, "Cookie": cookie},
    )


async def test_moves_cross_instances_through_redis_and_survive_its_restart(redis_pair) -> None:
    redis, first, second = redis_pair
    tech = await signed_in(first.base, "tech.n1@guichet.example")
    watcher = await signed_in(second.base, "superviseur@guichet.example")
    cookie = f"guichet_session={watcher.cookies['guichet_session']}"
    async with board_socket(second, cookie) as on_b, board_socket(first, cookie) as on_a:
        await until(on_b, 'id="board-columns"')
        await until(on_a, 'id="board-columns"')
        ticket_id, version = await a_new_ticket(tech)
        assert await move(tech, ticket_id, "pending", version) == 200
        pushed = await until(on_b, f'id="card-{ticket_id}"', within=10)
        assert "#cards-pending" in pushed
        await until(on_a, f'id="card-{ticket_id}"', within=10)

        await asyncio.to_thread(redis.restart)  # a crash: no goodbye, sockets just break
        # Both instances subscribe again by themselves and send their viewers a snapshot...
        await until(on_b, 'id="board-columns"')
        await until(on_a, 'id="board-columns"')
        # ... and moves flow again, either way.
        ticket_id, version = await a_new_ticket(tech)
        assert await move(tech, ticket_id, "pending", version) == 200
        assert "#cards-pending" in await until(on_b, f'id="card-{ticket_id}"', within=10)
        assert "#cards-pending" in await until(on_a, f'id="card-{ticket_id}"', within=10)
        desk = await signed_in(second.base, "tech.n1@guichet.example")
        ticket_id, version = await a_new_ticket(desk)
        assert await move(desk, ticket_id, "pending", version) == 200
        assert "#cards-pending" in await until(on_a, f'id="card-{ticket_id}"', within=10)
        await desk.aclose()
    await tech.aclose()
    await watcher.aclose()
