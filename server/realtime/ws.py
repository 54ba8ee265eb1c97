"""The websocket endpoint: one socket per open page that shows tickets.

The handshake checks the session (set by IdentityMiddleware) and the Origin header: Litestar's
CSRF protection does not cover websockets, and the browser sends the session cookie to any
site's socket. The socket only pushes; every write goes through HTTP.

On connect, and again after any gap (reconnect, bus resync, overflow), the viewer receives a
full snapshot, so nothing missed stays missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from server import i18n
from server.db import board as board_db
from server.db import queries
from server.db.engine import db_session, write_transaction
from server.db.tables import TicketViewer
from server.domain.board import COLUMNS
from server.domain.errors import GuichetError, NotFound
from server.realtime import board_push, render, snapshots
from server.realtime.bus import RESYNC
from server.realtime.hub import (
    NORMAL_CLOSE,
    SERVICE_RESTART,
    Connection,
    EventContext,
    Hub,
    PendingSend,
    SocketGone,
    start_send,
)
from server.realtime.publish import publish_message
from server.services import accounts
from server.settings import get_settings, session_cookie_name

log = logging.getLogger("guichet.realtime")

POLICY_VIOLATION = 4403
VIEWER_STOP_SECONDS = 1.0  # presence clean-up on leaving: never hold up a stop for it
MAX_INCOMING = 4096
PRESENCE_HEARTBEAT_SECONDS = 20
PRESENCE_TTL = timedelta(seconds=60)


def origin_allowed(socket: WebSocket) -> bool:
    """Same origin as the page (Host header) or as the configured public URL."""
    origin = socket.headers.get("origin")
    if not origin:
        return False
    parsed = urlsplit(origin)
    host = socket.headers.get("host", "")
    if parsed.netloc == host and parsed.scheme in ("http", "https"):
        return True
    base = urlsplit(get_settings().base_url)
    return (parsed.scheme, parsed.netloc) == (base.scheme, base.netloc)


class Viewer:
    """Base of the three kinds of live pages."""

    def __init__(self, socket: WebSocket, hub: Hub, account: accounts.AccountView) -> None:
        self.socket = socket
        self.hub = hub
        self.account = account
        self.actor = account.actor
        self.locale = i18n.get_locale()
        self.env = hub.env
        self.csrf = socket.cookies.get("guichet_csrf", "")
        self.bell_prefix = ""
        self.connection: Connection | None = None  # once accepted and registered

    def render(self, template: str, **context: Any) -> str:
        return render.render(
            self.env, template, self.locale, csrf_token=lambda: self.csrf, **context
        )

    async def send(self, html: str) -> None:
        if html:
            # A refreshed bell rides along with the first push after a (re)connect.
            html, self.bell_prefix = html + self.bell_prefix, ""
            # Stamped for the hub, which drops a socket whose push waits too long
            # (Hub.drop_stuck_readers): cheaper than a timer per send.
            watched = self.connection
            if watched is not None:
                watched.sending_since = time.monotonic()
            try:
                await self.socket.send_text(html)
            except (OSError, RuntimeError, WebSocketDisconnect) as exc:
                # The server refuses sends once the socket is closing (ClientDisconnected
                # is an OSError; a send after the close is a RuntimeError).
                raise SocketGone() from exc
            finally:
                if watched is not None:
                    watched.sending_since = None

    def send_now(self, message: dict[str, Any]) -> None:
        """Write a prebuilt ASGI message from the hub's loop (no task of this socket woken).
        Straight to the ASGI send: an unpaused transport writes it at once. A send that
        must wait (a slow reader) is finished by this socket's task, ahead of anything else
        (``finish``), watched by the stuck-reader sweep meanwhile."""
        connection = self.connection
        assert connection is not None
        if self.bell_prefix:
            text, self.bell_prefix = message["text"] + self.bell_prefix, ""
            message = {"type": "websocket.send", "bytes": None, "text": text}
        try:
            pending = start_send(self.socket.send(message))  # type: ignore[arg-type]
        except (OSError, RuntimeError, WebSocketDisconnect):
            connection.end(NORMAL_CLOSE)  # gone: as SocketGone in the task
            return
        if pending is not None:
            connection.resume_later(pending)

    async def finish(self, pending: PendingSend) -> None:
        try:
            await pending
        except (OSError, RuntimeError, WebSocketDisconnect) as exc:
            raise SocketGone() from exc
        finally:
            if self.connection is not None:
                self.connection.sending_since = None

    async def snapshot(self) -> None:
        raise NotImplementedError

    async def bell_html(self) -> str:
        """The notification bell with the unread count, swapped in wherever the page has it."""
        from server.db.notifications import unread_count

        count = await unread_count(self.actor)
        return self.render("_bell.html", unread=count, oob=True)

    async def bell(self) -> None:
        await self.send(await self.bell_html())

    async def _shared_bell(self, message: dict[str, Any]) -> str:
        """One count and one render per (person, language) for a bell message, however many
        tabs that person has open: the message object is shared by every socket here."""
        cache: dict[tuple[int, str], asyncio.Future[str]] = message.setdefault("_bells", {})
        key = (self.actor.id, self.locale)
        pending = cache.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self.bell_html())
            cache[key] = pending
        return await asyncio.shield(pending)

    async def handle(self, item: Any) -> None:
        if isinstance(item, PendingSend):
            await self.finish(item)
        elif item is RESYNC:
            self.bell_prefix = await self.bell_html()
            await self.snapshot()
        elif isinstance(item, EventContext):
            await self.on_ticket_event(item)
        elif isinstance(item, dict) and item.get("kind") == "user.bell":
            await self.send(await self._shared_bell(item))
        elif isinstance(item, dict) and item.get("kind") == "announcement":
            await self.send_banners()
        elif isinstance(item, dict):
            await self.on_message(item)

    async def send_banners(self) -> None:
        """Announcements go to every open page, each viewer seeing those meant for them."""
        from server.db.sla import banners_for

        banners = await banners_for(
            self.actor.establishment_id, self.actor.is_staff, datetime.now(UTC)
        )
        await self.send(self.render("_banners.html", banners=banners, oob=True))

    async def on_ticket_event(self, event: EventContext) -> None:
        return None

    async def on_message(self, message: dict[str, Any]) -> None:
        return None

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


class BoardViewer(Viewer):
    """Moves cards between columns and keeps column counts exact."""

    async def start(self) -> None:
        from server.views.board import URL_KEYS, parse_filters, parse_layout

        raw = {k: self.socket.query_params.get(k, "") for k in URL_KEYS}
        self.filters = await parse_filters(raw, self.actor.is_staff)
        self.layout = parse_layout(raw)
        self.lane_keys: set[str] = set()
        # Shared with every socket of the view that has the same counts (board_push.counted).
        self.counts: board_push.Counts = ()
        self.snapshot_window = (0, 0)
        self.view = board_push.board_view(
            self.actor,
            self.account.role,
            self.filters,
            self.layout,
            self.locale,
            i18n.get_timezone().key,
        )

    async def snapshot(self) -> None:
        # One read and render for every viewer of the same view meanwhile (a restart
        # reconnects them all at once): see realtime.snapshots.
        shared = await snapshots.share_of(self.hub).get(
            self.view.key, self.hub.seq, self._read_snapshot
        )
        self.counts = shared.counts
        self.lane_keys = set(shared.lane_keys)
        self.snapshot_window = (shared.started, shared.finished)
        await self.send(shared.html)

    async def _read_snapshot(self) -> snapshots.Snapshot:
        from server.views.board import columns_for, lanes_for

        started = self.hub.seq
        # One connection for the whole read (a websocket has no request to lend one).
        async with db_session("ws board snapshot"):
            columns = await columns_for(self.account, self.filters, self.env, self.locale)
            lanes = await lanes_for(self.layout, columns)
        finished = self.hub.seq
        html = self.render(
            "board/_columns.html",
            columns=columns,
            lanes=lanes,
            layout=self.layout,
            filter_query="",
            movable=False,
            oob=True,
        )
        return snapshots.Snapshot(
            html,
            board_push.counts_of({col.status: col.count for col in columns}),
            started,
            finished,
            frozenset(lane.key for lane in lanes),
        )

    def concerned(self, event: EventContext) -> bool:
        """Is the card on this board before or after the change? (Else the event is a no-op
        here, and the hub does not even offer it.)"""
        where = board_push.reach(event, self.view)
        return where.was or where.now_in

    async def on_ticket_event(self, event: EventContext) -> None:
        started, finished = self.snapshot_window
        if event.seq <= started:
            return  # committed before the snapshot was read: already shown
        # Decided once per event for every socket of this view (board_push).
        where = board_push.reach(event, self.view)
        if not where.was and not where.now_in:
            return  # nothing about a ticket this viewer does not see
        if where.lane is not None and where.lane not in self.lane_keys:
            await self.snapshot()  # a lane this board does not show yet
            return
        if event.seq <= finished:
            # Maybe counted by the snapshot, maybe not: count again rather than guess.
            self.counts = board_push.counts_of(await board_db.counts(self.actor, self.filters))
            counts = tuple(zip(COLUMNS, self.counts, strict=True))
        else:
            self.counts, counts = board_push.counted(event, self.view, where, self.counts)
        # The same string for every socket of this view with these counts.
        await self.send(await board_push.push(event, self.view, counts, self.env))

    def push_now(self, event: EventContext) -> bool:
        """``on_ticket_event`` from the hub's loop, for the common case that needs no read
        (the card loaded, the snapshot older than the event, the lane shown): True when
        done. False leaves the event to this socket's task, which takes the long way."""
        started, finished = self.snapshot_window
        if event.seq <= started:
            return True
        if event.seq <= finished or not event.loaded:
            return False
        where = board_push.reach(event, self.view)
        if not where.was and not where.now_in:
            return True
        if where.lane is not None and where.lane not in self.lane_keys:
            return False
        self.counts, message = board_push.step(event, self.view, where, self.counts, self.env)
        self.send_now(message)
        return True


