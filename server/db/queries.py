"""Read models: lists and ticket pages, already scoped by the access policy.

Every query that returns tickets starts from :func:`visible_to`, which turns the domain's
``Visibility`` into a where-clause, so the rule lives in one place (``domain.permissions``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from piccolo.columns import Timestamptz
from piccolo.columns.combination import Where, WhereRaw
from piccolo.querystring import QueryString

from server import i18n
from server.db import catalogue, config_cache, prepared
from server.db.intake import intake_columns, triage_clause
from server.db.prepared import SAMPLE_ID, Prepared, PreparedIn
from server.db.sla import DUE_SORT, attach_sla
from server.db.sla_tables import TicketSla
from server.db.tables import (
    Attachment,
    AttachmentDownload,
    Category,
    Establishment,
    FollowUp,
    HistoryEntry,
    Ticket,
    TicketShare,
    TicketWatcher,
    User,
)
from server.domain.actors import Actor
from server.domain.errors import NotFound
from server.domain.establishments import descendants
from server.domain.permissions import (
    TicketAccess,
    Visibility,
    can_see_private_notes,
    can_view,
    may_see_history,
    sees_every_ticket_of,
    shares_may_admit,
    visibility,
)
from server.domain.vocabulary import Priority, Role, Status

# ORDER BY cannot be a bound parameter: sort keys come only from this allowlist.
SORTS: dict[str, list[tuple[Any, bool]]] = {
    "urgent": [(Ticket.priority_rank, True), (Ticket.created_at, True)],
    "newest": [(Ticket.created_at, False)],
    "oldest": [(Ticket.created_at, True)],
    "updated": [(Ticket.updated_at, False)],
    "due": DUE_SORT,
}
DEFAULT_SORT = "newest"
OPEN_STATUSES = [s.value for s in Status if s.is_open]


def visible_to(actor: Actor) -> Any:
    """A where-clause matching exactly the tickets ``actor`` may see (see
    ``domain.permissions``: each branch here mirrors one branch of ``can_view``)."""
    return _visible_where(visibility(actor))


@lru_cache(maxsize=4096)
def _visible_where(scope: Visibility) -> WhereRaw:
    """The clause of a scope, its SQL built once: Piccolo rebuilds a combination of columns
    on every use (a third of a millisecond for a technician's, on every list, board
    column and search). Scopes are values: a change of groups or establishments is
    another scope, never a stale entry."""
    return WhereRaw("{}", _visible_clause(scope).querystring)


def _visible_clause(scope: Visibility) -> Any:
    if scope.everything:
        return Ticket.id > 0
    clause: Any = Ticket.id < 0  # nothing, unless a branch below applies
    if scope.requester_id is not None:
        clause = clause | (Ticket.requester == scope.requester_id)
    if scope.establishment_id is not None:
        clause = clause | (
            (Ticket.shared == True)  # noqa: E712 - Piccolo builds SQL from ==
            & (Ticket.establishment == scope.establishment_id)
        )
    if scope.shared_with_id is not None:
        clause = clause | Ticket.id.is_in(
            TicketShare.select(TicketShare.ticket).where(TicketShare.user == scope.shared_with_id)
        )
    if scope.establishment_ids:
        clause = clause | Ticket.establishment.is_in(sorted(scope.establishment_ids))
    if scope.group_ids:
        clause = clause | Ticket.assigned_group.is_in(sorted(scope.group_ids))
    if scope.assignee_id is not None:
        clause = clause | (Ticket.assignee == scope.assignee_id)
    return clause


@lru_cache(maxsize=4096)
def access_branches(scope: Visibility) -> tuple[WhereRaw, ...] | None:
    """``visible_to`` for a requester's reach as disjoint where-clauses, each led by an index
    that holds it (their union is exactly the scope's tickets), or None for staff and
    administrators, whose one clause is cheap to count.

    A list's capped count went through the OR of the requester's branches with a sequential
    scan: 12,000 rows read for the 1,001 closed tickets of "all" at a million tickets
    (5-10 ms on PostgreSQL). Apart, the establishment's shared tickets are counted from
    ``ticket (establishment, status, shared)`` and one's own from ``ticket (requester,
    status)``, without reading a row, and the count stops at the branch that passes the cap.
    """
    staff = scope.establishment_ids or scope.group_ids or scope.assignee_id is not None
    if scope.everything or staff:
        return None
    branches: list[list[Any]] = []
    # Excludes the tickets of the branches already listed (the columns allow NULL: a NULL
    # is outside a branch, and ``!=`` alone would drop it).
    outside: list[Any] = []
    if scope.establishment_id is not None:
        here = scope.establishment_id
        branches.append([Ticket.shared == True, Ticket.establishment == here])  # noqa: E712
        outside.append(
            (Ticket.shared == False)  # noqa: E712
            | Ticket.establishment.is_null()
            | (Ticket.establishment != here)
        )
    if scope.requester_id is not None:
        mine = scope.requester_id
        branches.append([Ticket.requester == mine, *outside])
        outside.append(Ticket.requester.is_null() | (Ticket.requester != mine))
    if scope.shared_with_id is not None:
        named = TicketShare.select(TicketShare.ticket).where(
            TicketShare.user == scope.shared_with_id
        )
        branches.append([Ticket.id.is_in(named), *outside])
    # Built once per scope, like ``_visible_where``.
    return tuple(WhereRaw("{}", _all_of(branch).querystring) for branch in branches)


def _all_of(clauses: list[Any]) -> Any:
    combined = clauses[0]
    for clause in clauses[1:]:
        combined = combined & clause
    return combined


@dataclass(frozen=True, slots=True)
class AccessWords:
    """The words of SQLite's search windows (view ``ticket_access_words``) of which every
    ticket a viewer may see holds one: the requester branches of ``visible_to``, as words.
    Tickets shared by name have no word: ``unless_shared_with`` is the account whose
    shares, if there are any, make the words unusable."""

    words: tuple[str, ...]
    unless_shared_with: int | None


def access_words(actor: Actor) -> AccessWords | None:
    """``actor``'s access words, or None where they would not narrow a search (staff see
    most of a window) or where nothing is visible. They only narrow: ``visible_to`` still
    decides."""
    scope = visibility(actor)
    if scope.everything or scope.establishment_ids or scope.group_ids or scope.assignee_id:
        return None
    words = [f"r{scope.requester_id}"] if scope.requester_id is not None else []
    if scope.establishment_id is not None:
        words.append(f"s{scope.establishment_id}")
    return AccessWords(tuple(words), scope.shared_with_id) if words else None


@dataclass(frozen=True, slots=True)
class TicketFilters:
    tab: str = "open"  # open | closed | all
    statuses: tuple[Status, ...] = ()
    priority: Priority | None = None
    category_id: int | None = None
    group_id: int | None = None
    assignee: str = ""  # "" any | "me" | "none" | a user id
    establishment_id: int | None = None  # rolls up its children
    requester_id: int | None = None
    group_ids: tuple[int, ...] = ()  # any of these groups (a technician's backlog)
    watcher_id: int | None = None  # tickets this person follows
    triage: bool = False  # new or uncategorised tickets of the actor's intake groups
    text: str = ""
    sort: str = DEFAULT_SORT
    page: int = 1
    per_page: int = 25
    # Keyset paging (see ``ListCursor``): the rows after, or before, this sort position.
    after: str = ""
    before: str = ""


# A list counts its matches up to this many past the current page, not the whole table:
# beyond it the page says "more than ..." and offers "next" (like large trackers do).
COUNT_AHEAD = 1000


@dataclass(slots=True)
class TicketPage:
    rows: list[dict[str, Any]]
    total: int  # exact unless ``more``: then a lower bound
    page: int
    per_page: int
    more: bool = False
    pages: int = field(init=False)
    # Keyset links: the cursors of the next and previous pages ("" when there is none).
    next_cursor: str = ""
    previous_cursor: str = ""
    keyset: bool = False  # paged by cursors (page numbers unknown)

    def __post_init__(self) -> None:
        self.pages = max(1, -(-self.total // self.per_page))


# Sorts paged by keyset: the sort columns, each ascending or not, then the id, descending.
# "due" (a subquery of the service level, NULLs last) has its own cursor: see ``_due_clause``.
KEYSET_SORTS: dict[str, tuple[tuple[Any, bool], ...]] = {
    "urgent": ((Ticket.priority_rank, True), (Ticket.created_at, True)),
    "newest": ((Ticket.created_at, False),),
    "oldest": ((Ticket.created_at, True),),
    "updated": ((Ticket.updated_at, False),),
}
CURSOR_SORTS = (*KEYSET_SORTS, "due")
# The "due" sort's key: the next unmet due time, NULL when no clock runs.
DUE_KEY = DUE_SORT[1][0]
NO_DUE = "n"  # the cursor's due part for a ticket without a running clock
# Exactly the tickets whose DUE_KEY is not NULL (a clock runs), as a condition on their
# ticket_sla row: the partial index ``ticket_sla_running`` holds them (a few thousand at
# 1 M tickets), so the due sort reads them, then the rest by id, and never sorts everything.
# Parenthesised whole: Piccolo joins raw clauses to others without brackets.
RUNNING_CLOCK = (
    "((take_met_at IS NULL AND take_due_at < resolve_due_at)"
    " OR (resolve_met_at IS NULL AND resolve_due_at IS NOT NULL))"
)
# Old ``page=N`` links (before cursors) are served up to this page: a bounded OFFSET, no
# deeper than what the count ahead reads anyway, whatever the size of the table.
MAX_OLD_PAGE = COUNT_AHEAD // 25
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _encode_value(value: Any) -> str:
    if isinstance(value, datetime):
        # Whole microseconds since the epoch: URL-safe and exact.
        return str((value - _EPOCH) // timedelta(microseconds=1))
    return str(int(value))


def _decode_value(column: Any, raw: str) -> Any:
    number = int(raw)
    if isinstance(column, Timestamptz):
        return _EPOCH + timedelta(microseconds=number)
    return number


def _due_of(row: dict[str, Any]) -> datetime | None:
    value = row.get("due_key")
    # PostgreSQL gives a datetime; SQLite the stored text (a raw expression has no type).
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def list_cursor(sort: str, row: dict[str, Any]) -> str:
    """Where a page continues from ``row`` in ``sort`` order (an opaque URL value)."""
    if sort == "due":
        due = _due_of(row)
        return f"{NO_DUE if due is None else _encode_value(due)}_{row['id']}"
    keys = KEYSET_SORTS[sort]
    return "_".join([*(_encode_value(row[c._meta.name]) for c, _ in keys), str(row["id"])])


def _keyset_clause(sort: str, raw: str, forward: bool) -> Any | None:
    """Rows strictly after (``forward``) or before the cursor in ``sort`` order; None for a
    cursor that does not decode (the caller reports it)."""
    if sort == "due":
        return _due_clause(raw, forward)
    keys = KEYSET_SORTS[sort]
    parts = raw.split("_")
    if len(parts) != len(keys) + 1:
        return None
    try:
        values = [_decode_value(c, p) for (c, _), p in zip(keys, parts, strict=False)]
        ident = int(parts[-1])
    except (ValueError, OverflowError):
        return None
    # Lexicographic "after" over mixed directions, as an OR of equal prefixes, plus a range
    # on the first column (redundant, but what lets the index seek instead of walking).
    columns = [*(c for c, _ in keys), Ticket.id]
    ascending = [*(a for _, a in keys), False]
    values.append(ident)

    def beyond(i: int) -> Any:
        up = ascending[i] == forward
        return columns[i] > values[i] if up else columns[i] < values[i]

    clause: Any = None
    for i in range(len(columns)):
        step = beyond(i)
        for j in range(i):
            step = (columns[j] == values[j]) & step
        clause = step if clause is None else clause | step
    first_up = ascending[0] == forward
    seek = columns[0] >= values[0] if first_up else columns[0] <= values[0]
    return seek & clause


def _decode_due(raw: str) -> tuple[datetime | None, int] | None:
    """A "due" cursor: (due time or None, ticket id); None if it does not decode."""
    parts = raw.split("_")
    if len(parts) != 2:
        return None
    try:
        due = None if parts[0] == NO_DUE else _EPOCH + timedelta(microseconds=int(parts[0]))
        return due, int(parts[1])
    except (ValueError, OverflowError):
        return None


def _due_clause(raw: str, forward: bool) -> Any | None:
    """Rows after (or before) a "due" cursor within its own part of the order: tickets with
    a running clock by (due time, id descending), the others by id descending. Crossing
    from one part to the other is ``_due_rows``' work, so NULLs sort last on both engines
    (PostgreSQL puts them last by default, SQLite first)."""
    decoded = _decode_due(raw)
    if decoded is None:
        return None
    due, ident = decoded
    if due is None:
        return Ticket.id < ident if forward else Ticket.id > ident
    beyond = WhereRaw("{} > {}" if forward else "{} < {}", DUE_KEY, due)
    tie = WhereRaw("{} = {}", DUE_KEY, due)
    return beyond | (tie & (Ticket.id < ident if forward else Ticket.id > ident))


_LIST_COLUMNS = (
    Ticket.id,
    Ticket.title,
    Ticket.status,
    Ticket.priority,
    Ticket.ticket_type,
    Ticket.created_at,
    Ticket.updated_at,
    Ticket.version,
    Ticket.shared,
    Ticket.requester,
    Ticket.establishment.code.as_alias("establishment_code"),
    Ticket.category.name.as_alias("category_name"),
    Ticket.assignee.full_name.as_alias("assignee_name"),
    Ticket.assigned_group.name.as_alias("group_name"),
    Ticket.requester.full_name.as_alias("requester_name"),
    # Ids too: names are then given in the reader's language (server.db.catalogue).
    Ticket.category,
    Ticket.assigned_group,
)


def escape_like(text: str) -> str:
    # Piccolo's LIKE has no ESCAPE clause; wildcards typed by users are treated as spaces.
    return text.replace("%", " ").replace("_", " ").strip()


def contains(column: Any, pattern: str) -> Any:
    # SQLite's LIKE already ignores ASCII case (and Piccolo warns on ILIKE there).
    if Ticket._meta.db.engine_type == "sqlite":
        return column.like(pattern)
    return column.ilike(pattern)


async def establishment_subtree(establishment_id: int) -> frozenset[int]:
    """The establishment and every establishment below it (compared by id)."""
    rows = await Establishment.select(Establishment.id, Establishment.parent)
    return descendants([establishment_id], {r["id"]: r["parent"] for r in rows})


def _filter_clauses(
    actor: Actor, f: TicketFilters, establishment_ids: frozenset[int] = frozenset()
) -> list[Where | Any]:
    return [*_access_clauses(actor, f), *_narrowing(actor, f, establishment_ids)]


def _assignee_of(actor: Actor, f: TicketFilters) -> int | None:
    return actor.id if f.assignee == "me" else int(f.assignee) if f.assignee.isdigit() else None


def _access_clauses(actor: Actor, f: TicketFilters) -> list[Any]:
    """The access test of a list, none where its filter admits only visible tickets."""
    # "My requests", "assigned to me": the filter admits only visible tickets, and an access
    # test beside it read every row of a long history to count a page's "1,000+" (the
    # requester's closed ones, 10,600 rows at a million tickets) where the index of the
    # filter alone counts from its entries.
    implied = sees_every_ticket_of(
        visibility(actor), requester_id=f.requester_id, assignee_id=_assignee_of(actor, f)
    )
    return [] if implied else [visible_to(actor)]


def _narrowing(
    actor: Actor, f: TicketFilters, establishment_ids: frozenset[int] = frozenset()
) -> list[Any]:
    """The list's filters, without the access test."""
    assignee = _assignee_of(actor, f)
    clauses: list[Any] = []
    if f.statuses:
        clauses.append(Ticket.status.is_in([s.value for s in f.statuses]))
    elif f.tab == "open":
        clauses.append(Ticket.status.is_in(OPEN_STATUSES))
    elif f.tab == "closed":
        clauses.append(Ticket.status.not_in(OPEN_STATUSES))
    if f.priority:
        clauses.append(Ticket.priority == f.priority.value)
    if f.category_id:
        clauses.append(Ticket.category == f.category_id)
    if f.group_id:
        clauses.append(Ticket.assigned_group == f.group_id)
    if f.establishment_id:
        clauses.append(Ticket.establishment.is_in(sorted(establishment_ids) or [0]))
    if f.requester_id:
        clauses.append(Ticket.requester == f.requester_id)
    if f.group_ids:
        clauses.append(Ticket.assigned_group.is_in(list(f.group_ids)))
    if f.watcher_id:
        clauses.append(
            Ticket.id.is_in(
                TicketWatcher.select(TicketWatcher.ticket).where(TicketWatcher.user == f.watcher_id)
            )
        )
    if f.triage:
        clauses.append(triage_clause(actor.group_ids))
    if assignee is not None:
        clauses.append(Ticket.assignee == assignee)
    elif f.assignee == "none":
        clauses.append(Ticket.assignee.is_null())
    text = escape_like(f.text)
    if text:
        pattern = f"%{text}%"
        match = contains(Ticket.title, pattern) | contains(Ticket.description, pattern)
        number = text.lstrip("#")
        if number.isdigit() and len(number) < 10:
            match = match | (Ticket.id == int(number))
        clauses.append(match)
    return clauses


