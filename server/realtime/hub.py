"""One subscription to the bus per process, fanned out to every open websocket.

Each connection has its own inbox and task, so a slow browser never delays the others. For
board viewers the expensive parts (loading the card, rendering it) are done once per event
and per (role, language) in a shared ``EventContext``; the per-viewer part is a pure check
(``domain.board.on_board``) and a few bytes of counts. A board push that needs no read is
written by the hub itself when the socket's task is idle (``Connection.deliver``): the ASGI
send of an unpaused transport completes without awaiting, so no task is woken per socket;
a send that must wait is handed to the socket's task, ahead of anything later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment

from server import i18n
from server.db import board as board_db
from server.domain.actors import Actor
from server.domain.board import CardFacts
from server.domain.vocabulary import Role
from server.observability.metrics import FANOUT_SECONDS
from server.realtime import render
from server.realtime.bus import RESYNC, MemoryBus

log = logging.getLogger("guichet.realtime")
INBOX_SIZE = 500
SESSION_CHECK_SECONDS = 30
SEND_TIMEOUT_SECONDS = 20.0  # one push that long in the making: the reader is gone
SEND_CHECK_SECONDS = 5.0
PREPARE_SECONDS = 5.0  # a card read that long: the next messages wait no longer for it
NORMAL_CLOSE = 1000
SERVICE_RESTART = 1012  # the instance is stopping: reconnect (elsewhere) at once
SESSION_ENDED = 4401  # the page's session is over: the page reloads (to the login)
# Messages that end sockets at once, on every instance, and the close code each gets. A
# reconnecting page is checked again from scratch, so a narrower reach applies at once.
ENDINGS = {
    "user.deactivated": SESSION_ENDED,  # the account is off: its pages go dark
    "session.ended": SESSION_ENDED,  # signed out (one session, or all of a user's)
    "reach.changed": SERVICE_RESTART,  # role, groups, scope: reconnect with the new reach
}
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
        self._cards: dict[tuple[Role, str, bool, str, str], str | None] = {}
        self._announcements: dict[tuple[str, str], str] = {}
        # What board viewers of this event share beyond the card (realtime.board_push).
        self.memo: dict[Any, Any] = {}

    @property
    def loaded(self) -> bool:
        """The card's row is read (or its read failed): pushes can be built without waiting."""
        return self._row is not None and self._row.done()

    async def load(self) -> None:
        """Read the card's row, once for every viewer of this event (the hub does it before
        offering the event, so viewers find it ready and render without waiting)."""
        if self._row is None:
            self._row = asyncio.ensure_future(self._load())
        if not self._row.done():
            # Shielded: a viewer leaving (its task cancelled) must not cancel the shared
            # load that every other viewer of this event is waiting for.
            await asyncio.shield(self._row)

    async def row(self, private_notes: bool) -> dict[str, Any] | None:
        await self.load()
        return self._row_for(private_notes)

    def _row_for(self, private_notes: bool) -> dict[str, Any] | None:
        assert self._row is not None
        row = self._row.result()
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

    async def placed_card(self, role: Role, locale: str, target: str = "") -> str | None:
        """The card, moved into the list ``target`` (default: its status column)."""
        await self.load()
        return self.placed_card_now(role, locale, target)

    def placed_card_now(self, role: Role, locale: str, target: str = "") -> str | None:
        """``placed_card`` once the row is loaded: rendered by the first viewer of its kind
        (nothing awaited in between, so never twice), looked up by the others."""
        # The viewer's time zone too: the card's date tooltip is written in it.
        key = (role, locale, role.is_staff, i18n.get_timezone().key, target)
        if key not in self._cards:
            self._cards[key] = self._render_card(role, locale, target)
        return self._cards[key]

    def _render_card(self, role: Role, locale: str, target: str) -> str | None:
        row = self._row_for(private_notes=role.is_staff)
        if row is None or self.after is None:
            return None
        # The status comes from the event, the display data may be newer: both are true.
        html = render.card_html(self._env, row, role, locale)
        target = target or f"cards-{self.after.status.value}"
        return render.card_placement(self._env, html, self.ticket_id, target)

    def announcement(self, locale: str, message: str, **values: Any) -> str:
        """The same words for every viewer of one language."""
        key = (locale, message)
        if key not in self._announcements:
            self._announcements[key] = render.announcement(self._env, locale, message, **values)
        return self._announcements[key]


class SocketGone(Exception):
    """The socket closed under a push: normal life (a tab closed, a network dropped)."""


