"""Background work waits for a lull in the requests: counted from a request's arrival to its
response's start, through the real middleware; a lull waits for the last answer and never
longer than its bound."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

from litestar import Litestar, get
from litestar.response import Stream
from litestar.testing import AsyncTestClient

from server.observability import inflight
from server.observability.middleware import ObservabilityMiddleware


async def until(condition: Callable[[], bool], within: float = 30) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition never became true"
        await asyncio.sleep(0.001)


async def test_a_lull_waits_for_the_last_request_to_be_answered() -> None:
    inflight.request_started()
    inflight.request_started()
    parked = asyncio.create_task(inflight.lull(60))
    await until(lambda: inflight.waiting() == 1)
    inflight.request_answered()
    # One request still works: the lull goes on.
    await asyncio.sleep(0)
    assert not parked.done() and inflight.waiting() == 1
    inflight.request_answered()
    await asyncio.wait_for(parked, 30)
    assert inflight.in_flight() == 0 and inflight.waiting() == 0


async def test_a_lull_never_waits_longer_than_its_bound() -> None:
    # A saturated server still does its background work, slowly.
    inflight.request_started()
    try:
        await asyncio.wait_for(inflight.lull(0.01), 30)
        assert inflight.in_flight() == 1 and inflight.waiting() == 0
    finally:
        inflight.request_answered()


async def test_a_request_counts_from_arrival_until_its_answer_starts() -> None:
    seen: dict[str, int] = {}

    @get("/work", sync_to_thread=False)
    def work() -> str:
        seen["work"] = inflight.in_flight()
        return "done"

    @get("/fails", sync_to_thread=False)
    def fails() -> str:
        raise RuntimeError("broken handler")

    @get("/download")
    async def download() -> Stream:
        async def chunks() -> AsyncIterator[bytes]:
            # Once the answer has started, the request is the network's work.
            seen["streaming"] = inflight.in_flight()
            yield b"data"

        return Stream(chunks())

    app = Litestar([work, fails, download], middleware=[ObservabilityMiddleware()])
    before = inflight.in_flight()
    async with AsyncTestClient(app) as client:
        assert (await client.get("/work")).text == "done"
        assert (await client.get("/fails")).status_code == 500
        assert (await client.get("/download")).content == b"data"
    assert seen == {"work": before + 1, "streaming": before}
    assert inflight.in_flight() == before