def keyset_ready(f: TicketFilters) -> bool:
    """Whether ``f``'s cursor, if any, can be read (else the page reports a bad link)."""
    for raw, forward in ((f.after, True), (f.before, False)):
        if raw and (f.sort not in CURSOR_SORTS or _keyset_clause(f.sort, raw, forward) is None):
            return False
    return True


async def list_tickets(actor: Actor, f: TicketFilters, *, counted: bool = True) -> TicketPage:
    """A page of the tickets ``f`` selects that the actor may see; ``counted=False`` for a
    caller that shows a count of its own (the page's total is then 0)."""
    subtree = await establishment_subtree(f.establishment_id) if f.establishment_id else frozenset()
    access = _access_clauses(actor, f)
    narrowing = _narrowing(actor, f, subtree)
    branches = access_branches(visibility(actor)) if access else None
    counted_in = None if branches is None else [[branch, *narrowing] for branch in branches]
    return await _keyset_page(f, [*access, *narrowing], counted, counted_in)


def access_of(row: dict[str, Any], shared_with: frozenset[int] = frozenset()) -> TicketAccess:
    """Access facts of a ticket row. ``shared_with`` must be given for requesters to be
    judged right: use :func:`ticket_access`, which reads it."""
    return TicketAccess(
        requester_id=row["requester"],
        establishment_id=row["establishment"],
        shared=row["shared"],
        group_id=row["assigned_group"],
        assignee_id=row["assignee"],
        shared_with=shared_with,
    )