class TicketPageViewer(Viewer):
    """The ticket page: timeline, facts and header follow every change; presence."""

    async def start(self) -> None:
        raw = self.socket.query_params.get("id", "")
        if not raw.isdigit() or len(raw) > 9:
            raise NotFound()
        self.ticket_id = int(raw)
        await queries.visible_ticket(self.actor, self.ticket_id)  # 404 rule: refuse quietly
        self.presence_id = uuid.uuid4().hex
        async with write_transaction():
            # Rows left by a crashed instance stop counting after the TTL; clear them here.
            await TicketViewer.delete().where(
                TicketViewer.seen_at < datetime.now(UTC) - PRESENCE_TTL
            )
            await TicketViewer.insert(
                TicketViewer(ticket=self.ticket_id, user=self.actor.id, connection=self.presence_id)
            )
        await publish_message(self.socket.app, {"kind": "presence", "ticket_id": self.ticket_id})
        self.heartbeat = asyncio.create_task(self._heartbeat())

    async def stop(self) -> None:
        self.heartbeat.cancel()
        with contextlib.suppress(Exception):
            async with write_transaction():
                await TicketViewer.delete().where(TicketViewer.connection == self.presence_id)
            await publish_message(
                self.socket.app, {"kind": "presence", "ticket_id": self.ticket_id}
            )

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(PRESENCE_HEARTBEAT_SECONDS)
            async with write_transaction():
                await TicketViewer.update({TicketViewer.seen_at: datetime.now(UTC)}).where(
                    TicketViewer.connection == self.presence_id
                )

    async def snapshot(self) -> None:
        from server.views.ticket_page import ticket_view

        try:
            context = await ticket_view(self.actor, self.ticket_id)
        except GuichetError:
            # No longer visible: close, and stop pushing to this socket.
            with contextlib.suppress(Exception):
                await self.socket.close(code=POLICY_VIOLATION)
            raise SocketGone() from None
        context.update(oob=True, error="", fields={}, values={})
        await self.send(
            self.render("tickets/_head.html", **context)
            + self.render("tickets/_facts.html", **context)
            + self.render("tickets/_solution.html", **context)
            + self.render("tickets/_timeline.html", **context)
            + self.render("tickets/_links.html", **context)
            + await self._presence()
        )

    async def _presence(self) -> str:
        since = datetime.now(UTC) - PRESENCE_TTL
        rows = await TicketViewer.select(TicketViewer.user.full_name.as_alias("name")).where(
            (TicketViewer.ticket == self.ticket_id)
            & (TicketViewer.user != self.actor.id)
            & (TicketViewer.seen_at > since)
        )
        others = sorted({r["name"] for r in rows})
        return self.render("tickets/_presence.html", ticket_id=self.ticket_id, others=others)

    async def on_ticket_event(self, event: EventContext) -> None:
        if event.ticket_id == self.ticket_id:
            await self.snapshot()

    async def on_message(self, message: dict[str, Any]) -> None:
        if message.get("kind") == "presence" and message.get("ticket_id") == self.ticket_id:
            await self.send(await self._presence())


