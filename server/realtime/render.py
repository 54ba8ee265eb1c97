"""Fragments shared by HTTP responses and websocket pushes.

Board fragments depend only on the viewer's role and language, so a live update renders each
card once per (role, language) and sends the same bytes to every viewer of that kind.
Permission decisions are made before rendering: templates get only what the viewer may see,
plus the moves the domain allows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from server import i18n
from server.domain.actors import Actor
from server.domain.board import COLUMN_LIMIT
from server.domain.lifecycle import TicketFacts, allowed_targets
from server.domain.text import N_
from server.domain.vocabulary import Role, Status

# A stand-in actor per role: for staff, the moves a card offers depend on the role only
# (requesters never move cards on the board).
_ROLE_ACTORS = {role: Actor(id=-1, role=role, establishment_id=None) for role in Role}


def initials(name: str) -> str:
    parts = [p for p in name.replace("-", " ").split() if p]
    return "".join(p[0].upper() for p in parts[:2])


def card_targets(row: dict[str, Any], role: Role) -> list[Status]:
    if not role.is_staff:
        return []
    facts = TicketFacts(
        status=Status(row["status"]),
        requester_id=row["requester"],
        # On the board, dropping an unassigned card in progress takes it: offer those moves.
        assignee_id=row["assignee"] if row["assignee"] is not None else -1,
    )
    return [s for s in allowed_targets(facts, _ROLE_ACTORS[role]) if s.value != row["status"]]


@dataclass(slots=True)
class Column:
    status: Status
    cards: list[dict[str, Any]]
    count: int
    role: Role
    next: str = ""
    targets: dict[int, list[Status]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.targets = {c["id"]: card_targets(c, self.role) for c in self.cards}
        if len(self.cards) >= COLUMN_LIMIT:
            from server.db.board import Cursor

            self.next = Cursor.after_card(self.cards[-1]).encode()


def render(env: Environment, template: str, locale: str, **context: Any) -> str:
    """Render in a given language (websocket pushes happen outside any request)."""
    previous = i18n.get_locale()
    i18n.set_locale(locale)
    try:
        return env.get_template(template).render(**context)
    finally:
        i18n.set_locale(previous)


def card_html(env: Environment, row: dict[str, Any], role: Role, locale: str) -> str:
    return render(env, "board/_card.html", locale, c=row, targets=card_targets(row, role))


def card_placement(env: Environment, card: str, ticket_id: int, target: str) -> str:
    """Move (or insert) a card into the list with id ``target`` (its column, or its column
    in its lane); ``card`` is already rendered HTML."""
    return env.get_template("board/_placement.html").render(
        card=Markup(card), ticket_id=ticket_id, target=target  # noqa: S704 (our template)
    )


def card_removal(env: Environment, ticket_id: int) -> str:
    return env.get_template("board/_removal.html").render(ticket_id=ticket_id)


def count_html(env: Environment, locale: str, status: Status, count: int) -> str:
    return render(env, "board/_count.html", locale, status=status.value, count=count)


MOVED = N_("Ticket #%(id)d is now in %(status)s.")
LEFT = N_("Ticket #%(id)d left this board.")
SLA = N_("Ticket #%(id)d: its service level changed (at risk or breached).")


def _words(message: str, values: dict[str, Any]) -> str:
    if "status" in values:
        from server.views.labels import label

        values = {**values, "status": label("status", values["status"])}
    return i18n.gettext(message) % values


def announcement(env: Environment, locale: str, message: str, **values: Any) -> str:
    """The board's screen-reader announcement, in ``locale``."""
    previous = i18n.get_locale()
    i18n.set_locale(locale)
    try:
        text = _words(message, values)
        return env.get_template("board/_announcer.html").render(text=text)
    finally:
        i18n.set_locale(previous)


def refusal(env: Environment, message: str) -> str:
    """A refused move: its reason (already translated) in the flash and the announcer."""
    return env.get_template("board/_refusal.html").render(text=message)