async def shared_with(ticket_id: int) -> frozenset[int]:
    return await prepared.ticket_shares(ticket_id)


async def ticket_access(row: dict[str, Any]) -> TicketAccess:
    return access_of(row, await shared_with(row["id"]))


async def may_view_row(actor: Actor, row: dict[str, Any]) -> bool:
    """``can_view`` for a ticket row, its shares read only when they alone could admit the
    actor (a statement less on most ticket reads)."""
    if can_view(actor, access_of(row)):
        return True
    return shares_may_admit(actor) and can_view(actor, await ticket_access(row))


# The ticket page's fixed-shape reads, compiled once (``db.prepared``): building these joins
# in Piccolo was a quarter of the page's CPU.
def _ticket_with_names() -> list[Any]:
    return [
        *Ticket.all_columns(),
        Ticket.establishment.code.as_alias("establishment_code"),
        Ticket.establishment.name.as_alias("establishment_name"),
        Ticket.category.name.as_alias("category_name"),
        Ticket.assignee.full_name.as_alias("assignee_name"),
        Ticket.assigned_group.name.as_alias("group_name"),
        Ticket.requester.full_name.as_alias("requester_name"),
        Ticket.requester.email.as_alias("requester_email"),
    ]


_TICKET_WITH_NAMES = Prepared(
    lambda ticket_id: Ticket.select(*_ticket_with_names()).where(Ticket.id == ticket_id).first(),
    SAMPLE_ID,
)
_SAMPLE_VIEWER = 987_654_320


