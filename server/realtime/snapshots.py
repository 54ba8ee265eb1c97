"""Board snapshots shared by viewers who would see the same thing.

After a restart every browser reconnects at once: each board socket needs the columns and
their counts. Viewers with the same effective view (access scope, filters, role, language,
time zone) get the same HTML, so one read and one render serve all of them: the first one
starts it, the others wait for it, and it stays reusable for a moment.

A shared snapshot is only offered to a viewer if no ticket event arrived since it started
reading (same hub sequence number): the viewer, subscribed before asking, then receives
every event the snapshot may have missed, exactly as with a snapshot of its own.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from server.domain.actors import Actor
from server.domain.board import BoardFilters
from server.domain.permissions import visibility

# How long a finished snapshot is offered to newcomers: its cards' ages and SLA clocks are
# current to the minute anyway (see views.card_cache).
REUSE_SECONDS = 2.0


_shares: weakref.WeakKeyDictionary[Any, SnapshotShare] = weakref.WeakKeyDictionary()


@dataclass(frozen=True, slots=True)
class Snapshot:
    html: str
    counts: tuple[int, ...]  # per column, in COLUMNS order (shared: viewers never change it)
    started: int  # hub sequence number before the read
    finished: int  # hub sequence number after it
    lane_keys: frozenset[Any] = frozenset()  # swimlanes shown (empty: no lanes)


@dataclass(slots=True)
class _Entry:
    task: asyncio.Task[Snapshot]
    done_at: float | None = None


def view_key(actor: Actor, filters: BoardFilters, locale: str, zone: str) -> tuple[Any, ...]:
    """Everything a board snapshot depends on besides the data."""
    return (
        visibility(actor),
        actor.role,
        # "Assigned to me" names the person; every other filter is in ``filters``.
        actor.id if filters.assignee == "me" else None,
        filters,
        locale,
        zone,
    )


def share_of(hub: Any) -> SnapshotShare:
    """The hub's snapshot share (one per running application)."""
    share = _shares.get(hub)
    if share is None:
        share = _shares[hub] = SnapshotShare()
    return share


class SnapshotShare:
    """Per hub: snapshots in the making or just made, by (view, hub sequence number)."""

    def __init__(self) -> None:
        self._entries: dict[tuple[Any, ...], _Entry] = {}
        self.reads = 0  # snapshots actually read and rendered (for tests and benches)

    async def get(
        self, view: tuple[Any, ...], seq: int, make: Callable[[], Awaitable[Snapshot]]
    ) -> Snapshot:
        self._forget_stale()
        key = (view, seq)
        entry = self._entries.get(key)
        if entry is None:
            self.reads += 1
            # Its own task: a viewer who leaves must not cancel the others' snapshot.
            entry = _Entry(asyncio.ensure_future(make()))
            self._entries[key] = entry
            entry.task.add_done_callback(lambda task, key=key: self._finished(key, task))
        return await asyncio.shield(entry.task)

    def _finished(self, key: tuple[Any, ...], task: asyncio.Task[Snapshot]) -> None:
        entry = self._entries.get(key)
        if entry is None or entry.task is not task:
            return
        if task.cancelled() or task.exception() is not None:
            del self._entries[key]  # the next viewer tries again
        else:
            entry.done_at = time.monotonic()

    def _forget_stale(self) -> None:
        limit = time.monotonic() - REUSE_SECONDS
        for key in [k for k, e in self._entries.items() if e.done_at and e.done_at < limit]:
            del self._entries[key]