class PendingSend:
    """A send started from the hub's loop that had to wait (the transport is paused: the
    reader is slow). The socket's task finishes it, before anything offered after it."""

    __slots__ = ("_sending", "_waiting")

    def __init__(self, sending: Coroutine[Any, Any, None], waiting: Any) -> None:
        self._sending = sending  # the send coroutine, suspended after its first step
        self._waiting = waiting  # what that step yielded (the future it waits for)

    def __await__(self) -> Generator[Any, Any, None]:
        return _resume(self._sending, self._waiting)


def _resume(sending: Coroutine[Any, Any, None], waiting: Any) -> Generator[Any, Any, None]:
    """Drive a coroutine on from where its first step stopped (``waiting`` is what that step
    yielded): the awaiting task now waits for it, as if it had started the coroutine."""
    while True:
        try:
            answer = yield waiting
        except BaseException as exc:  # cancellation included: the send sees it
            try:
                waiting = sending.throw(exc)
            except StopIteration:
                return
        else:
            try:
                waiting = sending.send(answer)
            except StopIteration:
                return


def start_send(sending: Coroutine[Any, Any, None]) -> PendingSend | None:
    """Run a send coroutine's first step now. None: it is done (an unpaused transport writes
    at once: uvicorn frames and writes without awaiting anything). Else what is left of it.
    Its exceptions propagate."""
    try:
        waiting = sending.send(None)
    except StopIteration:
        return None
    return PendingSend(sending, waiting)