def _watching(viewer_id: int) -> QueryString:
    watchers = TicketWatcher._meta.tablename
    return QueryString(
        "EXISTS (SELECT 1 FROM "  # noqa: S608 - table names only
        + f'{watchers} w WHERE w.ticket = "{Ticket._meta.tablename}".id AND w."user" = {{}})',
        viewer_id,
    ).as_alias("viewer_watches")


# The ticket page's row (pages, fragments and live pushes of a ticket): the ticket with
# names, and what the page shows beside it as lookups by key in the same statement (how it
# came in, time spent, the requester's language, whether the viewer follows it).
_TICKET_PAGE = Prepared(
    lambda ticket_id, viewer_id: (
        Ticket.select(
            *_ticket_with_names(),
            Ticket.requester.locale.as_alias("requester_locale"),
            *intake_columns(),
            _watching(viewer_id),
        )
        .where(Ticket.id == ticket_id)
        .first()
    ),
    SAMPLE_ID,
    _SAMPLE_VIEWER,
)
# The people a ticket is shared with, named: the page shows them and judges access by them.
SHARES_NAMED = Prepared(
    lambda ticket_id: (
        TicketShare.select(
            TicketShare.user,
            TicketShare.user.full_name.as_alias("full_name"),
            TicketShare.user.email.as_alias("email"),
        )
        .where(TicketShare.ticket == ticket_id)
        .order_by(TicketShare.user.full_name)
    ),
    SAMPLE_ID,
)


