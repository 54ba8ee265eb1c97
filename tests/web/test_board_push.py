"""One board event, many sockets: the push is decided and rendered once per board view, and
every socket of a view gets the same string, in its own language, with only what it may see."""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from typing import Any

import jinja2
import pytest
from litestar.testing import AsyncTestClient

from server.db.tables import User
from server.domain.vocabulary import Status
from server.realtime import render
from server.realtime.bus import MemoryBus
from server.realtime.hub import NORMAL_CLOSE, SEND_TIMEOUT_SECONDS, Connection, Hub
from server.web.rendering import template_engine
from tests import factories
from tests.web.test_live import connect, move, nothing_arrives, receive, session_of

SOCKETS_PER_VIEW = 4


async def test_one_event_renders_once_per_view_whatever_the_number_of_sockets(
    client: AsyncTestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = await factories.world()
    await User.update({User.locale: "ru"}).where(User.email == "sup@desk.test")
    ticket_id = await factories.ticket(w.requester_a, title="Scanner en panne")
    people = {
        "tech": await session_of(client, "tech@desk.test"),
        "sup": await session_of(client, "sup@desk.test"),
        "alice": await session_of(client, "alice@chu-a.test"),
    }
    bruno = await session_of(client, "bruno@clinique-b.test")
    sockets = {
        name: [await connect(client, jar, "view=board") for _ in range(SOCKETS_PER_VIEW)]
        for name, jar in people.items()
    }
    outsider = await connect(client, bruno, "view=board")
    with contextlib.ExitStack() as open_sockets:
        for ws in [*(ws for group in sockets.values() for ws in group), outsider]:
            open_sockets.enter_context(ws)  # the test client runs a socket inside its block
        for name, group in sockets.items():
            for ws in group:
                assert f'id="card-{ticket_id}"' in receive(ws, 20), name  # the snapshot
        receive(outsider)
        seen: Counter[str] = Counter()
        original = jinja2.Template.render

        def counting(self: jinja2.Template, *args: Any, **kwargs: Any) -> str:
            seen[self.name or ""] += 1
            return original(self, *args, **kwargs)

        monkeypatch.setattr(jinja2.Template, "render", counting)
        response = await move(client, people["tech"], ticket_id, "assigned", 1)
        assert response.status_code == 200
        pushes = {name: [receive(ws) for ws in group] for name, group in sockets.items()}
        assert nothing_arrives(outsider)  # not his establishment's ticket
        monkeypatch.undo()

    # Every socket of one view got the very same push; the three views got different ones.
    for name, got in pushes.items():
        assert len(set(got)) == 1, name
    tech, sup, alice = (pushes[name][0] for name in ("tech", "sup", "alice"))
    assert len({tech, sup, alice}) == 3

    # Each one is what that viewer is owed: its language, its role's card, exact counts.
    env = template_engine().engine
    for push, locale in ((tech, "fr"), (sup, "ru"), (alice, "fr")):
        assert f'hx-swap-oob="beforeend:#cards-assigned"><article id="card-{ticket_id}"' in push
        counts = render.count_html(env, locale, Status.NEW, 0) + render.count_html(
            env, locale, Status.ASSIGNED, 1
        )
        assert counts in push
        said = render.announcement(env, locale, render.MOVED, id=ticket_id, status="assigned")
        assert push.endswith(said)
    assert "теперь в колонке" in sup and "maintenant dans" in tech
    assert "card-menu" in tech and "card-menu" in sup and "card-menu" not in alice

    # Rendered once per view (or per language), not once per socket: 12 sockets, 3 views.
    assert seen["board/_count.html"] <= 2 * len(sockets)  # was 2 per socket
    # Per language (French, Russian) or per (role, language); plus the mover's response.
    assert seen["board/_announcer.html"] <= 2 + 1
    assert seen["board/_card.html"] <= len(sockets) + 1


async def test_a_push_waiting_too_long_ends_only_that_socket() -> None:
    """A reader that stopped reading makes its push wait: the hub's sweep ends that socket
    (it reconnects with a snapshot), not the ones idle or just writing."""

    async def handle(item: Any) -> None:
        return None

    hub = Hub(MemoryBus(), template_engine().engine)
    stuck, idle, writing = (Connection(n, handle) for n in (1, 2, 3))
    for connection in (stuck, idle, writing):
        hub.register(connection)
    stuck.sending_since = time.monotonic() - SEND_TIMEOUT_SECONDS - 1
    writing.sending_since = time.monotonic()
    hub.drop_stuck_readers()
    assert stuck.closed.is_set() and stuck.close_code == NORMAL_CLOSE
    assert not idle.closed.is_set() and not writing.closed.is_set()


async def test_a_send_that_must_wait_is_finished_by_the_task_before_later_pushes() -> None:
    """The hub writes a board push itself when the socket's task is idle; a send that has
    to wait (a paused transport) goes back to the task, and every later push waits behind
    it: the socket's order holds. An unpaused send is written with no task woken."""
    import asyncio

    from server.realtime.hub import EventContext, start_send

    writable = asyncio.Event()
    written: list[str] = []
    handled: list[Any] = []

    async def send(text: str) -> None:
        await writable.wait()  # as uvicorn's send: waits only while the transport is paused
        written.append(text)

    async def handle(item: Any) -> None:
        handled.append(item)
        if hasattr(item, "__await__"):
            await item  # the send started by the hub
        else:
            written.append(f"task:{item.seq}")

    connection = Connection(1, handle)

    def direct(event: EventContext) -> bool:
        pending = start_send(send(f"hub:{event.seq}"))
        if pending is not None:
            connection.resume_later(pending)
        return True

    connection.direct = direct
    env = template_engine().engine
    events = [EventContext({"ticket_id": 1}, env, seq) for seq in range(1, 5)]
    runner = asyncio.create_task(connection.run())
    try:
        async with asyncio.timeout(10):
            await _until(lambda: connection._waiter is not None)  # the task idle
            writable.set()
            connection.deliver(events[0], [])
            assert written == ["hub:1"] and handled == []  # written at once, task not woken
            writable.clear()
            connection.deliver(events[1], [])  # must wait: back to the task
            assert connection.sending_since is not None  # watched by the stuck-reader sweep
            connection.deliver(events[2], [])  # behind it, never before
            writable.set()
            await _until(lambda: len(written) == 3)
            await _until(lambda: connection._waiter is not None and not connection._inbox)
            connection.deliver(events[3], [])  # idle again: direct again
    finally:
        runner.cancel()
    assert written == ["hub:1", "hub:2", "task:3", "hub:4"]
    assert len(handled) == 2


async def _until(condition: Any) -> None:
    import asyncio

    for _ in range(10_000):  # bounded by the caller's timeout
        if condition():
            return
        await asyncio.sleep(0.01)


async def test_board_pushes_are_written_without_waking_the_sockets_tasks(
    client: AsyncTestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The common board push (no read needed) is written from the hub's loop: the sockets'
    own tasks are not woken for it, and every socket still gets it, in its language."""
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, title="Imprimante bloquée")
    tech = await session_of(client, "tech@desk.test")
    sockets = [await connect(client, tech, "view=board") for _ in range(SOCKETS_PER_VIEW)]
    woken: list[Any] = []
    original = Connection.offer

    def counting(self: Connection, item: Any) -> None:
        woken.append(item)  # queued for the socket's task, which is woken for it
        original(self, item)

    with contextlib.ExitStack() as open_sockets:
        for ws in sockets:
            open_sockets.enter_context(ws)
        for ws in sockets:
            assert f'id="card-{ticket_id}"' in receive(ws, 20)
        monkeypatch.setattr(Connection, "offer", counting)
        assert (await move(client, tech, ticket_id, "assigned", 1)).status_code == 200
        pushes = [receive(ws) for ws in sockets]
        monkeypatch.undo()
    assert len(set(pushes)) == 1
    assert f'hx-swap-oob="beforeend:#cards-assigned"><article id="card-{ticket_id}"' in pushes[0]
    assert "maintenant dans" in pushes[0]
    assert woken == []  # was one wake-up per socket
