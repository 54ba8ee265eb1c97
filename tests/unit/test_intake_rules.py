"""Pure intake rules (issue 14): intake group inheritance, contact details, who is told."""

from __future__ import annotations

import pytest

from server.domain.actors import Actor
from server.domain.errors import ValidationFailed
from server.domain.intake import intake_group_for, parse_contact_details, parse_phones
from server.domain.notifications import Audience, Kind, recipients
from server.domain.permissions import can_serve
from server.domain.vocabulary import Role

# region 1 > group 2 > establishments 3 and 4; 10 alone (never confused with 1).
TREE = {1: None, 2: 1, 3: 2, 4: 2, 10: None}


def test_intake_group_is_the_nearest_one_up_the_tree() -> None:
    assert intake_group_for(3, TREE, {1: 100}) == 100
    assert intake_group_for(3, TREE, {1: 100, 2: 200}) == 200
    assert intake_group_for(4, TREE, {1: 100, 3: 300}) == 100
    assert intake_group_for(10, TREE, {1: 100}) is None


def test_intake_group_survives_a_cycle() -> None:
    assert intake_group_for(5, {5: 6, 6: 5}, {}) is None


def test_phones_are_split_checked_and_deduplicated() -> None:
    assert parse_phones("+33 1 23 45 67 89, 514-555-0101 poste 22\n514-555-0101 poste 22") == (
        "+33 1 23 45 67 89",
        "514-555-0101 poste 22",
    )
    assert parse_phones("") == ()
    with pytest.raises(ValidationFailed):
        parse_phones("appelez le secrétariat")
    with pytest.raises(ValidationFailed):
        parse_phones(",".join(["0123456789"[:4] + str(i) for i in range(6)]))


def test_contact_details_collect_both_errors() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_contact_details({"contact_email": "nope", "phones": "x"})
    assert set(caught.value.errors) == {"contact_email", "phones"}
    details = parse_contact_details({"contact_email": " Unite@Sud.Test ", "phones": ""})
    assert details.email == "unite@sud.test" and details.phones == ()


def test_staff_serve_their_reach_admins_everyone_requesters_nobody() -> None:
    reach = frozenset({3})
    tech = Actor(id=1, role=Role.TECHNICIAN, establishment_id=None, establishment_ids=reach)
    admin = Actor(id=2, role=Role.ADMIN, establishment_id=None)
    requester = Actor(id=3, role=Role.REQUESTER, establishment_id=3)
    gone = Actor(id=4, role=Role.TECHNICIAN, establishment_id=None, active=False,
                 establishment_ids=reach)  # fmt: skip
    assert can_serve(tech, 3) and not can_serve(tech, 4) and not can_serve(tech, None)
    assert can_serve(admin, 10)
    assert not can_serve(requester, 3)
    assert not can_serve(gone, 3)


def test_the_group_is_told_of_a_new_ticket_but_not_the_requester_nor_the_filer() -> None:
    audience = Audience(
        requester_id=1,
        requester_wants_mail=True,
        group_member_ids=frozenset({5, 6}),
        watcher_ids=frozenset({7}),
        viewer_ids=frozenset({1, 5, 6, 7}),
    )
    assert recipients(Kind.GROUP_NEW, audience, author_id=6) == {5}
    assert recipients(Kind.CREATED, audience, author_id=6) == {1, 7}
