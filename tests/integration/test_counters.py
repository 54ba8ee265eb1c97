"""Board and overview counters stay equal to a full count after many random changes.

The reference is independent of the counters: every ticket is read and judged in Python by
the domain's own ``on_board`` (the rule live updates use), for several viewers, filters and
moments (the "recently closed" window moves with time, not with writes).
"""

from __future__ import annotations

import contextlib
import importlib.util
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from server.db import board as board_db
from server.db import counters
from server.db.counter_tables import TicketCounter, TicketTally
from server.db.engine import engine, write_transaction
from server.db.queries import establishment_subtree
from server.db.tables import Ticket, TicketShare
from server.domain.actors import SYSTEM, Actor
from server.domain.board import COLUMNS, BoardFilters, on_board
from server.domain.errors import GuichetError
from server.domain.forms import NewFollowUp
from server.domain.permissions import can_view
from server.domain.vocabulary import Priority, Role, Status, TicketType
from server.services import following, tickets
from tests import factories
from tests.one_connection import one_connection

MIGRATION = Path(__file__).parents[2] / "migrations" / "guichet_2026_11_27t05_16_21_539299.py"


async def _world(rng: random.Random) -> dict[str, Any]:
    est_a = await factories.establishment("CHU Anselme", "CHA")
    est_a1 = await factories.establishment("Site Nord", "CHN", parent=est_a)
    est_b = await factories.establishment("Clinique des Bouleaux", "CLB")
    est_c = await factories.establishment("Centre Cèdres", "CCE")
    establishments = [est_a, est_a1, est_b, est_c]
    requesters = [
        await factories.user(f"req{i}@x.test", Role.REQUESTER, est, f"Req {i}")
        for i, est in enumerate([est_a, est_a, est_a1, est_b, est_b, est_c])
    ]
    tech1 = await factories.user("t1@desk.test", Role.TECHNICIAN, est_a, "Tech Un")
    tech2 = await factories.user("t2@desk.test", Role.TECHNICIAN, est_c, "Tech Deux")
    sup = await factories.user("sup@desk.test", Role.SUPERVISOR, est_b, "Sup")
    admin = await factories.user("admin@desk.test", Role.ADMIN, est_a, "Admin")
    n1 = await factories.group("N1", 1, (tech1.id,), serves=(est_a, est_b))
    n2 = await factories.group("N2", 2, (tech2.id,))
    await factories.scope(sup.id, est_b)
    staff = [await factories.reload(u.id) for u in (tech1, tech2, sup, admin)]
    cats = [
        await factories.category("Réseau", Priority.HIGH, n1),
        await factories.category("Logiciel", Priority.MEDIUM, n2),
        await factories.category("Divers", Priority.LOW, None),
    ]
    return {
        "establishments": establishments,
        "requesters": requesters,
        "staff": staff,
        "groups": [n1, n2],
        "categories": cats,
    }


async def _random_change(rng: random.Random, w: dict[str, Any], ids: list[int]) -> None:
    staff, requesters = w["staff"], w["requesters"]
    op = rng.choice(
        [
            "open",
            "open",
            "take",
            "move",
            "move",
            "status",
            "assign",
            "escalate",
            "fields",
            "shared",
            "share",
            "unshare",
            "reply",
            "close",
        ]
    )
    if op == "open" or not ids:
        who = rng.choice(requesters + staff[:2])  # staff file tickets too (own requests)
        ids.append(
            await factories.ticket(
                who,
                category_id=str(rng.choice(w["categories"])) if rng.random() < 0.8 else "",
                shared="on" if rng.random() < 0.7 else "",
            )
        )
        return
    ticket_id = rng.choice(ids)
    row = await Ticket.select().where(Ticket.id == ticket_id).first()
    version, tech = row["version"], rng.choice(staff)
    if op == "take":
        await tickets.take(tech, ticket_id, version)
    elif op == "move":
        await tickets.move(tech, ticket_id, rng.choice(list(Status)), version, "Fixed it.")
    elif op == "status":
        await tickets.change_status(tech, ticket_id, rng.choice(list(Status)), version, "Done.")
    elif op == "assign":
        await tickets.assign(
            tech,
            ticket_id,
            version,
            assignee_id=rng.choice([None, *(s.id for s in staff[:2])]),
            group_id=rng.choice([None, *w["groups"]]),
        )
    elif op == "escalate":
        group = rng.choice(w["groups"])
        await tickets.escalate(tech, ticket_id, version, group_id=group, reason="Needs N2.")
    elif op == "fields":
        await tickets.update_fields(
            tech,
            ticket_id,
            version,
            priority=rng.choice([None, *Priority]),
            category_id=rng.choice([None, *w["categories"]]),
            ticket_type=rng.choice([None, *TicketType]),
        )
    elif op == "shared":
        owner = await factories.reload(row["requester"])
        await tickets.set_shared(owner, ticket_id, version, not row["shared"])
    elif op in ("share", "unshare"):
        owner = await factories.reload(row["requester"])
        mates = [r for r in requesters if r.establishment_id == row["establishment"]]
        mate = rng.choice(mates) if mates else requesters[0]
        if op == "share":
            await following.share(owner, ticket_id, f"req{requesters.index(mate)}@x.test")
        else:
            await following.unshare(owner, ticket_id, mate.id)
    elif op == "reply":  # a requester's reply reopens a resolved ticket
        owner = await factories.reload(row["requester"])
        await tickets.add_follow_up(
            owner, ticket_id, NewFollowUp(text="Still broken.", private=False, minutes=0)
        )
    elif op == "close":  # what the scheduler does to resolved tickets
        await tickets.change_status(SYSTEM, ticket_id, Status.CLOSED, version)


