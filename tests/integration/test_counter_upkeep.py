"""``guichet counters check|rebuild``: the board counters and overview tallies compared with a
full count of the tickets, and recounted, on both engines; while tickets keep being created.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from server.db.counter_tables import TicketCounter, TicketTally
from server.db.engine import engine
from server.domain.vocabulary import Status
from server.services import counter_upkeep, tickets
from tests import factories
from tests.conftest import DATABASE_URL

WRITERS = 6
TICKETS_EACH = 8


async def _rows() -> dict[str, list[dict[str, Any]]]:
    """Every counter row with a count, without ids (a recount numbers them anew)."""

    def strip(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        kept = [{k: v for k, v in row.items() if k != "id"} for row in rows if row["n"]]
        return sorted(kept, key=repr)

    return {
        "board": strip(await TicketCounter.select()),
        "tally": strip(await TicketTally.select()),
    }


async def _some_tickets() -> factories.World:
    w = await factories.world()
    for who in (w.requester_a, w.requester_b, w.colleague_a):
        await factories.ticket(who, category_id=str(w.category_id))
    moved = await factories.ticket(w.requester_a, shared="on")
    await tickets.take(w.tech, moved, 1)
    closed = await factories.ticket(w.requester_b)
    await tickets.change_status(w.tech, closed, Status.RESOLVED, 1, "Pilote réinstallé.")
    await tickets.change_status(w.tech, closed, Status.CLOSED, 2, "Fait.")
    return w


async def test_check_finds_hand_edits_and_rebuild_puts_the_counts_back() -> None:
    await _some_tickets()
    assert await counter_upkeep.check() == []
    before = await _rows()

    # What no change goes through: rows edited, removed and made up by hand.
    board = await TicketCounter.select().order_by(TicketCounter.id).first()
    await TicketCounter.update({TicketCounter.n: board["n"] + 3}).where(
        TicketCounter.id == board["id"]
    )
    tally = await TicketTally.select().order_by(TicketTally.id, ascending=False).first()
    await TicketTally.delete().where(TicketTally.id == tally["id"])
    await TicketCounter.insert(
        TicketCounter(
            status=Status.NEW.value,
            closed_day=0,
            establishment=board["establishment"],
            assigned_group=0,
            assignee=0,
            category=0,
            priority_rank=1,
            shared=False,
            n=5,
        )
    )

    found = await counter_upkeep.check()
    assert sorted((d.table, d.stored, d.counted) for d in found) == sorted(
        [
            ("ticket_counter", board["n"] + 3, board["n"]),
            ("ticket_counter", 5, 0),
            ("ticket_tally", 0, tally["n"]),
        ]
    )
    assert len(found) == 3
    edited = next(d for d in found if d.stored == board["n"] + 3)
    assert edited.key["status"] == board["status"]
    assert edited.key["establishment"] == board["establishment"]
    removed = next(d for d in found if d.table == "ticket_tally")
    assert removed.key == {
        "status": tally["status"],
        "establishment": tally["establishment"],
        "assigned_group": tally["assigned_group"],
        "assignee": tally["assignee"],
    }

    await counter_upkeep.recount()
    assert await counter_upkeep.check() == []
    assert await _rows() == before


async def _create_many(w: factories.World, start: asyncio.Event) -> int:
    await start.wait()
    made = 0
    for i in range(TICKETS_EACH):
        who = (w.requester_a, w.requester_b, w.colleague_a)[i % 3]
        await factories.ticket(who, category_id=str(w.category_id) if i % 2 else "")
        made += 1
    return made


async def _while_creating(
    w: factories.World, meanwhile: Callable[[Callable[[], bool]], Awaitable[None]]
) -> int:
    """WRITERS tasks creating tickets and ``meanwhile(creating)`` started at the same moment;
    ``creating()`` says whether any writer is still at work. Returns how many were made."""
    start = asyncio.Event()
    writers = [asyncio.create_task(_create_many(w, start)) for _ in range(WRITERS)]
    other = asyncio.create_task(meanwhile(lambda: not all(task.done() for task in writers)))
    start.set()
    made = sum(await asyncio.gather(*writers))
    await other
    return made


async def test_a_check_during_changes_never_reports_a_difference() -> None:
    """Each table is compared in one statement: a ticket committed between reading the
    counts and reading the counters would otherwise show as drift (on PostgreSQL's READ
    COMMITTED, statement by statement)."""
    w = await _some_tickets()
    checks: list[list[counter_upkeep.Drift]] = []

    async def keep_checking(creating: Callable[[], bool]) -> None:
        while creating():
            checks.append(await counter_upkeep.check())
            await asyncio.sleep(0)

    assert await _while_creating(w, keep_checking) == WRITERS * TICKETS_EACH
    assert checks, "the check must have run while tickets were being created"
    assert all(found == [] for found in checks), [f for f in checks if f]
    assert await counter_upkeep.check() == []


async def test_a_recount_during_changes_loses_none_of_them() -> None:
    """Recounts while tickets are being created: every creation succeeds and is counted once
    (a recount made of a count read, then rows written apart from it, loses the changes in
    between). Ticket writers wait for it: on PostgreSQL a SHARE lock on ``ticket`` before it
    compares, so no change is half-way when it writes the differences; on SQLite its one
    writer."""
    w = await _some_tickets()

    async def recount_twice(creating: Callable[[], bool]) -> None:
        for _ in range(2):
            await counter_upkeep.recount()
            await asyncio.sleep(0)

    assert await _while_creating(w, recount_twice) == WRITERS * TICKETS_EACH
    assert await counter_upkeep.check() == []
    total = sum(row["n"] for row in (await _rows())["board"])
    assert total == 5 + WRITERS * TICKETS_EACH


def _cli(action: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", "counters", action],
        env={**os.environ, "GUICHET_DATABASE_URL": DATABASE_URL},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_the_command_says_what_differs_and_exits_1_until_rebuilt() -> None:
    await _some_tickets()
    ok = await asyncio.to_thread(_cli, "check")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.strip() == "Counters match a full count of the tickets."

    await engine().run_ddl("UPDATE ticket_tally SET n = n + 2")
    rows = await TicketTally.count()
    drifted = await asyncio.to_thread(_cli, "check")
    assert drifted.returncode == 1
    lines = drifted.stdout.strip().splitlines()
    assert len(lines) == rows + 1
    assert all(line.startswith("DRIFT ticket_tally status=") for line in lines[:-1])
    assert (
        lines[-1] == f"{rows} counter row(s) differ from a full count (guichet counters rebuild)."
    )

    rebuilt = await asyncio.to_thread(_cli, "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert "Counters rebuilt; they match a full count" in rebuilt.stdout
    assert (await asyncio.to_thread(_cli, "check")).returncode == 0