def _follow_ups(ticket_id: int, public_only: bool) -> Any:
    query = FollowUp.select(
        FollowUp.id,
        FollowUp.text,
        FollowUp.private,
        FollowUp.minutes,
        FollowUp.created_at,
        FollowUp.author.full_name.as_alias("author_name"),
        FollowUp.author.role.as_alias("author_role"),
    ).where(FollowUp.ticket == ticket_id)
    return query.where(FollowUp.private == False) if public_only else query  # noqa: E712


_FOLLOW_UPS = Prepared(lambda ticket_id: _follow_ups(ticket_id, False), SAMPLE_ID)
_PUBLIC_FOLLOW_UPS = Prepared(lambda ticket_id: _follow_ups(ticket_id, True), SAMPLE_ID)
_HISTORY = Prepared(
    lambda ticket_id: HistoryEntry.select(
        HistoryEntry.id,
        HistoryEntry.field,
        HistoryEntry.old_value,
        HistoryEntry.new_value,
        HistoryEntry.note,
        HistoryEntry.created_at,
        HistoryEntry.actor.full_name.as_alias("actor_name"),
    ).where(HistoryEntry.ticket == ticket_id),
    SAMPLE_ID,
)
_FILES = Prepared(
    lambda ticket_id: Attachment.select(
        Attachment.id,
        Attachment.filename,
        Attachment.kind.as_alias("file_kind"),
        Attachment.size,
        Attachment.created_at,
        Attachment.uploader.full_name.as_alias("author_name"),
    ).where(Attachment.ticket == ticket_id),
    SAMPLE_ID,
)


