"""The real application behind a real uvicorn server on a loopback port, in the test's own
event loop: real HTTP, real websockets, real concurrency (no test client in between)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import uvicorn
import websockets

from server.app import create_app
from tests.factories import PASSWORD


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    def __init__(self, app: Any, port: int) -> None:
        self.app = app
        self.port = port
        self.base = f"http://127.0.0.1:{port}"

    async def signed_in(self, email: str, password: str = PASSWORD) -> httpx.AsyncClient:
        """A browser-like client signed in through the real login form."""
        client = httpx.AsyncClient(base_url=self.base, timeout=30)
        await client.get("/login")
        response = await client.post(
            "/login",
            data={"email": email, "password": password, "next": "/tickets"},
            headers={"x-csrftoken": client.cookies["guichet_csrf"]},
        )
        assert response.status_code == 303, response.text
        await client.get("/tickets")  # a fresh CSRF cookie for this session
        return client

    async def socket(self, client: httpx.AsyncClient, query: str) -> Any:
        """A websocket carrying ``client``'s session, as the page would open it."""
        cookies = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        return await websockets.connect(
            f"ws://127.0.0.1:{self.port}/ws?{query}",
            additional_headers={"Origin": self.base, "Cookie": cookies},
            open_timeout=30,
            max_size=None,
            # Keep reading (and answering pings) like a browser, even when the test is busy
            # elsewhere: a bounded queue would make this client stop reading.
            max_queue=None,
        )


def csrf(client: httpx.AsyncClient) -> dict[str, str]:
    return {"x-csrftoken": client.cookies["guichet_csrf"], "hx-request": "true"}


async def until(ws: Any, text: str, within: float = 20) -> str:
    """Read pushes until one contains ``text``; fails after a generous delay."""
    async with asyncio.timeout(within):
        while True:
            message = await ws.recv()
            if text in message:
                return message


@contextlib.asynccontextmanager
async def live_server(**uvicorn_options: Any) -> AsyncIterator[LiveServer]:
    app = create_app()
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        ws_per_message_deflate=False,
        **uvicorn_options,
    )
    server = uvicorn.Server(config)
    # Signals stay pytest's (Ctrl-C stops the run, not just this server).
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(30):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.02)
        yield LiveServer(app, port)
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            async with asyncio.timeout(20):
                await task
        if not task.done():
            task.cancel()


async def eventually(condition: Callable[[], bool], within: float = 30) -> None:
    """Wait until ``condition()`` holds (checked often), failing after a generous delay."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - a plain condition, no event to wait on
            await asyncio.sleep(0.02)
