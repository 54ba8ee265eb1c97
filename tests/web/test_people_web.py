"""Following, named shares, escalation and the desk's reach, through the web pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar.testing import AsyncTestClient

from server.app import create_app
from server.db.tables import HistoryEntry, Ticket
from server.domain.forms import NewFollowUp
from server.domain.vocabulary import Role
from server.services import following, tickets
from tests import factories
from tests.web.test_tickets_web import HTMX, post


@asynccontextmanager
async def signed_in(email: str) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(), base_url="http://testserver.local") as c:
        await factories.login(c, email)
        yield c


async def test_following_a_ticket_lists_it_under_following(client: AsyncTestClient) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.colleague_a, title="Badge perdu au bloc")
    await factories.login(client, "alice@chu-a.test")
    assert "Badge perdu au bloc" not in (await client.get("/tickets?scope=following")).text

    response = await post(client, f"/tickets/{ticket_id}/watch", {"watch": "1"}, **HTMX)
    assert response.status_code == 200
    assert "Ne plus suivre" in response.text
    assert "Badge perdu au bloc" in (await client.get("/tickets?scope=following")).text

    await post(client, f"/tickets/{ticket_id}/watch", {"watch": "0"})
    assert "Badge perdu au bloc" not in (await client.get("/tickets?scope=following")).text


async def test_following_never_opens_a_ticket_one_may_not_see(client: AsyncTestClient) -> None:
    w = await factories.world()
    hidden = await factories.ticket(w.requester_b)
    await factories.login(client, "alice@chu-a.test")
    response = await post(client, f"/tickets/{hidden}/watch", {"watch": "1"})
    assert response.status_code == 404


async def test_a_named_share_opens_a_private_ticket_to_that_colleague_only(
    client: AsyncTestClient,
) -> None:
    w = await factories.world()
    third = await factories.user("tiers@chu-a.test", Role.REQUESTER, w.est_a, "Tina Tiers")
    ticket_id = await factories.ticket(w.requester_a, title="Ordonnance bloquée", shared="0")
    async with signed_in("colette@chu-a.test") as colette:
        assert (await colette.get(f"/tickets/{ticket_id}")).status_code == 404

        await factories.login(client, "alice@chu-a.test")
        shared = await post(
            client, f"/tickets/{ticket_id}/shares", {"email": "colette@chu-a.test"}, **HTMX
        )
        assert shared.status_code == 200
        assert "Colette Roy" in shared.text
        assert (await colette.get(f"/tickets/{ticket_id}")).status_code == 200
        reply = await post(colette, f"/tickets/{ticket_id}/follow-ups", {"text": "Vu, merci"})
        assert reply.status_code == 303
    async with signed_in("tiers@chu-a.test") as tina:
        assert (await tina.get(f"/tickets/{ticket_id}")).status_code == 404
    assert third.id

    removed = await post(client, f"/tickets/{ticket_id}/shares/{w.colleague_a.id}/remove", {})
    assert removed.status_code == 303
    async with signed_in("colette@chu-a.test") as colette:
        assert (await colette.get(f"/tickets/{ticket_id}")).status_code == 404


async def test_shares_only_reach_colleagues_of_the_same_establishment(
    client: AsyncTestClient,
) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, shared="0")
    await factories.login(client, "alice@chu-a.test")
    for email in (
        "bruno@clinique-b.test",
        "tech@desk.test",
        "nobody@chu-a.test",
        "alice@chu-a.test",
    ):
        response = await post(client, f"/tickets/{ticket_id}/shares", {"email": email}, **HTMX)
        assert response.status_code == 422, email
        assert "Choisissez un collègue actif" in response.text
    # A colleague who may only see the ticket cannot share it further.
    async with signed_in("colette@chu-a.test") as colette:
        public = await factories.ticket(w.requester_a)
        response = await post(colette, f"/tickets/{public}/shares", {"email": "x@chu-a.test"})
        assert response.status_code == 403


async def test_escalation_needs_a_reason_reaches_the_next_tier_and_stays_internal(
    client: AsyncTestClient,
) -> None:
    w = await factories.world()
    network_tech = await factories.user("reseau@desk.test", Role.TECHNICIAN, None, "Rémi Réseau")
    # The network team serves only the other establishment: it sees the ticket through the
    # escalation, not through its establishments.
    network = await factories.group("Réseau (N3)", 3, (network_tech.id,), serves=(w.est_b,))
    ticket_id = await factories.ticket(w.requester_a, title="VPN du laboratoire coupé")
    [event] = await tickets.take(w.tech, ticket_id, 1)

    async with signed_in("reseau@desk.test") as reseau:
        assert (await reseau.get(f"/tickets/{ticket_id}")).status_code == 404

        await factories.login(client, "tech@desk.test")
        refused = await post(
            client,
            f"/tickets/{ticket_id}/escalate",
            {"version": str(event.version), "group_id": str(network), "reason": " "},
            **HTMX,
        )
        assert refused.status_code == 422
        assert "Dites pourquoi" in refused.text
        done = await post(
            client,
            f"/tickets/{ticket_id}/escalate",
            {
                "version": str(event.version),
                "group_id": str(network),
                "reason": "Pare-feu du site à vérifier",
            },
            **HTMX,
        )
        assert done.status_code == 200, done.text
        row = await Ticket.select().where(Ticket.id == ticket_id).first()
        assert (row["assigned_group"], row["assignee"], row["status"]) == (network, None, "new")
        entry = await HistoryEntry.select().where(HistoryEntry.field == "escalation").first()
        assert entry["note"] == "Pare-feu du site à vérifier"

        backlog = await reseau.get("/tickets?scope=backlog")
        assert "VPN du laboratoire coupé" in backlog.text
        page = await reseau.get(f"/tickets/{ticket_id}")
        assert "Pare-feu du site à vérifier" in page.text

    await factories.login(client, "alice@chu-a.test")
    seen_by_requester = await client.get(f"/tickets/{ticket_id}")
    assert seen_by_requester.status_code == 200
    assert "Pare-feu du site à vérifier" not in seen_by_requester.text
    assert "Escaladé" not in seen_by_requester.text


async def test_backlog_lists_unassigned_open_tickets_of_my_groups_most_urgent_first(
    client: AsyncTestClient,
) -> None:
    w = await factories.world()
    low = await factories.ticket(w.requester_a, title="Souris capricieuse", priority="low")
    urgent = await factories.ticket(
        w.requester_a, title="Urgences sans réseau", priority="very_high"
    )
    taken = await factories.ticket(w.requester_a, title="Déjà pris")
    await tickets.assign(w.tech, low, 1, assignee_id=None, group_id=w.group_id)
    await tickets.assign(w.tech, urgent, 1, assignee_id=None, group_id=w.group_id)
    await tickets.assign(w.tech, taken, 1, assignee_id=w.tech.id, group_id=w.group_id)
    await factories.login(client, "tech@desk.test")
    backlog = (await client.get("/tickets?scope=backlog")).text
    assert "Déjà pris" not in backlog
    assert backlog.index("Urgences sans réseau") < backlog.index("Souris capricieuse")
    mine = (await client.get("/tickets?scope=mine")).text
    assert "Déjà pris" in mine and "Souris capricieuse" not in mine


async def test_reach_follows_the_tree_for_technicians_and_supervisors(
    client: AsyncTestClient,
) -> None:
    region = await factories.establishment("Région", "REG")
    hospital = await factories.establishment("Hôpital", "HOP", parent=region)
    ward = await factories.establishment("Annexe", "ANX", parent=hospital)
    elsewhere = await factories.establishment("Ailleurs", "AIL")
    nurse = await factories.user("ide@annexe.test", Role.REQUESTER, ward)
    far = await factories.user("loin@ailleurs.test", Role.REQUESTER, elsewhere)
    tech = await factories.user("n1@desk.test", Role.TECHNICIAN, None)
    await factories.group("Local", 1, (tech.id,), serves=(hospital,))
    boss = await factories.user("chef@desk.test", Role.SUPERVISOR, None)
    await factories.scope(boss.id, elsewhere)
    in_ward = await factories.ticket(nurse, title="Pompe à perfusion")
    far_away = await factories.ticket(far, title="Téléphone muet")

    await factories.login(client, "n1@desk.test")
    assert (await client.get(f"/tickets/{in_ward}")).status_code == 200
    assert (await client.get(f"/tickets/{far_away}")).status_code == 404
    # The establishment picker rolls up children.
    listed = (await client.get(f"/tickets?establishment={region}")).text
    assert "Pompe à perfusion" in listed
    async with signed_in("chef@desk.test") as chef:
        assert (await chef.get(f"/tickets/{far_away}")).status_code == 200
        assert (await chef.get(f"/tickets/{in_ward}")).status_code == 404
        listed = (await chef.get("/tickets")).text
        assert "Téléphone muet" in listed and "Pompe à perfusion" not in listed


async def test_followers_and_named_colleagues_are_told_within_the_policy() -> None:
    from server.db.tables import Outbox

    w = await factories.world()
    third = await factories.user("tiers@chu-a.test", Role.REQUESTER, w.est_a, "Tina Tiers")
    ticket_id = await factories.ticket(w.requester_a, title="Téléphone du bloc")
    await following.watch(w.colleague_a, ticket_id, True)
    await following.watch(third, ticket_id, True)
    # Private from now on, shared by name with Colette only: Tina's follow no longer counts.
    [event] = await tickets.set_shared(w.requester_a, ticket_id, 1, False)
    await following.share(w.requester_a, ticket_id, "colette@chu-a.test")
    await tickets.add_follow_up(w.tech, ticket_id, NewFollowUp("Ligne rétablie", False, 0))
    told = {
        r["recipient"]
        for r in await Outbox.select(Outbox.recipient).where(
            (Outbox.ticket == ticket_id) & (Outbox.kind == "follow_up")
        )
    }
    assert w.colleague_a.id in told and w.requester_a.id in told
    assert third.id not in told
    assert event.version == 2


async def test_the_ticket_page_row_says_what_is_each_viewers_and_sums_the_time_spent() -> None:
    """The page's own statement reads whether this viewer follows the ticket, the time spent
    (private notes' minutes included) and the people it is shared with: each viewer sees
    theirs, and a named colleague is admitted by the same read."""
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, title="Scanner du bloc", shared="0")
    await tickets.add_follow_up(
        w.tech, ticket_id, NewFollowUp(text="Diagnostic", private=False, minutes=30)
    )
    await tickets.add_follow_up(
        w.tech, ticket_id, NewFollowUp(text="Appel fournisseur", private=True, minutes=15)
    )
    await following.watch(w.requester_a, ticket_id, True)
    await following.share(w.requester_a, ticket_id, "colette@chu-a.test")
    async with signed_in("alice@chu-a.test") as alice, signed_in("tech@desk.test") as tech:
        own = (await alice.get(f"/tickets/{ticket_id}")).text
        desk = (await tech.get(f"/tickets/{ticket_id}")).text
    assert 'aria-pressed="true"' in own and "Ne plus suivre" in own
    assert 'aria-pressed="false"' in desk and "Ne plus suivre" not in desk
    assert '<dd class="time-spent">45 minutes</dd>' in desk
    assert "Colette Roy" in own and "Colette Roy" in desk
    async with signed_in("colette@chu-a.test") as colette:
        assert (await colette.get(f"/tickets/{ticket_id}")).status_code == 200
    await following.unshare(w.requester_a, ticket_id, w.colleague_a.id)
    async with signed_in("colette@chu-a.test") as colette:
        # Not shared with her by name, and not shared with the establishment: a 404.
        assert (await colette.get(f"/tickets/{ticket_id}")).status_code == 404