async def visible_ticket(actor: Actor, ticket_id: int) -> dict[str, Any]:
    """The ticket row with names, or NotFound, whether it is missing or not visible."""
    row = await _TICKET_WITH_NAMES.first(ticket_id)
    if row is None or not await may_view_row(actor, row):
        raise NotFound()
    await catalogue.localise_rows([row], i18n.get_locale())
    return row


@dataclass(frozen=True)
class ShownTicket:
    """A ticket as its page shows it: the row (``_TICKET_PAGE``), its shares with names and
    the access facts they make."""

    row: dict[str, Any]
    shares: list[dict[str, Any]]
    access: TicketAccess


async def visible_ticket_page(actor: Actor, ticket_id: int) -> ShownTicket:
    """The ticket page's reads in two statements, or NotFound whether the ticket is missing
    or not visible (the same answer, as ``visible_ticket``)."""
    row = await _TICKET_PAGE.first(ticket_id, actor.id)
    if row is None:
        raise NotFound()
    shares = await SHARES_NAMED.rows(ticket_id)
    access = access_of(row, frozenset(s["user"] for s in shares))
    if not can_view(actor, access):
        raise NotFound()
    row["viewer_watches"] = bool(row["viewer_watches"])
    await catalogue.localise_rows([row], i18n.get_locale())
    return ShownTicket(row=row, shares=shares, access=access)


async def ticket_follow_ups(actor: Actor, ticket_id: int) -> list[dict[str, Any]]:
    """The follow-ups of one ticket the actor may read (private notes for the desk only),
    in no particular order; the caller has already checked the ticket is visible."""
    if can_see_private_notes(actor):
        return await _FOLLOW_UPS.rows(ticket_id)
    return await _PUBLIC_FOLLOW_UPS.rows(ticket_id)


async def timeline(actor: Actor, ticket_id: int) -> list[dict[str, Any]]:
    """Follow-ups and history entries of one ticket, oldest first, as the actor may see them.

    The caller has already checked that the actor may see the ticket.
    """
    follow_ups = await ticket_follow_ups(actor, ticket_id)
    history = [h for h in await _HISTORY.rows(ticket_id) if may_see_history(actor, h["field"])]
    files = await _FILES.rows(ticket_id)
    items = [{"kind": "follow_up", **r} for r in follow_ups]
    items += [{"kind": "attachment", **r} for r in files]
    items += [{"kind": "history", **r} for r in history]
    order = {"history": 0, "follow_up": 1, "attachment": 2}
    items.sort(key=lambda item: (item["created_at"], order[item["kind"]], item["id"]))
    return items


async def categories() -> list[dict[str, Any]]:
    """Active categories in tree order, each with its name and path ("Parent > Child") in
    the reader's language (cached per configuration generation)."""
    return await catalogue.localised_categories(i18n.get_locale())


