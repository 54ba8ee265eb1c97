"""The ticket page's one composer: a reply or note, a new status, minutes, canned replies.

``parse_answer`` turns what the composer posts into an :class:`Answer`; the use case
(``services.tickets.answer``) applies it in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from server.domain.forms import MINUTES_MAX, TEXT_MAX, FieldCollector
from server.domain.text import N_
from server.domain.vocabulary import Status

# At most this many canned replies counted per answer (the hidden field is user input).
CANNED_PER_ANSWER = 20


@dataclass(frozen=True, slots=True)
class Answer:
    """What one submit of the composer asks for.

    ``target`` is None when the status stays as it is; ``version`` is the ticket version the
    actor saw (checked only when the status changes: a reply never conflicts)."""

    text: str = ""
    private: bool = False
    minutes: int = 0
    target: Status | None = None
    solution: str = ""
    version: int | None = None
    canned_ids: tuple[int, ...] = ()

    @property
    def has_text(self) -> bool:
        return bool(self.text)


def parse_canned_ids(raw: Any) -> tuple[int, ...]:
    """The canned replies inserted in the text, as the composer lists them ("3,7")."""
    if not isinstance(raw, str):
        return ()
    ids = [int(part) for part in raw.split(",") if part.strip().isdigit() and len(part) < 10]
    return tuple(dict.fromkeys(i for i in ids if i > 0))[:CANNED_PER_ANSWER]


def parse_answer(raw: Mapping[str, Any], *, may_be_private: bool) -> Answer:
    f = FieldCollector(raw)
    text = f.text("text", required=False, max_len=TEXT_MAX)
    private = f.flag("private", False) and may_be_private
    if raw.get("kind") == "note" and may_be_private:
        private = True
    minutes = f.integer("minutes", low=0, high=MINUTES_MAX) or 0
    target = f.choice("status", Status, None)
    solution = f.text("solution", required=False, max_len=TEXT_MAX)
    version = f.integer("version", low=0, high=2**31 - 1)
    if target is not None and version is None and "version" not in f.errors:
        f.errors["version"] = N_("This field is required.")
    if not text and target is None and "text" not in f.errors and "status" not in f.errors:
        f.errors["text"] = N_("Write a reply or choose a new status.")
    if minutes and not text and "text" not in f.errors:
        f.errors["text"] = N_("Say what the time was spent on.")
    f.done()
    return Answer(
        text=text,
        private=private,
        minutes=minutes,
        target=target,
        solution=solution,
        version=version,
        canned_ids=parse_canned_ids(raw.get("canned_ids")),
    )
