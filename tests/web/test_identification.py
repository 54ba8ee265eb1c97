"""Each request reads its caller afresh (session and account one read, groups with what they
serve another): a removed membership or a deactivated account counts from the next request."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from server.db.tables import GroupMember, User
from tests import factories


async def test_reach_and_deactivation_take_effect_on_the_next_request(
    client: AsyncTestClient,
) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    await factories.login(client, "tech@desk.test")
    page = f"/tickets/{ticket_id}"
    assert (await client.get(page)).status_code == 200
    await GroupMember.delete().where(GroupMember.user == w.tech.id)
    assert (await client.get(page)).status_code == 404  # the group was the only way in
    await GroupMember.insert(GroupMember(group=w.group_id, user=w.tech.id))
    assert (await client.get(page)).status_code == 200
    await User.update({User.active: False}).where(User.id == w.tech.id)
    response = await client.get(page, follow_redirects=False)
    assert response.status_code in (303, 401), response.status_code
    await User.update({User.active: True}).where(User.id == w.tech.id)
    assert (await client.get(page)).status_code == 200  # the session itself was kept


async def test_an_api_token_follows_its_accounts_state(client: AsyncTestClient) -> None:
    from server.services import accounts

    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    raw = await accounts.issue_api_token(w.tech.id)
    headers = {"authorization": f"Bearer {raw}"}
    path = f"/api/v1/tickets/{ticket_id}"
    assert (await client.get(path, headers=headers)).status_code == 200
    await GroupMember.delete().where(GroupMember.user == w.tech.id)
    assert (await client.get(path, headers=headers)).status_code == 404
    await User.update({User.active: False}).where(User.id == w.tech.id)
    assert (await client.get(path, headers=headers)).status_code == 401
    await User.update({User.active: True}).where(User.id == w.tech.id)
    await accounts.revoke_api_token(raw)
    assert (await client.get(path, headers=headers)).status_code == 401