async def random_world(seed: int, changes: int) -> tuple[dict[str, Any], list[int]]:
    """A world after ``changes`` random changes (refused ones included), and its tickets."""
    rng = random.Random(seed)
    w = await _world(rng)
    ids: list[int] = []
    for _ in range(changes):
        with contextlib.suppress(GuichetError):  # refused changes are part of the mix
            await _random_change(rng, w, ids)
    return w, ids


async def _shares_by_ticket() -> dict[int, set[int]]:
    shares: dict[int, set[int]] = {}
    for s in await TicketShare.select(TicketShare.ticket, TicketShare.user):
        shares.setdefault(s["ticket"], set()).add(s["user"])
    return shares


async def _reference(viewer: Actor, f: BoardFilters, now: datetime) -> dict[Status, int]:
    rows = await Ticket.select()
    shares = await _shares_by_ticket()
    found: Counter[Status] = Counter()
    for row in rows:
        card = tickets.card_facts(row, frozenset(shares.get(row["id"], ())))
        if on_board(viewer, f, card, now):
            found[card.status] += 1
    return {s: found.get(s, 0) for s in COLUMNS}


async def _filters(rng: random.Random, w: dict[str, Any]) -> list[BoardFilters]:
    est_a = w["establishments"][0]
    return [
        BoardFilters(),
        BoardFilters(establishment_ids=await establishment_subtree(est_a)),
        BoardFilters(group_id=w["groups"][0]),
        BoardFilters(assignee="me"),
        BoardFilters(assignee="none"),
        BoardFilters(category_id=rng.choice(w["categories"])),
        BoardFilters(priority=Priority.HIGH, assignee="none"),
    ]


async def _counter_rows() -> tuple[Counter[tuple], Counter[tuple]]:
    board = Counter(
        {
            tuple(v for k, v in r.items() if k not in ("id", "n")): r["n"]
            for r in await TicketCounter.select()
            if r["n"]
        }
    )
    tally = Counter(
        {
            tuple(v for k, v in r.items() if k not in ("id", "n")): r["n"]
            for r in await TicketTally.select()
            if r["n"]
        }
    )
    return board, tally


@one_connection
async def test_counters_equal_full_counts_after_random_changes() -> None:
    rng = random.Random(12)
    w = await _world(rng)
    ids: list[int] = []
    failures = 0
    for _ in range(260):
        try:
            await _random_change(rng, w, ids)
        except GuichetError:
            failures += 1  # refused changes must leave the counters alone too
    assert len(ids) > 20 and failures > 0
    closed = await Ticket.count().where(Ticket.status == Status.CLOSED.value)
    assert closed > 0, "the run must exercise the Closed column"

    viewers = w["staff"] + [await factories.reload(r.id) for r in w["requesters"]]
    now = datetime.now(UTC)
    # Today, then moments where today's closings sit on the window's first, partial day,
    # then just after they left the window.
    moments = [now, now + timedelta(days=6, hours=23), now + timedelta(days=7, hours=1)]
    checked = 0
    for viewer in viewers:
        for f in await _filters(rng, w):
            for moment in moments:
                expected = await _reference(viewer, f, moment)
                assert await board_db.counts(viewer, f, moment) == expected, (viewer, f, moment)
                checked += sum(expected.values())
    assert checked > 0

    # The overview's tally: per establishment and status, as the viewer may see.
    for viewer in w["staff"]:
        tally = await counters.by_establishment(viewer, None)
        rows = await Ticket.select()
        expected: dict[int, dict[str, int]] = {}
        for row in rows:
            card = tickets.card_facts(row, frozenset())
            if can_view(viewer, card.access):
                per = expected.setdefault(row["establishment"], {})
                per[row["status"]] = per.get(row["status"], 0) + 1
        assert tally == expected, viewer

    # Rebuilding from the tickets, in Python or with the migration's SQL, gives the same rows.
    maintained = await _counter_rows()
    async with write_transaction():
        await counters.rebuild()
    assert await _counter_rows() == maintained
    spec = importlib.util.spec_from_file_location("counter_migration", MIGRATION)
    assert spec and spec.loader
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    db = engine()
    backfill = [s for s in migration.up_sql(db.engine_type) if s.lstrip().startswith("INSERT")]
    assert len(backfill) == 2
    async with write_transaction():
        await TicketCounter.delete(force=True)
        await TicketTally.delete(force=True)
        for sql in backfill:
            await db.run_ddl(sql)
    assert await _counter_rows() == maintained