async def category(category_id: int) -> dict[str, Any] | None:
    """The active category ``category_id``, or None. Every new ticket and every change of
    category checks it: the active ones are read once per configuration generation."""
    active = await config_cache.cached("active_categories", _active_categories)
    row = active.get(category_id)
    return dict(row) if row is not None else None


async def _active_categories() -> dict[int, dict[str, Any]]:
    rows = await Category.select().where(Category.active == True)  # noqa: E712
    return {row["id"]: row for row in rows}


async def groups() -> list[dict[str, Any]]:
    """Every group, by tier then name, named in the reader's language."""
    return await catalogue.localised_groups(i18n.get_locale())


# The desk's people (assignment menus, the report's technician filter), compiled once.
_TECHNICIANS = Prepared(
    lambda: (
        User.select(User.id, User.full_name, User.email)
        .where(
            User.role.is_in([Role.TECHNICIAN.value, Role.SUPERVISOR.value, Role.ADMIN.value])
            & (User.active == True)  # noqa: E712
        )
        .order_by(User.full_name)
    )
)


async def technicians() -> list[dict[str, Any]]:
    return await _TECHNICIANS.rows()


_ESTABLISHMENTS = Prepared(lambda: Establishment.select().order_by(Establishment.name))


async def establishments() -> list[dict[str, Any]]:
    """Every establishment by name (the filters of the board, the lists and the search),
    read once per configuration generation; the rows are the caller's to change."""
    return [dict(row) for row in await config_cache.cached("establishments", _ESTABLISHMENTS.rows)]


async def downloads(ticket_id: int) -> list[dict[str, Any]]:
    """Who downloaded which attachment of a ticket, newest first (for supervisors)."""
    return (
        await AttachmentDownload.select(
            AttachmentDownload.created_at,
            AttachmentDownload.user.full_name.as_alias("user_name"),
            AttachmentDownload.attachment.filename.as_alias("filename"),
        )
        .where(AttachmentDownload.attachment.ticket == ticket_id)
        .order_by(AttachmentDownload.created_at, ascending=False)
    )


async def _due_rows(
    f: TicketFilters, clauses: list[Any], columns: list[Any], forward: bool, want: int
) -> list[dict[str, Any]]:
    """Up to ``want`` rows in "due" order (reversed when going back) from the cursor: first
    the tickets with a running clock, by due time, then the others by id. Each part is one
    query that an index starts (the running clocks' partial index; the primary key), so no
    page sorts every ticket of a million."""
    cursor = f.after or f.before
    decoded = _decode_due(cursor) if cursor else None
    # Never a NULL in it (the column may hold one): NOT IN would then match nothing.
    running_ids = TicketSla.select(TicketSla.ticket).where(
        WhereRaw(RUNNING_CLOCK), TicketSla.ticket.is_not_null()
    )
    segments = [True, False] if forward else [False, True]  # running clock first
    if decoded is not None:
        # Start in the cursor's own part; going back from the running part, the other
        # part (tickets without a clock) all comes after it.
        running_cursor = decoded[0] is not None
        segments = segments[segments.index(running_cursor) :]
    rows: list[dict[str, Any]] = []
    for running in segments:
        query = Ticket.select(*columns).where(*clauses)
        if running:
            query = query.where(Ticket.id.is_in(running_ids)).order_by(DUE_KEY, ascending=forward)
        else:
            query = query.where(Ticket.id.not_in(running_ids))
        query = query.order_by(Ticket.id, ascending=not forward)
        if decoded is not None and (decoded[0] is not None) == running:
            query = query.where(_keyset_clause("due", cursor, forward))
        rows += await query.limit(want - len(rows))
        if len(rows) >= want:
            break
    return rows


def _sort_order(sort: str, forward: bool) -> list[tuple[Any, bool]]:
    """ORDER BY of a keyset page of a column sort (reversed to walk back), the id last."""
    keys = KEYSET_SORTS.get(sort, KEYSET_SORTS[DEFAULT_SORT])
    return [*((c, a == forward) for c, a in keys), (Ticket.id, not forward)]


_DUE_EXTRA = [DUE_KEY.as_alias("due_key")]
_RANK_EXTRA = [Ticket.priority_rank]
# Compiled once per page length (``db.prepared``): a page's rows, with the key it is sorted by.
_ROWS_BY_DUE = PreparedIn(
    lambda ids: Ticket.select(*_LIST_COLUMNS, *_DUE_EXTRA).where(Ticket.id.is_in(ids))
)
_ROWS_BY_ID = PreparedIn(
    lambda ids: Ticket.select(*_LIST_COLUMNS, *_RANK_EXTRA).where(Ticket.id.is_in(ids))
)