class Connection:
    """One open websocket: who is watching what, and its outbox."""

    def __init__(
        self, user_id: int, handle: Callable[[Any], Awaitable[None]], session: str = ""
    ) -> None:
        self.user_id = user_id
        self.session = session  # digest of the session token, for re-validation
        # A plain deque and one future to wake the task: an asyncio.Queue per socket costs
        # four deques and an Event (about 2.5 KB more per idle socket).
        self._inbox: deque[tuple[float, Any]] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._handle = handle
        self.closed = asyncio.Event()
        self.close_code = NORMAL_CLOSE
        # Boards only: does this ticket event change anything on this socket's board? (None:
        # every event is offered.) Decided once per board view (realtime.board_push).
        self.concerned: Callable[[EventContext], bool] | None = None
        # When the push being written started (None: not writing). A browser that stopped
        # reading fills the buffers and the send waits: the hub drops such sockets (they
        # reconnect with a snapshot). One sweep for all instead of a timer per send.
        self.sending_since: float | None = None
        # Boards only: push this ticket event from the hub's loop, without waking this
        # socket's task (False: it needs the task, e.g. to read something). Only used when
        # the task is idle and the inbox empty, so pushes keep their order.
        self.direct: Callable[[EventContext], bool] | None = None

    def end(self, code: int) -> None:
        """Close this socket now (its handler closes it with ``code``)."""
        if not self.closed.is_set():
            self.close_code = code
            self.closed.set()

    def offer(self, item: Any) -> None:
        if len(self._inbox) >= INBOX_SIZE:
            # Too far behind: what waits is dropped, a fresh snapshot replaces it.
            self._inbox.clear()
            item = RESYNC
        # Stamped on arrival, so /metrics can tell how long pushes wait.
        self._inbox.append((time.monotonic(), item))
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def deliver(self, event: EventContext, written: list[float]) -> None:
        """A ticket event for this socket: written at once when nothing is ahead of it (the
        moment goes to ``written``, for the metric, observed once every socket has its push)."""
        waiter = self._waiter
        direct = self.direct
        if direct is not None and waiter is not None and not waiter.done() and not self._inbox:
            try:
                if direct(event):
                    written.append(time.monotonic())
                    return
            except Exception:
                # As a push failing in the task: logged, and the socket goes on.
                log.exception("live update failed for user %s", self.user_id)
                return
        self.offer(event)

    def resume_later(self, pending: PendingSend) -> None:
        """A direct send that must wait: this socket's task finishes it, first in line."""
        self.sending_since = time.monotonic()
        self._inbox.appendleft((time.monotonic(), pending))
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _next(self) -> tuple[float, Any]:
        while not self._inbox:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._inbox.popleft()

    async def run(self) -> None:
        """Push until the socket goes away; then return, which ends the connection."""
        while True:
            arrived, item = await self._next()
            try:
                await self._handle(item)
                FANOUT_SECONDS.observe(time.monotonic() - arrived)
            except SocketGone:
                log.debug("socket of user %s closed during a push", self.user_id)
                return
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
        self.stopping = False

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())
        self._sessions = asyncio.create_task(self._revalidate_sessions())
        self._stuck = asyncio.create_task(self._watch_sends())
        await self._ready.wait()

    async def stop(self) -> None:
        for task in (self._task, getattr(self, "_sessions", None), getattr(self, "_stuck", None)):
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
                connection.end(SESSION_ENDED)

    async def _watch_sends(self) -> None:
        while True:
            await asyncio.sleep(SEND_CHECK_SECONDS)
            self.drop_stuck_readers()

    def drop_stuck_readers(self) -> None:
        """End the sockets whose current push has been waiting past SEND_TIMEOUT_SECONDS."""
        limit = time.monotonic() - SEND_TIMEOUT_SECONDS
        for connection in list(self.connections):
            since = connection.sending_since
            if since is not None and since < limit:
                connection.end(NORMAL_CLOSE)

    def close_all(self, code: int = SERVICE_RESTART) -> None:
        """Every socket of this process, at once (the instance is stopping)."""
        self.stopping = True
        for connection in list(self.connections):
            connection.end(code)

    def end_sockets(self, message: dict[str, Any], code: int) -> None:
        """Close the sockets a message names: one session's, some users', or everyone's."""
        session = message.get("session")
        if "user_id" in message:
            users: Any = {message["user_id"]}
        elif "user_ids" in message:
            users = None if message["user_ids"] is None else set(message["user_ids"])
        elif session is None:
            return  # names nobody
        for connection in list(self.connections):
            if session is not None:
                named = connection.session == session
            else:
                named = users is None or connection.user_id in users
            if named:
                connection.end(code)

    def register(self, connection: Connection) -> None:
        self.connections.add(connection)

    def unregister(self, connection: Connection) -> None:
        self.connections.discard(connection)

    async def _run(self) -> None:
        async with self.bus.subscribe() as subscription:
            self._ready.set()
            async for message in subscription:
                self.dispatch(message, await self._prepare(message))

    async def _prepare(self, message: dict[str, Any]) -> EventContext | None:
        """Before a ticket event wakes the board sockets, read its card once: they then all
        find it ready, and each distinct push is built by one of them without waiting."""
        if not (
            message.get("kind", "").startswith("ticket.") and message.get("ticket_id") is not None
        ):
            return None
        # Numbered on arrival, as without this read: a snapshot that starts while the card
        # loads already includes the change and skips the event (realtime.snapshots).
        self.seq += 1
        context = EventContext(message, self.env, self.seq)
        # Only when some board shows the card (most events concern few boards).
        if not any(c.concerned is not None and c.concerned(context) for c in self.connections):
            return context
        try:
            async with asyncio.timeout(PREPARE_SECONDS):
                await context.load()
        except Exception:
            # The sockets load it themselves (the load goes on), or resynchronise.
            log.warning("could not read ticket %s before its push", context.ticket_id)
        return context

    def dispatch(self, message: dict[str, Any], prepared: EventContext | None = None) -> None:
        kind = message.get("kind", "")
        if kind == RESYNC["kind"]:
            # Changes may have been missed: a new number, so no snapshot read before this
            # one is shared with a viewer after it (realtime.snapshots).
            self.seq += 1
            item: Any = RESYNC
        elif kind in ENDINGS:
            self.end_sockets(message, ENDINGS[kind])
            return
        elif kind == "user.bell":
            # Per-user push: only those users' sockets hear of it.
            users = set(message.get("user_ids") or ())
            for connection in list(self.connections):
                if connection.user_id in users:
                    connection.offer(message)
            return
        elif kind.startswith("ticket.") and message.get("ticket_id") is not None:
            if prepared is None:
                self.seq += 1
                prepared = EventContext(message, self.env, self.seq)
            item = prepared
        else:
            item = message
        if isinstance(item, EventContext):
            # A board this event changes nothing on is not woken for it; most boards it
            # changes are written to from here (Connection.deliver).
            arrived = time.monotonic()
            written: list[float] = []
            for connection in list(self.connections):
                if connection.concerned is None or connection.concerned(item):
                    connection.deliver(item, written)
            # After the writes: a histogram update costs more than a socket's own push.
            for moment in written:
                FANOUT_SECONDS.observe(moment - arrived)
            return
        for connection in list(self.connections):
            connection.offer(item)
