"""Canned replies: who sees them, in which language, placeholders, and usage counts."""

import pytest

from server.db.canned_tables import CannedReply
from server.db.queries import visible_ticket_page
from server.db.tables import User
from server.domain.canned import CannedDraft
from server.domain.composer import Answer
from server.domain.errors import Forbidden, NotFound
from server.domain.vocabulary import Role
from server.services import canned, tickets
from server.settings import get_settings
from tests import factories


async def reply(
    title: str,
    body: str = "Bonjour {requester},",
    language: str = "fr",
    *,
    owner: int | None = None,
    group: int | None = None,
    reference: str = "",
) -> int:
    row = await CannedReply.insert(
        CannedReply(
            title=title,
            body=body,
            language=language,
            reference=reference,
            owner=owner,
            group=group,
        )
    ).returning(CannedReply.id)
    return row[0]["id"]


async def picker(actor, ticket_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    page = await visible_ticket_page(actor, ticket_id)
    return [row["title"] for row in await canned.for_ticket(actor, page.row)]


async def test_personal_and_group_replies_reach_only_their_people() -> None:
    w = await factories.world()
    other = await factories.user("other@desk.test", Role.TECHNICIAN, None, "Olga Autre")
    other_group = await factories.group("Réseau (N2)", 2, (other.id,), serves=(w.est_a,))
    other = await factories.reload(other.id)
    await reply("Mien", owner=w.tech.id)
    await reply("Du groupe", group=w.group_id)
    await reply("D'un autre", owner=other.id)
    await reply("Autre groupe", group=other_group)
    await reply("Archivée", owner=w.tech.id)
    await CannedReply.update({CannedReply.archived: True}).where(CannedReply.title == "Archivée")
    ticket_id = await factories.ticket(w.requester_a)

    assert sorted(await picker(w.tech, ticket_id)) == ["Du groupe", "Mien"]
    assert sorted(await picker(other, ticket_id)) == ["Autre groupe", "D'un autre"]
    assert await picker(w.requester_a, ticket_id) == []
    foreign = await CannedReply.select(CannedReply.id).where(CannedReply.title == "D'un autre")
    with pytest.raises(NotFound):
        await canned.expansion(w.tech, ticket_id, foreign[0]["id"])


async def test_picker_prefers_the_requesters_language_then_falls_back() -> None:
    w = await factories.world()
    await User.update({User.locale: "ru"}).where(User.id == w.requester_a.id)
    for language, title in (("fr", "Mot de passe"), ("en", "Password"), ("ru", "Пароль")):
        await reply(title, language=language, group=w.group_id, reference="password")
    await reply("Redémarrage", language="fr", group=w.group_id, reference="restart")
    await reply("Restart", language="en", group=w.group_id, reference="restart")
    ticket_id = await factories.ticket(w.requester_a)

    # One entry per reply: Russian where it exists, else the reader's language (French here).
    assert await picker(w.tech, ticket_id) == ["Пароль", "Redémarrage"]

    await User.update({User.locale: ""}).where(User.id == w.requester_a.id)
    assert await picker(w.tech, ticket_id) == ["Mot de passe", "Redémarrage"]


async def test_placeholders_are_filled_and_unknown_ones_stay_visible() -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, title="Écran <b>noir</b>\nau bloc")
    reply_id = await reply(
        "Accusé",
        "Bonjour {requester}, {technician} prend {ticket_number} « {ticket_title} » : "
        "{link} {oops}",
        owner=w.tech.id,
    )
    text = await canned.expansion(w.tech, ticket_id, reply_id)
    base_url = get_settings().base_url
    assert text == (
        f"Bonjour Alice Martin, Théo Tech prend #{ticket_id} « Écran <b>noir</b> au bloc » : "
        f"{base_url}/tickets/{ticket_id} {{oops}}"
    )


async def test_sent_answers_count_the_inserted_replies_they_may_use() -> None:
    w = await factories.world()
    mine = await reply("Mien", owner=w.tech.id)
    other = await factories.user("other@desk.test", Role.TECHNICIAN, None, "Olga Autre")
    theirs = await reply("Le sien", owner=other.id)
    ticket_id = await factories.ticket(w.requester_a)
    await tickets.answer(w.tech, ticket_id, Answer(text="Bonjour", canned_ids=(mine, theirs)))
    uses = {r["id"]: r["uses"] for r in await CannedReply.select(CannedReply.id, CannedReply.uses)}
    assert uses == {mine: 1, theirs: 0}


async def test_technicians_manage_their_own_and_their_groups_admins_all() -> None:
    w = await factories.world()
    admin = await factories.user("admin@desk.test", Role.ADMIN, None, "Ada Admin")
    other = await factories.user("other@desk.test", Role.TECHNICIAN, None, "Olga Autre")
    draft = CannedDraft("Merci", "Merci {requester}", "fr", "", None, w.group_id)
    group_reply = await canned.create(w.tech, draft)
    with pytest.raises(Forbidden):
        await canned.create(other, draft)
    with pytest.raises(NotFound):
        await canned.get(other, group_reply)
    assert [r["title"] for r in await canned.manageable(admin)] == ["Merci"]
    await canned.set_archived(w.tech, group_reply, True)
    assert await canned.manageable(w.tech) == []
    assert [r["id"] for r in await canned.manageable(w.tech, archived=True)] == [group_reply]