async def test_text_filter_counts_stop_at_the_cap(monkeypatch: Any) -> None:
    w = await _world(random.Random(1))
    for _ in range(4):
        await factories.ticket(w["requesters"][0], title="Scanner en panne")
    await factories.ticket(w["requesters"][0], title="Autre chose")
    admin = w["staff"][3]
    counts = await board_db.counts(admin, BoardFilters(text="scanner"))
    assert counts[Status.NEW] == 4
    monkeypatch.setattr(board_db, "COUNT_CAP", 2)
    counts = await board_db.counts(admin, BoardFilters(text="scanner"))
    assert counts[Status.NEW] == 3  # "more than 2": the board says 2+


async def test_ticket_lists_count_ahead_of_the_page_only(monkeypatch: Any) -> None:
    from server.db import queries

    w = await _world(random.Random(2))
    for _ in range(7):
        await factories.ticket(w["requesters"][0])
    admin = w["staff"][3]
    exact = await queries.list_tickets(admin, queries.TicketFilters(per_page=2))
    assert (exact.total, exact.more, exact.pages) == (7, False, 4)
    monkeypatch.setattr(queries, "COUNT_AHEAD", 3)
    first = await queries.list_tickets(admin, queries.TicketFilters(per_page=2))
    assert (first.total, first.more, len(first.rows)) == (3, True, 2)
    third = await queries.list_tickets(admin, queries.TicketFilters(per_page=2, page=3))
    assert (third.total, third.more) == (7, False)  # 4 before the page, 3 ahead: all of them


async def test_cached_cards_are_the_cards_the_board_would_render() -> None:
    from server import i18n
    from server.views import card_cache
    from server.views.board import columns_for
    from server.web.rendering import make_environment

    w = await _world(random.Random(3))
    for i in range(5):
        await factories.ticket(w["requesters"][i % 3], title=f"Écran {i} <noir>")
    tech = w["staff"][0]

    class Viewer:
        actor = tech
        role = tech.role

    env = make_environment()
    i18n.set_locale("fr")
    template = env.get_template("board/_column.html")
    plain = await columns_for(Viewer(), BoardFilters())
    cached = await columns_for(Viewer(), BoardFilters(), env, "fr")
    assert sum(len(c.cards) for c in cached) == 5
    assert all("html" in card for col in cached for card in col.cards)
    for a, b in zip(plain, cached, strict=True):
        render = {"movable": True, "filter_query": ""}
        assert template.render(col=a, **render) == template.render(col=b, **render)
    assert len(card_cache._cache) >= 5


@one_connection
async def test_requester_list_counts_equal_the_tickets_they_may_see(monkeypatch: Any) -> None:
    """A requester's list counts each access branch apart (``queries.access_branches``):
    their own tickets, their establishment's shared ones, those shared with them by name.
    After random changes, every list's count, exact and capped at several points (so that
    the cap is passed inside one branch or across two), equals what ``can_view`` admits."""
    from server.db import queries
    from server.domain.permissions import visibility

    w, _ids = await random_world(21, 220)
    rows = await Ticket.select()
    shares = await _shares_by_ticket()
    assert shares, "the run must share tickets by name"
    tabs = {
        "open": lambda row: row["status"] in queries.OPEN_STATUSES,
        "closed": lambda row: row["status"] not in queries.OPEN_STATUSES,
        "all": lambda row: True,
    }
    checked = 0
    for requester in w["requesters"]:
        viewer = await factories.reload(requester.id)
        assert queries.access_branches(visibility(viewer)) is not None
        here = await establishment_subtree(viewer.establishment_id)
        narrowed = {
            "": (lambda row: True, {}),
            "establishment": (
                lambda row, here=here: row["establishment"] in here,
                {"establishment_id": viewer.establishment_id},
            ),
            "high": (
                lambda row: row["priority"] == Priority.HIGH.value,
                {"priority": Priority.HIGH},
            ),
        }
        for tab, in_tab in tabs.items():
            for keep, options in narrowed.values():
                expected = sum(
                    1
                    for row in rows
                    if in_tab(row)
                    and keep(row)
                    and can_view(
                        viewer, tickets.card_facts(row, frozenset(shares.get(row["id"], ()))).access
                    )
                )
                f = queries.TicketFilters(tab=tab, **options)
                monkeypatch.setattr(queries, "COUNT_AHEAD", 1000)
                page = await queries.list_tickets(viewer, f)
                assert (page.total, page.more) == (expected, False), (viewer, f)
                for cap in (1, 2, 3, 5, 8):
                    monkeypatch.setattr(queries, "COUNT_AHEAD", cap)
                    page = await queries.list_tickets(viewer, f)
                    assert (page.total, page.more) == (min(expected, cap), expected > cap), (
                        viewer,
                        f,
                        cap,
                    )
                checked += expected
    assert checked > 20
