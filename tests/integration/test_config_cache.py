"""The service configuration is read once per change of it, and never served stale."""

from __future__ import annotations

import pytest

from server.db import queries
from server.db.engine import db_session, recording, write_transaction
from server.db.sla import load_config
from server.db.sla_tables import SlaPolicy
from server.db.tables import Category, Establishment
from server.domain.vocabulary import Role
from server.services import organisation
from tests import factories


def _reads_of(statements: list[str], table: str) -> int:
    return sum(f'FROM "{table}"' in sql for sql in statements)


async def test_configuration_is_reused_until_it_changes() -> None:
    await load_config()
    async with db_session():
        with recording() as statements:
            first = await load_config()
    assert _reads_of(statements, "sla_policy") == 0
    assert first.policies == []
    # Any writer (here the table itself, as the command line or an admin page would).
    await SlaPolicy.insert(SlaPolicy(name="P1", priority="high", take_minutes=30))
    with recording() as statements:
        second = await load_config()
    assert _reads_of(statements, "sla_policy") == 1
    assert [p["name"] for p in second.policies] == ["P1"]
    row = await Category.insert(Category(name="Réseau", default_priority="high")).returning(
        Category.id
    )
    third = await load_config()
    assert row[0]["id"] in third.category_parents


async def test_a_change_rolled_back_is_not_kept() -> None:
    await load_config()

    class Abort(Exception):
        pass

    seen: list[str] = []

    async def draft_then_abort() -> None:
        async with write_transaction():
            await SlaPolicy.insert(SlaPolicy(name="Brouillon", priority="low", take_minutes=5))
            seen.extend(p["name"] for p in (await load_config()).policies)
            raise Abort()

    with pytest.raises(Abort):
        await draft_then_abort()
    assert seen == ["Brouillon"]
    after = await load_config()
    assert after.policies == []


async def test_a_category_checked_by_every_new_ticket_is_read_once_and_never_stale() -> None:
    row = await Category.insert(Category(name="Réseau", default_priority="high")).returning(
        Category.id
    )
    category_id = row[0]["id"]
    assert (await queries.category(category_id))["name"] == "Réseau"
    async with db_session():
        with recording() as statements:
            assert (await queries.category(category_id))["name"] == "Réseau"
    assert _reads_of(statements, "category") == 0
    # Renamed, then retired: each seen at once.
    await Category.update({Category.name: "Réseaux"}).where(Category.id == category_id)
    assert (await queries.category(category_id))["name"] == "Réseaux"
    await Category.update({Category.active: False}).where(Category.id == category_id)
    assert await queries.category(category_id) is None
    assert await queries.category(category_id + 1000) is None


async def test_the_establishments_of_the_filters_are_read_once_and_never_stale() -> None:
    from server.db.tables import Establishment

    row = await Establishment.insert(Establishment(name="CH Nord", code="CHN")).returning(
        Establishment.id
    )
    await queries.establishments()
    async with db_session():
        with recording() as statements:
            first = await queries.establishments()
    assert _reads_of(statements, "establishment") == 0
    assert [e["code"] for e in first] == ["CHN"]
    first[0]["name"] = "changed by a caller"  # a caller's copy: the cache keeps its own
    assert [e["name"] for e in await queries.establishments()] == ["CH Nord"]
    await Establishment.update({Establishment.name: "CH du Nord"}).where(
        Establishment.id == row[0]["id"]
    )
    with recording() as statements:
        second = await queries.establishments()
    assert _reads_of(statements, "establishment") == 1
    assert [e["name"] for e in second] == ["CH du Nord"]
    assert [e["name"] for e in await queries.establishments()] == ["CH du Nord"]


async def test_the_stamp_read_with_the_caller_serves_their_request_and_never_the_next() -> None:
    """A request's session read (or API token read) brings the configuration's stamp: its
    configuration reads need no statement of their own, and a change made between two
    requests is seen by the second."""
    from server.db.tables import Establishment
    from server.services import accounts

    row = await Establishment.insert(Establishment(name="CH Nord", code="CHN")).returning(
        Establishment.id
    )
    user = await factories.user("tech@desk.test", Role.TECHNICIAN, row[0]["id"])
    session = await accounts.open_session(user.id)
    token = await accounts.issue_api_token(user.id)
    for caller in (accounts.session_account, accounts.token_account):
        raw = session if caller is accounts.session_account else token
        await queries.establishments()
        async with db_session():
            with recording() as statements:
                assert await caller(raw) is not None
                names = [e["name"] for e in await queries.establishments()]
        assert "SELECT value FROM config_generation WHERE id = 1" not in statements
        assert _reads_of(statements, "establishment") == 0
        assert names == ["CH Nord"]
        await Establishment.update({Establishment.name: "CH du Nord"}).where(
            Establishment.id == row[0]["id"]
        )
        async with db_session():
            with recording() as statements:
                await caller(raw)
                names = [e["name"] for e in await queries.establishments()]
        assert _reads_of(statements, "establishment") == 1
        assert names == ["CH du Nord"]
        await Establishment.update({Establishment.name: "CH Nord"}).where(
            Establishment.id == row[0]["id"]
        )


async def test_announcements_are_read_once_per_change_and_shown_by_the_clock() -> None:
    """Every page asks which banners to show: the announcements are read once per change of
    them (any writer), and the clock alone decides which are shown until the next change."""
    from datetime import UTC, datetime, timedelta

    from server.db.sla import banners_for
    from server.db.sla_tables import Announcement

    now = datetime.now(UTC)
    hour = timedelta(hours=1)
    await Announcement.insert(
        Announcement(title="Coupure", display_from=now - hour, starts_at=now, ends_at=now + hour),
        Announcement(
            title="Migration", display_from=now + hour, starts_at=now + 2 * hour,
            ends_at=now + 3 * hour,
        ),
    )
    await banners_for(None, True, now)

    async def shown(at: datetime) -> tuple[list[str], int]:
        async with db_session():
            with recording() as statements:
                titles = [b["title"] for b in await banners_for(None, True, at)]
        return titles, _reads_of(statements, "announcement")

    assert await shown(now) == (["Coupure"], 0)
    assert await shown(now + 1.5 * hour) == (["Migration"], 0)  # the first over, the next due
    assert await shown(now + 4 * hour) == ([], 0)
    first = await banners_for(None, True, now)
    first[0]["title"] = "changed by a caller"  # a caller's copy: the cache keeps its own
    assert await shown(now) == (["Coupure"], 0)
    await Announcement.update({Announcement.title: "Coupure réseau"}).where(
        Announcement.title == "Coupure"
    )
    assert await shown(now) == (["Coupure réseau"], 1)


async def test_the_establishment_tree_comes_from_the_configuration_cache() -> None:
    """The pickers of the reports, the overview and the admin pages: no read of the table
    while the configuration stays the same, a new establishment shown at once."""
    await Establishment.insert(Establishment(name="Siège", code="SIE"))
    await organisation.establishments_as_tree()
    async with db_session():
        with recording() as statements:
            before = await organisation.establishments_as_tree()
    assert _reads_of(statements, "establishment") == 0
    parent = next(row["id"] for row in before if row["code"] == "SIE")
    await Establishment.insert(Establishment(name="Annexe", code="ANX", parent=parent))
    after = await organisation.establishments_as_tree()
    assert [(row["code"], row["depth"]) for row in after if row["code"] in {"SIE", "ANX"}] == [
        ("SIE", 0),
        ("ANX", 1),
    ]
