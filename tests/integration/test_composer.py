"""The composer's one submit: a reply or note and a status change in one transaction."""

import pytest

from server.db.tables import FollowUp, HistoryEntry, Ticket
from server.domain.composer import Answer, parse_answer
from server.domain.errors import Conflict, Forbidden, InvalidTransition, ValidationFailed
from server.domain.vocabulary import Status
from server.services import tickets
from tests import factories


async def state(ticket_id: int) -> tuple[str, int, int, int]:
    """Status, version, follow-ups and history rows: what a refused answer must not change."""
    row = await Ticket.select(Ticket.status, Ticket.version).where(Ticket.id == ticket_id).first()
    follow_ups = await FollowUp.count().where(FollowUp.ticket == ticket_id)
    history = await HistoryEntry.count().where(HistoryEntry.ticket == ticket_id)
    return row["status"], row["version"], follow_ups, history


async def taken_ticket() -> tuple[factories.World, int, int]:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    await tickets.take(w.tech, ticket_id, version=1)
    version = (await Ticket.select(Ticket.version).where(Ticket.id == ticket_id).first())["version"]
    return w, ticket_id, version


async def test_reply_and_resolve_in_one_submit() -> None:
    w, ticket_id, version = await taken_ticket()
    follow_up_id, events = await tickets.answer(
        w.tech,
        ticket_id,
        Answer(
            text="J'ai remplacé le câble.",
            minutes=15,
            target=Status.RESOLVED,
            solution="Câble USB remplacé.",
            version=version,
        ),
    )
    row = await Ticket.select().where(Ticket.id == ticket_id).first()
    assert row["status"] == Status.RESOLVED.value
    assert row["solution"] == "Câble USB remplacé."
    follow_up = await FollowUp.select().where(FollowUp.id == follow_up_id).first()
    assert follow_up["text"] == "J'ai remplacé le câble." and follow_up["minutes"] == 15
    assert not follow_up["private"]
    # One event for the whole answer, carrying the final state.
    assert [e.kind for e in events] == ["ticket.moved"]
    assert events[0].after["status"] == Status.RESOLVED.value


async def test_private_note_without_status_change_ignores_the_version() -> None:
    w, ticket_id, _version = await taken_ticket()
    follow_up_id, events = await tickets.answer(
        w.tech, ticket_id, Answer(text="Voir avec le fournisseur.", private=True, version=0)
    )
    follow_up = await FollowUp.select().where(FollowUp.id == follow_up_id).first()
    assert follow_up["private"]
    assert (await state(ticket_id))[0] == Status.ASSIGNED.value
    assert [e.kind for e in events] == ["ticket.followup"]


async def test_stale_version_is_refused_and_nothing_is_saved() -> None:
    w, ticket_id, version = await taken_ticket()
    before = await state(ticket_id)
    with pytest.raises(Conflict):
        await tickets.answer(
            w.tech,
            ticket_id,
            Answer(text="Je passe.", target=Status.PENDING, version=version - 1),
        )
    assert await state(ticket_id) == before


async def test_resolve_without_solution_is_refused_on_the_solution_field() -> None:
    w, ticket_id, version = await taken_ticket()
    before = await state(ticket_id)
    with pytest.raises(ValidationFailed) as refused:
        await tickets.answer(
            w.tech,
            ticket_id,
            Answer(text="Réglé, je pense.", target=Status.RESOLVED, solution="  ", version=version),
        )
    assert set(refused.value.errors) == {"solution"}
    assert await state(ticket_id) == before


async def test_a_move_the_table_refuses_is_a_status_error_and_saves_nothing() -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)  # new, nobody assigned
    before = await state(ticket_id)
    with pytest.raises(ValidationFailed) as refused:
        await tickets.answer(
            w.tech, ticket_id, Answer(text="Je regarde.", target=Status.PLANNED, version=1)
        )
    assert set(refused.value.errors) == {"status"}
    assert await state(ticket_id) == before


async def test_requester_cannot_write_a_private_note_or_resolve() -> None:
    w, ticket_id, version = await taken_ticket()
    with pytest.raises(Forbidden):
        await tickets.answer(w.requester_a, ticket_id, Answer(text="x", private=True))
    with pytest.raises(ValidationFailed):
        await tickets.answer(
            w.requester_a,
            ticket_id,
            Answer(target=Status.RESOLVED, solution="fait", version=version),
        )


async def test_requester_reply_on_a_resolved_ticket_reopens_it() -> None:
    w, ticket_id, version = await taken_ticket()
    await tickets.answer(
        w.tech, ticket_id, Answer(target=Status.RESOLVED, solution="Redémarré.", version=version)
    )
    await tickets.answer(w.requester_a, ticket_id, Answer(text="Toujours en panne."))
    assert (await state(ticket_id))[0] == Status.ASSIGNED.value


async def test_closed_ticket_takes_no_reply() -> None:
    w, ticket_id, version = await taken_ticket()
    await tickets.answer(
        w.tech, ticket_id, Answer(target=Status.RESOLVED, solution="ok", version=version)
    )
    resolved = (await state(ticket_id))[1]
    await tickets.answer(w.requester_a, ticket_id, Answer(target=Status.CLOSED, version=resolved))
    assert (await state(ticket_id))[0] == Status.CLOSED.value
    with pytest.raises(InvalidTransition):
        await tickets.answer(w.tech, ticket_id, Answer(text="Encore une chose"))


def test_the_form_needs_something_to_do_and_text_for_minutes() -> None:
    with pytest.raises(ValidationFailed) as nothing:
        parse_answer({"text": "  "}, may_be_private=True)
    assert set(nothing.value.errors) == {"text"}
    with pytest.raises(ValidationFailed) as minutes_alone:
        parse_answer({"minutes": "10", "status": "pending", "version": "3"}, may_be_private=True)
    assert set(minutes_alone.value.errors) == {"text"}
    note = parse_answer({"text": "x", "kind": "note"}, may_be_private=False)
    assert not note.private  # a requester's "note" is a public reply
    assert parse_answer(
        {"text": "x", "canned_ids": "3,3,abc,7"}, may_be_private=True
    ).canned_ids == (
        3,
        7,
    )
