"""One subscription to the bus per process, fanned out to every open websocket.

Each connection has its own inbox and task, so a slow browser never delays the others. For
board viewers the expensive parts (loading the card, rendering it) are done once per event
and per (role, language) in a shared ``EventContext``; the per-viewer part is a pure check
(``domain.board.on_board``) and a few bytes of counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment

from server import i18n
from server.db import board as board_db
from server.domain.actors import Actor
from server.domain.board import CardFacts
from server.domain.vocabulary import Role
from server.realtime import render
from server.realtime.bus import RESYNC, MemoryBus

log = logging.getLogger("guichet.realtime")
INBOX_SIZE = 500
SESSION_CHECK_SECONDS = 30
# Stand-ins used only to count follow-ups as staff or as requesters see them.
_STAFF = Actor(id=-1, role=Role.TECHNICIAN, establishment_id=None)
_REQUESTER = Actor(id=-1, role=Role.REQUESTER, establishment_id=None)


class EventContext:
    """What every viewer of one ticket event shares: facts, the card row, rendered cards."""

    def __init__(self, message: dict[str, Any], env: Environment, seq: int = 0) -> None:
        self.message = message
        self.seq = seq
        self.ticket_id = int(message["ticket_id"])
        self.before = CardFacts.from_message(message["before"]) if message.get("before") else None
        self.after = CardFacts.from_message(message["after"]) if message.get("after") else None
        self.now = datetime.now(UTC)
        self._env = env
        self._row: asyncio.Task[dict[str, Any] | None] | None = None
        self._cards: dict[tuple[Role, str, bool, str], asyncio.Future[str | None]] = {}
        self._announcements: dict[tuple[str, str], str] = {}

    async def row(self, private_notes: bool) -> dict[str, Any] | None:
        if self._row is None:
            self._row = asyncio.ensure_future(self._load())
        row = await self._row
        if row is None:
            return None
        # Follow-up counts differ for requesters (public only) and staff.
        return {**row, "follow_ups": row["counts"][private_notes]}

    async def _load(self) -> dict[str, Any] | None:
        row = await board_db.card(self.ticket_id)
        if row is None:
            return None
        staff = {**row}
        await board_db.add_follow_up_counts(_STAFF, [staff])
        public = {**row}
        await board_db.add_follow_up_counts(_REQUESTER, [public])
        row["counts"] = {True: staff["follow_ups"], False: public["follow_ups"]}
        row["attachments"] = staff["attachments"]
        return row

    async def placed_card(self, role: Role, locale: str) -> str | None:
        # The viewer's time zone too: the card's date tooltip is written in it (the render
        # task inherits this viewer's context).
        key = (role, locale, role.is_staff, i18n.get_timezone().key)
        if key not in self._cards:
            # Store the pending render before awaiting: every viewer of this kind then waits
            # for the same one instead of rendering the card again.
            self._cards[key] = asyncio.ensure_future(self._render_card(role, locale))
        return await self._cards[key]

    async def _render_card(self, role: Role, locale: str) -> str | None:
        row = await self.row(private_notes=role.is_staff)
        if row is None or self.after is None:
            return None
        # The status comes from the event, the display data may be newer: both are true.
        html = render.card_html(self._env, row, role, locale)
        return render.card_placement(html, self.after.status.value)

    def announcement(self, locale: str, message: str, **values: Any) -> str:
        """The same words for every viewer of one language."""
        key = (locale, message)
        if key not in self._announcements:
            self._announcements[key] = render.announcement(locale, message, **values)
        return self._announcements[key]


class Connection:
    """One open websocket: who is watching what, and its outbox."""

    def __init__(
        self, user_id: int, handle: Callable[[Any], Awaitable[None]], session: str = ""
    ) -> None:
        self.user_id = user_id
        self.session = session  # digest of the session token, for re-validation
        self.inbox: asyncio.Queue[Any] = asyncio.Queue(INBOX_SIZE)
        self._handle = handle
        self.closed = asyncio.Event()

    def offer(self, item: Any) -> None:
        try:
            self.inbox.put_nowait(item)
        except asyncio.QueueFull:
            while not self.inbox.empty():
                self.inbox.get_nowait()
            self.inbox.put_nowait(RESYNC)

    async def run(self) -> None:
        while True:
            item = await self.inbox.get()
            try:
                await self._handle(item)
            except Exception:
                log.exception("live update failed for user %s", self.user_id)


class Hub:
    def __init__(self, bus: MemoryBus, env: Environment) -> None:
        self.bus = bus
        self.env = env
        self.connections: set[Connection] = set()
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        # Ticket events are numbered as they arrive, so a snapshot knows which it includes.
        self.seq = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())
        self._sessions = asyncio.create_task(self._revalidate_sessions())
        await self._ready.wait()

    async def stop(self) -> None:
        for task in (self._task, getattr(self, "_sessions", None)):
            if task:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _revalidate_sessions(self) -> None:
        """Sockets must not outlive their session (logout, expiry, deactivation). One batched
        check for every socket of the process, rather than a query per socket."""
        while True:
            await asyncio.sleep(SESSION_CHECK_SECONDS)
            try:
                await self.revalidate()
            except Exception:
                log.warning("could not re-check websocket sessions", exc_info=True)

    async def revalidate(self) -> None:
        from server.services.accounts import live_session_digests

        digests = {c.session for c in self.connections}
        valid = await live_session_digests(digests) if digests else set()
        for connection in list(self.connections):
            if connection.session not in valid:
                connection.closed.set()

    def register(self, connection: Connection) -> None:
        self.connections.add(connection)

    def unregister(self, connection: Connection) -> None:
        self.connections.discard(connection)

    async def _run(self) -> None:
        async with self.bus.subscribe() as subscription:
            self._ready.set()
            async for message in subscription:
                self.dispatch(message)

    def dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("kind", "")
        if kind == RESYNC["kind"]:
            item: Any = RESYNC
        elif kind == "user.deactivated":
            for connection in list(self.connections):
                if connection.user_id == message.get("user_id"):
                    connection.closed.set()
            return
        elif kind == "user.bell":
            # Per-user push: only those users' sockets hear of it.
            users = set(message.get("user_ids") or ())
            for connection in list(self.connections):
                if connection.user_id in users:
                    connection.offer(message)
            return
        elif kind.startswith("ticket.") and message.get("ticket_id") is not None:
            self.seq += 1
            item = EventContext(message, self.env, self.seq)
        else:
            item = message
        for connection in list(self.connections):
            connection.offer(item)
