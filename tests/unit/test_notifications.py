"""Who gets a mail, and the mail templates' strings."""

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file

from server.domain.notifications import Audience, Kind, kind_for_move, recipients
from server.domain.vocabulary import Status
from server.services.mail_dispatcher import Backoff

REQUESTER, TECH, OTHER_TECH, MEMBER, WATCHER = 1, 2, 3, 4, 5
STAFF = frozenset({TECH, OTHER_TECH, MEMBER})


def audience(**changes) -> Audience:
    facts = {
        "requester_id": REQUESTER,
        "requester_wants_mail": True,
        "assignee_id": TECH,
        "group_member_ids": frozenset({TECH, MEMBER}),
        "staff_ids": STAFF,
    }
    return Audience(**{**facts, **changes})


def test_acknowledgement_goes_to_the_requester_who_wrote_it() -> None:
    assert recipients(Kind.CREATED, audience(assignee_id=None), REQUESTER) == {REQUESTER}


def test_nobody_hears_about_their_own_change() -> None:
    assert recipients(Kind.FOLLOW_UP, audience(), TECH) == {REQUESTER}
    assert recipients(Kind.FOLLOW_UP, audience(), REQUESTER) == {TECH}


def test_the_group_stands_in_while_nobody_is_assigned() -> None:
    facts = audience(assignee_id=None)
    assert recipients(Kind.FOLLOW_UP, facts, REQUESTER) == {TECH, MEMBER}
    assert recipients(Kind.ESCALATED, audience(), OTHER_TECH) == {TECH, MEMBER}


def test_private_notes_stay_among_staff() -> None:
    facts = audience(watcher_ids=frozenset({WATCHER}))
    assert recipients(Kind.FOLLOW_UP, facts, OTHER_TECH, private=True) == {TECH}
    assert REQUESTER not in recipients(Kind.FOLLOW_UP, facts, OTHER_TECH, private=True)
    assert WATCHER in recipients(Kind.FOLLOW_UP, facts, OTHER_TECH)


def test_notify_flag_preferences_and_inactive_accounts() -> None:
    assert REQUESTER not in recipients(Kind.RESOLVED, audience(requester_wants_mail=False), TECH)
    assert recipients(Kind.RESOLVED, audience(), OTHER_TECH, muted={TECH}) == {REQUESTER}
    assert recipients(Kind.CLOSED, audience(inactive_ids={TECH}), None) == {REQUESTER}


@pytest.mark.parametrize(
    ("old", "new", "kind"),
    [
        (Status.NEW, Status.ASSIGNED, Kind.ASSIGNED),
        (Status.ASSIGNED, Status.PENDING, Kind.STATUS_CHANGED),
        (Status.PENDING, Status.RESOLVED, Kind.RESOLVED),
        (Status.RESOLVED, Status.CLOSED, Kind.CLOSED),
        (Status.RESOLVED, Status.ASSIGNED, Kind.REOPENED),
        (Status.CLOSED, Status.NEW, Kind.REOPENED),
    ],
)
def test_kind_of_a_status_change(old: Status, new: Status, kind: Kind) -> None:
    assert kind_for_move(old, new) is kind


def test_backoff_doubles_up_to_an_hour() -> None:
    delays = [Backoff().delay(n).total_seconds() for n in range(1, 9)]
    assert delays == [60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_plain_text_mails_use_only_strings_of_their_html_twin() -> None:
    """The catalogues are extracted from .html templates: each .txt string must be there."""
    folder = Path(__file__).resolve().parents[2] / "frontend" / "templates" / "mail"
    options = {"extensions": "jinja2.ext.i18n"}

    def strings(path: Path) -> set:
        return {
            message if isinstance(message, str) else tuple(message)
            for _line, _func, message, _comments in extract_from_file(
                "jinja2", str(path), options=options
            )
        }

    for text in folder.glob("*.txt"):
        assert strings(text) <= strings(text.with_suffix(".html")), text.name
        assert strings(text)
