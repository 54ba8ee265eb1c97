"""Passwords, server-side sessions, API tokens and the login limit."""

import pytest

from server.db.tables import GroupMember, User, UserSession
from server.domain.errors import ValidationFailed
from server.domain.vocabulary import Role
from server.services import accounts
from tests import factories


async def test_password_is_hashed_with_argon2_and_verified() -> None:
    actor = await factories.user("a@x.test")
    stored = await User.select(User.password_hash).where(User.id == actor.id).first()
    assert stored["password_hash"].startswith("$argon2id$")
    assert await accounts.authenticate("A@X.test ", factories.PASSWORD, "1.2.3.4") is not None
    assert await accounts.authenticate("a@x.test", "wrong password!", "1.2.3.4") is None


async def test_duplicate_email_and_weak_password_are_refused() -> None:
    await factories.user("a@x.test")
    with pytest.raises(ValidationFailed) as caught:
        await accounts.create_user(
            email="A@x.test",
            full_name="B",
            password="long enough pw",
            role=Role.REQUESTER,
            establishment_id=None,
        )
    assert "email" in caught.value.errors
    with pytest.raises(ValidationFailed) as caught:
        await accounts.create_user(
            email="b@x.test",
            full_name="B",
            password="short",
            role=Role.REQUESTER,
            establishment_id=None,
        )
    assert "password" in caught.value.errors


async def test_sessions_are_stored_hashed_and_revocable() -> None:
    actor = await factories.user("a@x.test")
    token = await accounts.open_session(actor.id)
    assert (await accounts.session_account(token)).id == actor.id
    stored = await UserSession.select(UserSession.token_hash).first()
    assert token not in stored["token_hash"]
    await accounts.close_session(token)
    assert await accounts.session_account(token) is None


async def test_deactivation_ends_every_session_and_token() -> None:
    actor = await factories.user("a@x.test")
    sessions = [await accounts.open_session(actor.id) for _ in range(2)]
    api_token = await accounts.issue_api_token(actor.id)
    await accounts.set_active(actor.id, False)
    assert await UserSession.count() == 0
    for token in sessions:
        assert await accounts.session_account(token) is None
    assert await accounts.token_account(api_token) is None
    assert await accounts.authenticate("a@x.test", factories.PASSWORD, "1.2.3.4") is None


async def test_api_tokens_can_be_revoked() -> None:
    actor = await factories.user("a@x.test")
    token = await accounts.issue_api_token(actor.id)
    assert (await accounts.token_account(token)).id == actor.id
    assert await accounts.revoke_api_token(token)
    assert await accounts.token_account(token) is None
    assert await accounts.token_account("") is None


async def test_repeated_failures_lock_login_for_that_email() -> None:
    await factories.user("a@x.test")
    for _ in range(5):  # GUICHET_LOGIN_ATTEMPTS_PER_MINUTE=5 in tests: then a delay
        assert await accounts.authenticate("a@x.test", "bad password", "9.9.9.9") is None
    with pytest.raises(accounts.TooManyAttempts):
        await accounts.authenticate("a@x.test", factories.PASSWORD, "9.9.9.9")


async def test_batched_reach_is_the_reach_of_each_person() -> None:
    from tests import factories

    region = await factories.establishment("Région", "REG")
    hospital = await factories.establishment("Hôpital", "HOP", parent=region)
    other = await factories.establishment("Ailleurs", "AIL")
    tech = await factories.user("n1@desk.test", Role.TECHNICIAN, None)
    sup = await factories.user("chef@desk.test", Role.SUPERVISOR, None)
    req = await factories.user("ide@hop.test", Role.REQUESTER, hospital)
    await factories.group("Local", 1, (tech.id, sup.id), serves=(region,))
    await factories.scope(sup.id, other)
    # A group serving nothing yet, and a deactivated member: still exactly their reach.
    idle = await factories.user("parti@desk.test", Role.TECHNICIAN, hospital)
    await factories.group("Nouveau", 2, (idle.id, tech.id))
    await User.update({User.active: False}).where(User.id == idle.id)
    batched = await accounts.actors_of([tech.id, sup.id, req.id, idle.id, tech.id])
    for person in (tech, sup, req, idle):
        assert batched[person.id] == await accounts.actor_of(person.id)
    assert len(batched[tech.id].group_ids) == 2 and not batched[idle.id].active
    assert batched[sup.id].establishment_ids == {region, hospital, other}
    assert batched[req.id].establishment_ids == frozenset()


async def test_a_sessions_and_a_tokens_reach_come_with_their_statement() -> None:
    """The caller's groups and scopes are columns of the session's (or API token's) read:
    the same reach as ``reach`` computes, read afresh on each request (a membership changed
    between two requests shows on the second), with no statement of its own."""
    from server.db.connections import recording
    from server.db.engine import db_session

    region = await factories.establishment("Région", "REG")
    hospital = await factories.establishment("Hôpital", "HOP", parent=region)
    other = await factories.establishment("Ailleurs", "AIL")
    tech = await factories.user("n1@desk.test", Role.TECHNICIAN, None)
    sup = await factories.user("chef@desk.test", Role.SUPERVISOR, None)
    admin = await factories.user("admin@desk.test", Role.ADMIN, None)
    req = await factories.user("ide@hop.test", Role.REQUESTER, hospital)
    local = await factories.group("Local", 1, (tech.id, sup.id, req.id), serves=(region,))
    await factories.group("Nouveau", 2, (tech.id,))  # serves nothing yet
    await factories.scope(sup.id, other)
    await factories.scope(tech.id, other)  # a scope counts for supervisors only

    async def seen(person_id: int) -> tuple[frozenset[int], frozenset[int], int]:
        by_session = await accounts.open_session(person_id)
        by_token = await accounts.issue_api_token(person_id)
        views = []
        for lookup, raw in (
            (accounts.session_account, by_session),
            (accounts.token_account, by_token),
        ):
            async with db_session():
                with recording() as statements:
                    view = await lookup(raw)
            assert view is not None
            views.append(((view.establishment_ids, view.group_ids), len(statements)))
        assert views[0] == views[1]
        (establishments, groups), count = views[0]
        return establishments, groups, count

    async with db_session():  # the establishment tree, read once for the configuration cache
        await accounts.actor_of(tech.id)
    for person in (tech, sup, admin, req):
        establishments, groups, count = await seen(person.id)
        assert (establishments, groups) == await accounts.reach(person.id, person.role)
        assert count == 1
    establishments, groups, _count = await seen(tech.id)
    assert establishments == {region, hospital} and len(groups) == 2
    establishments, groups, _count = await seen(sup.id)
    assert establishments == {region, hospital, other} and groups == {local}
    assert (await seen(req.id))[:2] == (frozenset(), frozenset())
    await GroupMember.delete().where(GroupMember.user == tech.id)
    assert (await seen(tech.id))[:2] == (frozenset(), frozenset())
