"""Board layout kept in the URL: compact density and swimlanes, over HTTP and the websocket;
the requester's name on each card."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from server.db.tables import Ticket
from server.domain.vocabulary import Role
from server.views import card_cache
from tests import factories
from tests.web.test_live import connect, move, receive, receive_until, session_of, use


async def test_density_and_lanes_are_read_from_the_url_and_kept_for_the_socket(
    client: AsyncTestClient,
) -> None:
    w = await factories.world()
    routed = await factories.ticket(w.requester_a, title="Badge refusé", category_id=w.category_id)
    loose = await factories.ticket(w.requester_b, title="Imprimante muette")
    await session_of(client, "sup@desk.test")

    page = (await client.get("/board?density=compact&lanes=group")).text
    assert 'class="board compact"' in page
    assert "view=board&density=compact&amp;lanes=group" in page
    group_lane = f'id="cards-g{w.group_id}-new"'
    assert group_lane in page and 'id="cards-g0-new"' in page
    lane_of_routed = page.split(group_lane, 1)[1].split("</div>", 1)[0]
    assert f'id="card-{routed}"' in lane_of_routed and f'id="card-{loose}"' not in lane_of_routed
    assert "Applications (N2)" in page and 'id="count-new">2<' in page
    assert "Alice Martin" in page and "Bruno Petit" in page  # requesters on their cards

    by_place = (await client.get("/board?lanes=establishment")).text
    assert f'id="cards-e{w.est_a}-new"' in by_place and f'id="cards-e{w.est_b}-new"' in by_place
    plain = (await client.get("/board")).text
    assert 'class="board"' in plain and "cards-g" not in plain and 'id="cards-new"' in plain

    for wrong in ("density=tiny", "lanes=colour"):
        assert (await client.get(f"/board?{wrong}")).status_code == 422


async def test_live_moves_land_in_their_lane(client: AsyncTestClient) -> None:
    w = await factories.world()
    network = await factories.group("Réseau (N2)", 2, serves=(w.est_a,))
    routed = await factories.ticket(w.requester_a, title="Badge refusé", category_id=w.category_id)
    other = await factories.ticket(w.requester_a, title="Écran noir", category_id=w.category_id)
    sup = await session_of(client, "sup@desk.test")
    tech = await session_of(client, "tech@desk.test")
    ws = await connect(client, sup, "view=board&lanes=group&density=compact")
    with ws:
        snapshot = receive(ws)
        assert f'id="cards-g{w.group_id}-new"' in snapshot
        assert "cards-g0-" not in snapshot and "cards-new" not in snapshot

        await move(client, tech, routed, "assigned", 1)
        pushed = receive_until(ws, "beforeend")
        assert f'hx-swap-oob="beforeend:#cards-g{w.group_id}-assigned"' in pushed
        assert 'id="count-assigned" hx-swap-oob="true">1<' in pushed

        # Handed to a group that has no lane on this board yet: the whole board comes again,
        # with the new lane.
        use(client, sup)
        row = await Ticket.select(Ticket.version).where(Ticket.id == routed).first()
        response = await client.post(
            f"/tickets/{routed}/assign",
            data={"version": str(row["version"]), "group_id": str(network), "assignee_id": ""},
            headers={**factories.csrf_header(client), "hx-request": "true"},
        )
        assert response.status_code == 200
        again = receive_until(ws, f'id="cards-g{network}-assigned"')
        assert 'id="board-columns" class="board-columns with-lanes" hx-swap-oob="true"' in again
        assert f'id="cards-g{network}-assigned"' in again

    # The mover's own answer puts the card in its lane (htmx sends the page's address).
    use(client, tech)
    response = await client.post(
        f"/tickets/{other}/move",
        data={"status": "assigned", "version": "1"},
        headers={
            **factories.csrf_header(client),
            "hx-request": "true",
            "hx-current-url": "http://testserver.local/board?lanes=group",
        },
    )
    assert f'beforeend:#cards-g{w.group_id}-assigned"' in response.text


async def test_card_cache_keys_on_the_requester_name() -> None:
    base = {"id": 1, "requester_name": "Alice Martin"}
    renamed = {**base, "requester_name": "Alice Durand"}
    assert card_cache.key(base, Role.TECHNICIAN, "fr", 0) != card_cache.key(
        renamed, Role.TECHNICIAN, "fr", 0
    )