class ListViewer(Viewer):
    """Ticket lists: re-render the viewer's own list when a ticket they see changes."""

    async def start(self) -> None:
        from server.views.ticket_list import filters_from_query

        self.filters = filters_from_query(_QueryRequest(self.socket, self.account))
        self.pending: asyncio.Task[None] | None = None

    async def snapshot(self) -> None:
        result = await queries.list_tickets(self.actor, self.filters)
        await self.send(
            self.render(
                "tickets/_list.html",
                page=result,
                query_with=lambda **_: "",
                bulk=self.actor.is_staff,
                oob=True,
            )
        )

    async def on_ticket_event(self, event: EventContext) -> None:
        from server.domain.permissions import can_view

        seen = [f for f in (event.before, event.after) if f and can_view(self.actor, f.access)]
        if seen and (self.pending is None or self.pending.done()):
            # Several changes in a burst cost one re-render.
            self.pending = asyncio.create_task(self._later())

    async def _later(self) -> None:
        await asyncio.sleep(0.2)
        await self.snapshot()

    async def stop(self) -> None:
        if self.pending:
            self.pending.cancel()


class _QueryRequest:
    """The attributes of a request that ``filters_from_query`` reads."""

    def __init__(self, socket: WebSocket, account: accounts.AccountView) -> None:
        self.query_params = socket.query_params
        self.user = account


