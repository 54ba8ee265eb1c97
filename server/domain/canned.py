"""Canned replies: who may use and manage them, which language the picker offers, and how
their placeholders are filled. Pure rules: no I/O.

Placeholders are written ``{requester}``, ``{ticket_number}``, ``{ticket_title}``,
``{technician}`` and ``{link}``. The result is plain text (the composer's textarea, then a
follow-up, both escaped wherever they are shown), filled in a single pass: a value that itself
looks like a placeholder stays as it is, and an unknown placeholder is left visible so the
technician notices it before sending.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from server.domain.actors import Actor
from server.domain.forms import TEXT_MAX, FieldCollector
from server.domain.text import N_

PLACEHOLDERS = ("requester", "ticket_number", "ticket_title", "technician", "link")
TITLE_MAX = 120
REFERENCE_MAX = 60

_PLACEHOLDER = re.compile(r"\{([a-z_]{1,40})\}")
# Line breaks and other control characters in a value (a title, a name) become one space:
# a value fills a place in a sentence, it never adds lines.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_REFERENCE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True, slots=True)
class CannedFacts:
    """What the rules need to know about one canned reply."""

    id: int
    language: str
    reference: str
    title: str
    owner_id: int | None
    group_id: int | None


@dataclass(frozen=True, slots=True)
class CannedDraft:
    """A canned reply as typed on the create/edit form."""

    title: str
    body: str
    language: str
    reference: str
    owner_id: int | None
    group_id: int | None


def expand(body: str, values: Mapping[str, str]) -> str:
    """Fill the known placeholders of ``body`` with ``values``; leave the others as typed."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in PLACEHOLDERS or name not in values:
            return match.group(0)
        return _CONTROL.sub(" ", values[name]).strip()

    return _PLACEHOLDER.sub(fill, body)


def can_use(actor: Actor, reply: CannedFacts) -> bool:
    """Its owner uses a personal reply; every member of the group uses a group's."""
    if not actor.is_staff or not actor.active:
        return False
    if reply.owner_id is not None:
        return reply.owner_id == actor.id
    return reply.group_id is not None and reply.group_id in actor.group_ids


def can_manage(actor: Actor, reply: CannedFacts | CannedDraft) -> bool:
    """A technician manages their own replies and their groups'; an admin manages all."""
    if not actor.is_staff or not actor.active:
        return False
    if actor.is_admin:
        return True
    if reply.owner_id is not None:
        return reply.owner_id == actor.id
    return reply.group_id is not None and reply.group_id in actor.group_ids


def language_preference(*languages: str, supported: Sequence[str]) -> list[str]:
    """The languages to try, best first: the given ones (empty ones skipped), then the rest
    of the supported languages in their usual order."""
    ordered = [lang for lang in languages if lang in supported]
    ordered += list(supported)
    return list(dict.fromkeys(ordered))


def pick(replies: Iterable[CannedFacts], preference: Sequence[str]) -> list[CannedFacts]:
    """One reply per subject, in the best available language. Translations of one reply
    share a reference within one owner or group; a reply without reference stands alone.
    Result: best-language replies first, then by title."""
    rank = {lang: i for i, lang in enumerate(preference)}
    worst = len(rank)
    best: dict[tuple[Any, ...], CannedFacts] = {}
    for reply in replies:
        key: tuple[Any, ...] = (
            (reply.owner_id, reply.group_id, reply.reference)
            if reply.reference
            else ("id", reply.id)
        )
        kept = best.get(key)
        if kept is None or rank.get(reply.language, worst) < rank.get(kept.language, worst):
            best[key] = reply
    return sorted(
        best.values(), key=lambda r: (rank.get(r.language, worst), r.title.casefold(), r.id)
    )


def parse_canned(
    raw: Mapping[str, Any], *, actor_id: int, group_ids: Iterable[int], languages: Sequence[str]
) -> CannedDraft:
    """Read the form. ``scope`` is "me" (a personal reply) or the id of one of ``group_ids``
    (the groups the actor may write for)."""
    f = FieldCollector(raw)
    title = f.text("title", required=True, max_len=TITLE_MAX)
    body = f.text("body", required=True, max_len=TEXT_MAX)
    language = raw.get("language")
    if language not in languages:
        f.errors["language"] = N_("Choose one of the proposed values.")
    reference = f.text("reference", required=False, max_len=REFERENCE_MAX).lower()
    if reference and not _REFERENCE.match(reference):
        f.errors["reference"] = N_("Use lowercase letters, digits and dashes only.")
    scope = raw.get("scope")
    owner_id: int | None = None
    group_id: int | None = None
    if scope == "me":
        owner_id = actor_id
    elif isinstance(scope, str) and scope.isdigit() and int(scope) in set(group_ids):
        group_id = int(scope)
    else:
        f.errors["scope"] = N_("Choose one of the proposed values.")
    f.done()
    return CannedDraft(
        title=title,
        body=body,
        language=str(language),
        reference=reference,
        owner_id=owner_id,
        group_id=group_id,
    )