async def _rows_by_id(ids: list[int], extra: list[Any]) -> list[dict[str, Any]]:
    """The list's rows with their names, in the order of ``ids``.

    On PostgreSQL a page's tickets are chosen first (ids only), then joined to their names:
    the access branches (an OR of five) beside five joins cost 5-9 ms of planning at every
    execution, the statement never settling on a generic plan, for 0.3-1 ms of work. Apart,
    each plans in well under a millisecond. SQLite plans either in microseconds: one query."""
    if not ids:
        return []
    read = _ROWS_BY_DUE if extra is _DUE_EXTRA else _ROWS_BY_ID
    rows = await read.rows(ids)
    by_id = {row["id"]: row for row in rows}
    return [by_id[ticket_id] for ticket_id in ids if ticket_id in by_id]


async def _capped_count(branches: list[list[Any]], cap: int) -> int:
    """The tickets matching any of ``branches`` (disjoint), counted up to ``cap + 1``: each
    branch counts what is left of the cap, and the count stops once it is passed."""
    found = 0
    for clauses in branches:
        # Counted in SQL: returning up to a thousand ids as rows cost more than walking them.
        capped = Ticket.select(Ticket.id).where(*clauses).limit(cap + 1 - found).querystrings[0]
        found += (await Ticket.raw("SELECT COUNT(*) AS n FROM ({}) AS capped", capped))[0]["n"]
        if found > cap:
            break
    return found


async def _keyset_page(
    f: TicketFilters,
    clauses: list[Any],
    counted: bool = True,
    counted_in: list[list[Any]] | None = None,
) -> TicketPage:
    """One page by keyset: the rows after (or before) the cursor, never a deep OFFSET, so
    the last page of a million tickets costs what the first does. The total is counted up
    to COUNT_AHEAD matches (beyond it the page says "1,000+"). An old ``page=N`` link is
    served up to MAX_OLD_PAGE (deeper ones show that page): its Next and Previous links
    then go on by cursor. ``counted_in``: the same tickets as ``clauses`` as disjoint
    branches, counted one after the other (see ``access_branches``)."""
    forward = not f.before
    cursor = f.after or f.before
    old_page = 1 if cursor else min(f.page, MAX_OLD_PAGE)
    skipped = (old_page - 1) * f.per_page
    cap = skipped + COUNT_AHEAD  # what comes before an old page's rows, then the count ahead
    found = await _capped_count(counted_in or [clauses], cap) if counted else 0
    more = found > cap
    total = min(found, cap)
    sort = f.sort if f.sort in CURSOR_SORTS else DEFAULT_SORT
    extra = _DUE_EXTRA if sort == "due" else _RANK_EXTRA
    names_apart = Ticket._meta.db.engine_type == "postgres"  # see _rows_by_id
    chosen = [Ticket.id] if names_apart else [*_LIST_COLUMNS, *extra]
    if sort == "due":
        rows = await _due_rows(f, clauses, chosen, forward, skipped + f.per_page + 1)
        rows = rows[skipped:]
    else:
        query = Ticket.select(*chosen).where(*clauses)
        if cursor:
            query = query.where(_keyset_clause(sort, cursor, forward))
        for column, ascending in _sort_order(sort, forward):
            query = query.order_by(column, ascending=ascending)
        if skipped:
            query = query.offset(skipped)
        rows = await query.limit(f.per_page + 1)
    if names_apart:
        rows = await _rows_by_id([row["id"] for row in rows], extra)
    beyond = len(rows) > f.per_page
    rows = rows[: f.per_page]
    if not forward:
        rows.reverse()
    await attach_sla(rows)
    await catalogue.localise_rows(rows, i18n.get_locale())
    page = TicketPage(rows=rows, total=total, page=1, per_page=f.per_page, more=more)
    page.keyset = True
    if rows:
        # Going forward, a page came before unless this is the first; going back, the page
        # we came from comes after.
        has_next = beyond if forward else True
        has_previous = (bool(f.after) or old_page > 1) if forward else beyond
        page.next_cursor = list_cursor(sort, rows[-1]) if has_next else ""
        page.previous_cursor = list_cursor(sort, rows[0]) if has_previous else ""
    return page