class WallboardViewer(Viewer):
    """The wallboard: its figures again after any change to a ticket the viewer sees in
    the chosen subtree, at most once per PUSH_INTERVAL (a burst of moves costs one push),
    and once a minute for the clock (ages, and "today" turning into tomorrow)."""

    PUSH_INTERVAL = 1.0
    TICK_SECONDS = 60.0

    async def start(self) -> None:
        from server.views.wallboard import chosen_place

        if not self.actor.is_staff:
            raise NotFound()
        raw = self.socket.query_params.get("establishment")
        self.chosen, _ = await chosen_place(self.actor, raw)
        self.within = await queries.establishment_subtree(self.chosen) if self.chosen else None
        self.zone = i18n.get_timezone()
        self.dirty = asyncio.Event()
        self.pusher = asyncio.create_task(self._push_when_dirty())

    async def snapshot(self) -> None:
        from server.views.wallboard import wallboard_context

        context = await wallboard_context(self.actor, self.chosen, self.zone)
        await self.send(self.render("wallboard/_figures.html", oob=True, **context))

    def _concerns(self, facts: Any) -> bool:
        from server.domain.permissions import can_view

        if facts is None or not can_view(self.actor, facts.access):
            return False
        return self.within is None or facts.establishment_id in self.within

    async def on_ticket_event(self, event: EventContext) -> None:
        if self._concerns(event.before) or self._concerns(event.after):
            self.dirty.set()

    async def _push_when_dirty(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.TICK_SECONDS):
                    await self.dirty.wait()
            self.dirty.clear()  # a change from now on asks for another push
            try:
                await self.snapshot()
            except SocketGone:
                return
            except Exception:
                log.exception("wallboard push failed")
            # Counted from the end of a push: the reader never gets two within the interval.
            await asyncio.sleep(self.PUSH_INTERVAL)

    async def stop(self) -> None:
        self.pusher.cancel()


class PageViewer(Viewer):
    """Any other page: announcements and the notification bell."""

    async def snapshot(self) -> None:
        await self.send_banners()  # the bell rides along with the first push


VIEWERS = {
    "board": BoardViewer,
    "ticket": TicketPageViewer,
    "list": ListViewer,
    "wallboard": WallboardViewer,
    "page": PageViewer,
}


async def _receive_until_closed(socket: WebSocket) -> None:
    while True:
        try:
            message = await socket.receive_text()
        except WebSocketDisconnect:
            return
        if len(message) > MAX_INCOMING:
            return  # push-only socket: a large message is not ours


@websocket("/ws")
async def live(socket: WebSocket) -> None:
    account = socket.scope.get("user")
    view = VIEWERS.get(socket.query_params.get("view", ""))
    if account is None or view is None or not origin_allowed(socket):
        await socket.close(code=POLICY_VIOLATION)
        return
    hub: Hub = socket.app.state.hub
    if hub.stopping:
        await socket.close(code=SERVICE_RESTART)
        return
    viewer = view(socket, hub, account)
    try:
        await viewer.start()
    except GuichetError:
        await socket.close(code=POLICY_VIOLATION)
        return
    await socket.accept()
    token = socket.cookies.get(session_cookie_name(), "")
    connection = Connection(account.id, viewer.handle, accounts.session_digest(token))
    if isinstance(viewer, BoardViewer):
        connection.concerned = viewer.concerned
        connection.direct = viewer.push_now
    viewer.connection = connection
    hub.register(connection)  # subscribe first, then snapshot: nothing falls in between
    tasks: list[asyncio.Task[Any]] = []
    try:
        viewer.bell_prefix = await viewer.bell_html()
        await viewer.snapshot()
        tasks = [
            asyncio.create_task(connection.run()),
            asyncio.create_task(_receive_until_closed(socket)),
            asyncio.create_task(connection.closed.wait()),
        ]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    except (WebSocketDisconnect, SocketGone):
        pass
    finally:
        hub.unregister(connection)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            async with asyncio.timeout(VIEWER_STOP_SECONDS):  # a stuck reader never acks
                await socket.close(code=connection.close_code)
        # After the close: the browser reconnects while the presence row goes.
        with contextlib.suppress(Exception):
            async with asyncio.timeout(VIEWER_STOP_SECONDS):
                await viewer.stop()
