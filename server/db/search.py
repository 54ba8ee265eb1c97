"""Full-text search over tickets (number, title, description, follow-ups, and for staff the
requester's name) and articles.

One SQL shape per engine, the same behaviour: SQLite queries the FTS5 tables (bm25 ranking,
``snippet``/``highlight``), PostgreSQL the ``search`` tsvector columns (``ts_rank``,
``ts_headline``); see the migrations "full text search" and "... by word stems on SQLite".
Both match word forms: PostgreSQL through its French, English and Russian stemmers, SQLite
through a ``stems`` column filled with the same Snowball stemmers (``server.domain.stems``).

Ticket results are always filtered by ``queries.visible_to(actor)`` (the access policy's
where-clause, embedded as it is), and a follow-up counts as a match only where the viewer may
see it (``can_see_private_notes``).
Highlights come back with sentinel characters around matches; ``highlight_html`` escapes the
text and turns only those into ``<mark>``.
"""

# ruff: noqa: S608 - SQL is assembled from constants; every typed value is a bound parameter.
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from piccolo.querystring import QueryString

from server.db.engine import write_transaction
from server.db.queries import OPEN_STATUSES, AccessWords, access_words, visible_to
from server.db.tables import Ticket
from server.domain.actors import Actor
from server.domain.knowledge import (
    highlight_html,
    plain_excerpt,
    search_terms,
    suggestion_terms,
    ticket_number,
    tsquery_text,
)
from server.domain.permissions import Visibility, can_see_private_notes, visibility
from server.domain.stems import fold, fts5_highlight_query, fts5_query
from server.domain.vocabulary import Status

KINDS = ("all", "tickets", "articles")
CANDIDATES = 500  # per source (tickets, follow-ups): the most recent matches get ranked
_SEL = "char(2), char(3)"  # sentinels around matches (server.domain.knowledge.MARK_*)
_PG_OPTS = "'StartSel=' || chr(2) || ', StopSel=' || chr(3)"
_MARKDOWN_MARKS = re.compile(r"[*`#|]+")


@dataclass(frozen=True, slots=True)
class SearchFilters:
    text: str = ""
    kind: str = "all"
    statuses: tuple[Status, ...] = ()
    open_only: bool = False
    establishment_id: int | None = None
    category_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1
    per_page: int = 20
    any_word: bool = False  # suggestions: rank documents matching any of the words
    follow_ups: bool = True  # suggestions match similar requests by their own text only


@dataclass(slots=True)
class Results:
    rows: list[dict[str, Any]]
    total: int
    page: int
    per_page: int
    capped: bool = False  # more matches than CANDIDATES: the most recent ones were ranked
    pages: int = field(init=False)

    def __post_init__(self) -> None:
        self.pages = max(1, -(-self.total // self.per_page))


def _is_pg() -> bool:
    return Ticket._meta.db.engine_type == "postgres"


def _and(parts: list[QueryString]) -> QueryString:
    if not parts:
        return QueryString("1 = 1")
    return QueryString(" AND ".join("({})" for _ in parts), *parts)


def _in_list(values: list[int]) -> QueryString:
    return QueryString(", ".join("{}" for _ in values), *values)


def _ticket_clauses(actor: Actor, f: SearchFilters) -> QueryString:
    """Access policy first, then the filters; all Piccolo where-clauses over ``ticket``."""
    clauses: list[Any] = [visible_to(actor)]
    if f.statuses:
        clauses.append(Ticket.status.is_in([s.value for s in f.statuses]))
    elif f.open_only:
        clauses.append(Ticket.status.is_in(OPEN_STATUSES))
    if f.establishment_id:
        clauses.append(Ticket.establishment == f.establishment_id)
    if f.category_id:
        clauses.append(Ticket.category == f.category_id)
    if f.date_from:
        clauses.append(Ticket.created_at >= datetime.combine(f.date_from, time(), UTC))
    if f.date_to:
        end = datetime.combine(f.date_to + timedelta(days=1), time(), UTC)
        clauses.append(Ticket.created_at < end)
    return _and([c.querystring for c in clauses])


def _terms(f: SearchFilters) -> list[str]:
    return suggestion_terms(f.text) if f.any_word else search_terms(f.text)


def _pg_query(terms: list[str], any_word: bool = False) -> QueryString:
    text = tsquery_text(terms, any_word)
    return QueryString(
        "(to_tsquery('guichet_fr', {}) || to_tsquery('guichet_en', {}) "
        "|| to_tsquery('guichet_ru', {}))",
        text,
        text,
        text,
    )


def _once(q: QueryString) -> QueryString:
    """``q`` computed once per statement (an InitPlan). asyncpg prepares each statement, and
    after five runs PostgreSQL may keep a generic plan, where to_tsquery of a parameter is
    parsed again for every row: 46 ms of the probe's 2,000 rows at 10 k tickets, 2 ms so.
    Only where no index is to be chosen by the query's words (a walk, ranks, headlines)."""
    return QueryString("(SELECT {})", q)


# PostgreSQL plans "the newest N matches" either by walking the primary key backwards and
# testing each row (fast when many rows match) or by reading every match from the GIN index
# and sorting (fast when few do). Its guess between the two is poor for words it has no
# statistics for (a rare word was estimated at 1.4 % of rows, and walking a million rows
# took a second; a common pair at 0.1 % and reading its 22,000 matches took 180 ms), so
# Guichet decides: it counts visible matches among the newest PROBE rows. Walking back
# costs about CANDIDATES / density rows at ~0.5 us, reading from the index density x rows at
# ~7 us (measured at 1M tickets): they meet at a density of sqrt(CANDIDATES / 14 / rows),
# 0.6 % at a million rows, 1.9 % at 100,000.
PROBE = 2000


def _ticket_of_follow_up(where: QueryString) -> QueryString:
    """``where`` for the ticket of each follow-up, as a subquery run per follow-up (a key
    lookup). Joined, PostgreSQL hashes the follow-ups against a scan of every visible ticket:
    the probe of 2,000 follow-ups took 18 ms for a requester at 100 k tickets (2.3 ms so),
    and a walk back would not stop early."""
    return QueryString("(SELECT {} FROM ticket WHERE ticket.id = follow_up.ticket)", where)


_LANGUAGES = ("guichet_fr", "guichet_en", "guichet_ru")


def _pg_match_query(texts: list[str]) -> QueryString:
    """``_pg_query`` as the tsqueries each language made of it (their text), each once and
    as one typed value: a word no stemmer changes gives the same query in two or three
    languages, and testing it again costs as much as the first time on every row a walk
    reads; and a value is never parsed again per row, whatever plan the server keeps for
    the statement. Matching is the same (an OR of equal parts; an empty one matches
    nothing); ranking keeps ``_pg_query``, whose shape ts_rank looks at."""
    distinct = [text for text in dict.fromkeys(texts) if text]
    return QueryString("{}::tsquery", " | ".join(f"( {text} )" for text in distinct))


@dataclass(frozen=True, slots=True)
class _Probe:
    dense_tickets: bool  # walk the newest tickets back (else read the GIN index)
    dense_notes: bool  # the same for follow-ups
    match: QueryString  # the query to match with (``_pg_match_query``)
    requesters: list[int] | None  # staff: accounts whose name the words start
    dense_share: float  # the share of matching rows from which walking back is cheaper


def _pg_names(terms: list[str]) -> QueryString:
    return QueryString(
        "ARRAY(SELECT account.id FROM account WHERE to_tsvector('guichet_names'::regconfig, "
        "account.full_name) @@ to_tsquery('guichet_names', {}))",
        " & ".join(f"'{t}':*" for t in terms),
    )


async def _pg_probe(
    q: QueryString,
    where: QueryString,
    public_only: str,
    text: str,
    names: QueryString | None,
    count_tickets: bool = True,
) -> _Probe:
    """Whether the newest rows hold many matches (tickets, follow-ups): see PROBE; the query
    to match with; and for staff the accounts named by the words, all in one statement.
    The accounts are read before their tickets: as a subquery of the tickets' statement,
    a generic plan (kept after five runs) guessed many names and walked every ticket back
    from the newest, testing each one's requester (0.8 s at 1 M when no name matched)."""
    languages = ", ".join(
        f"to_tsquery('{language}', {{}})::text AS {language}" for language in _LANGUAGES
    )
    # Staff searches start in the window, which judges the words by itself: their newest
    # tickets are not counted (half of this statement's time).
    tickets = (
        QueryString(
            f"(SELECT count(*) FROM (SELECT * FROM ticket ORDER BY id DESC LIMIT {PROBE}) "
            "AS ticket WHERE ticket.search @@ {} AND {})",
            _once(q),
            where,
        )
        if count_tickets
        else QueryString("0")
    )
    rows = await Ticket.raw(
        "SELECT {} AS tickets, "
        f"(SELECT count(*) FROM (SELECT * FROM follow_up ORDER BY id DESC LIMIT {PROBE}) "
        f"AS follow_up WHERE follow_up.search @@ {{}} AND {{}}{public_only}) AS notes, "
        "(SELECT reltuples FROM pg_class WHERE oid = 'ticket'::regclass) AS ticket_rows, "
        "(SELECT reltuples FROM pg_class WHERE oid = 'follow_up'::regclass) AS note_rows, "
        f"{languages}, {{}} AS requesters",
        tickets,
        _once(q),
        _ticket_of_follow_up(where),
        *[text for _ in _LANGUAGES],
        names if names is not None else QueryString("NULL::int[]"),
    )
    found = rows[0]

    def dense_share(table_rows: float) -> float:
        if table_rows < 10 * PROBE:  # small (or never analysed): reading matches is cheap
            return 2.0  # more than every row: never dense
        return (CANDIDATES / 14 / table_rows) ** 0.5

    def dense(matches: int, table_rows: float) -> bool:
        return matches / PROBE >= dense_share(table_rows)

    requesters = found["requesters"]
    return _Probe(
        dense(found["tickets"], found["ticket_rows"]),
        dense(found["notes"], found["note_rows"]),
        _pg_match_query([found[language] for language in _LANGUAGES]),
        None if requesters is None else sorted(requesters),
        dense_share(found["ticket_rows"]),
    )


# PROBE and CANDIDATES are written into the statements, not passed as values: a generic
# plan (kept by PostgreSQL after five runs of a prepared statement) must know that only
# CANDIDATES rows are wanted, or it reads and sorts every match (over a second at 1 M).


def _pg_newest_matches(
    columns: str,
    tables: str,
    vector: str,
    q: QueryString,
    where: QueryString,
    dense: bool,
    cheap_where_first: bool = False,
) -> QueryString:
    """The CANDIDATES newest rows whose ``vector`` matches ``q`` and ``where`` (``columns``
    names the ordering column ``newest``)."""
    if dense:
        # ts_match_vq is what @@ runs, called as a function: no index can serve it and the
        # planner assumes it is often true, so it walks the key backwards and stops early.
        # Over ticket columns the access rule and filters cost less than the text match and
        # drop most rows for a requester: CASE has them tested first (the planner orders
        # ANDed conditions by its own cost guess, which puts ts_match_vq first).
        test = (
            f"CASE WHEN {{}} THEN ts_match_vq({vector}, {{}}) END"
            if cheap_where_first
            else f"{{}} AND ts_match_vq({vector}, {{}})"
        )
        return QueryString(
            f"SELECT {columns} FROM {tables} WHERE {test} ORDER BY newest DESC LIMIT {CANDIDATES}",
            where,
            q,
        )
    # OFFSET 0 keeps the subquery apart: its rows come from the GIN index, then get sorted.
    return QueryString(
        f"SELECT * FROM (SELECT {columns} FROM {tables} WHERE {vector} @@ {{}} AND {{}} "
        f"OFFSET 0) AS m ORDER BY newest DESC LIMIT {CANDIDATES}",
        q,
        where,
    )


def _staff_scope(scope: Visibility) -> bool:
    """A scope of establishments, groups or everything (a requester's is their own tickets,
    their establishment's shared ones, those shared with them)."""
    return (
        scope.everything
        or bool(scope.establishment_ids)
        or bool(scope.group_ids)
        or scope.assignee_id is not None
    )


def _pg_requester_walk(
    scope: Visibility, where: QueryString, q: QueryString, only_establishment: int | None
) -> QueryString | None:
    """The CANDIDATES newest tickets matching ``q`` and ``where`` for a requester, walked
    by the parts of their scope rather than over every ticket (None for staff scopes).

    Walking every ticket back, a requester's walk read 52,700 tickets at a million to find
    500 matches they may see (14 ms): their establishment holds a twelfth of them. Here
    each part is read from its own index, newest first on ``ticket (establishment, id)``
    and ``ticket (requester, id)``, or by ``ticket (requester, establishment)`` for their
    own outside their establishment (see the migrations), and the parts are merged: their
    establishment's tickets, their own elsewhere, those shared with them elsewhere. The
    parts do not overlap and together hold every ticket the requester may see; each row
    is still tested against the whole of ``where`` (the access rule and the filters), so
    a part only chooses which rows are read, never what is shown. A part's walk stops at
    its CANDIDATES newest matches; their union holds the CANDIDATES newest of all.
    Staff scopes are not split: a technician's establishments and groups overlap, and
    each part would walk to its own CANDIDATES matches (several times the single walk).
    ``only_establishment`` (the establishment filter) leaves out the parts it empties: a
    part whose every row the filter drops would read all of them."""
    if _staff_scope(scope):
        return None
    test = "CASE WHEN {} THEN ts_match_vq(ticket.search, {}) END"
    columns = "ticket.id AS ticket_id, ticket.id AS newest, ticket.search"
    parts: list[QueryString] = []
    elsewhere = QueryString("1 = 1")
    home = scope.establishment_id
    if home is not None and only_establishment == home:
        scope = Visibility(establishment_id=home)  # nothing of theirs is elsewhere
    if home is not None and only_establishment in (None, home):
        # ``= ANY`` keeps the establishment in the ordering: with ``=`` PostgreSQL drops it
        # as constant and walks the primary key instead, reading every establishment's rows.
        parts.append(
            QueryString(
                f"SELECT {columns} FROM ticket WHERE ticket.establishment = ANY({{}}::int[]) "
                f"AND {test} ORDER BY ticket.establishment DESC, ticket.id DESC "
                f"LIMIT {CANDIDATES}",
                [scope.establishment_id],
                where,
                q,
            )
        )
    if home is not None:
        elsewhere = QueryString("ticket.establishment IS DISTINCT FROM {}", home)
    if scope.requester_id is not None and home is None:
        parts.append(
            QueryString(
                f"SELECT {columns} FROM ticket WHERE ticket.requester = {{}} "
                f"AND {test} ORDER BY ticket.id DESC LIMIT {CANDIDATES}",
                scope.requester_id,
                where,
                q,
            )
        )
    elif scope.requester_id is not None:
        # Their own tickets outside their establishment are read by ranges of
        # ``ticket (requester, establishment)`` around it, then sorted: few rows, as a rule.
        # Walked back on ``ticket (requester, id)`` (the planner's pick, as it takes the
        # establishment for independent of the requester), every ticket of theirs was read
        # and nearly all dropped: 10,600 at a million for one with a long history. OFFSET 0
        # asks for the rows in no order, which leaves the walk no advantage.
        parts.append(
            QueryString(
                f"SELECT * FROM (SELECT {columns} FROM ticket WHERE ticket.requester = {{}} "
                "AND (ticket.establishment < {} OR ticket.establishment > {} "
                f"OR ticket.establishment IS NULL) AND {test} OFFSET 0) AS own "
                f"ORDER BY newest DESC LIMIT {CANDIDATES}",
                scope.requester_id,
                home,
                home,
                where,
                q,
            )
        )
        elsewhere = QueryString(
            "{} AND ticket.requester IS DISTINCT FROM {}", elsewhere, scope.requester_id
        )
    if scope.shared_with_id is not None:
        parts.append(
            QueryString(
                f"SELECT {columns} FROM ticket WHERE ticket.id IN "
                '(SELECT ticket_share.ticket FROM ticket_share WHERE ticket_share."user" = {}) '
                f"AND {{}} AND {test} ORDER BY ticket.id DESC LIMIT {CANDIDATES}",
                scope.shared_with_id,
                elsewhere,
                where,
                q,
            )
        )
    if not parts:  # an empty scope: nothing to walk
        parts.append(QueryString(f"SELECT {columns} FROM ticket WHERE 1 = 0"))
    merged = QueryString(" UNION ALL ".join("({})" for _ in parts), *parts)
    return QueryString(
        f"SELECT * FROM ({{}}) AS walk ORDER BY newest DESC LIMIT {CANDIDATES}", merged
    )


def _pg_window_walk(where: QueryString, q: QueryString, dense_share: float) -> QueryString:
    """The CANDIDATES newest tickets matching ``q`` and ``where``, found first among the
    newest tickets' vectors (``ticket_recent_search``, see its migration), whose GIN lists
    are bounded, then, only while fewer than CANDIDATES were found there, below the window.
    The window holds every ticket from its oldest id on, and its rows are all newer than
    those below: the newest CANDIDATES of the two are those of all.

    For staff scopes (a requester's walk goes by the parts of their scope): a technician's
    walk back tested 24,800 tickets at a million to find 500 matches for a common pair of
    words, 12-13 ms; the window's lists give its 2,100 matches at once.

    Below the window, a word that matches at least ``dense_share`` of the window's tickets
    is walked back, each ticket tested (it soon finds enough); a rarer one is read from
    the GIN index of every ticket (few rows). The window's hundred thousand tickets judge
    it, not the probe's two thousand newest: after a burst of tickets of one kind (a
    monitoring feed) the probe took "scanner radiologie" (20,899 matches at a million) for
    rare and read its whole list, 40 ms instead of 5."""
    columns = "ticket.id AS ticket_id, ticket.id AS newest, ticket.search"
    # The window's rows carry the columns the access rule and the filters test (see the
    # migration "the search window carries the access and filter columns"): named
    # ``ticket``, they answer ``where`` as the ticket rows would, and no ticket is read.
    # OFFSET 0 keeps the matches apart: they come from the window's GIN index, are tested
    # there, then sorted, newest first. Without it the planner may walk the window back
    # testing every row's vector. Reading each match's ticket by key instead took 2 ms of
    # 6.5 at 1 M (948 lookups); joining them, 3.6 ms.
    # ``below`` is read once (InitPlans): the two ways down are gated by it, and when the
    # window gave enough, no ticket below it is read and its matches are not counted.
    return QueryString(
        "WITH in_window AS MATERIALIZED (SELECT * FROM (SELECT "
        f"{columns} FROM ticket_recent_search AS ticket WHERE ticket.search @@ {{}} "
        f"AND {{}} OFFSET 0) AS recent ORDER BY newest DESC LIMIT {CANDIDATES}), "
        # Counted only when the window gave too few (CASE: a subquery is run when first
        # needed), which spares the common case a second read of the window's lists.
        "below AS MATERIALIZED (SELECT needed, CASE WHEN needed THEN (SELECT count(*) "
        "FROM ticket_recent_search WHERE search @@ {}) >= {}::float8 * "
        "(SELECT size FROM search_window) ELSE false END AS dense, start FROM (SELECT "
        f"(SELECT count(*) FROM in_window) < {CANDIDATES} AS needed, "
        "coalesce((SELECT min(id) FROM ticket_recent_search), 2147483647) AS start) AS b) "
        "SELECT * FROM (SELECT * FROM in_window UNION ALL (SELECT "
        f"{columns} FROM ticket WHERE (SELECT needed AND dense FROM below) "
        "AND ticket.id < (SELECT start FROM below) "
        "AND CASE WHEN {} THEN ts_match_vq(ticket.search, {}) END "
        f"ORDER BY ticket.id DESC LIMIT {CANDIDATES}) "
        "UNION ALL (SELECT * FROM (SELECT "
        f"{columns} FROM ticket WHERE (SELECT needed AND NOT dense FROM below) "
        "AND ticket.search @@ {} AND ticket.id < (SELECT start FROM below) AND {} "
        f"OFFSET 0) AS sparse ORDER BY newest DESC LIMIT {CANDIDATES})) AS walk "
        f"ORDER BY newest DESC LIMIT {CANDIDATES}",
        q,
        where,
        q,
        dense_share,
        where,
        q,
        q,
        where,
    )


# SQLite walks a word's matches newest first and checks each one's ticket against the access
# rule and the filters until it has CANDIDATES: read from this index (every column they use,
# by id; see its migration), a check costs half what reading the ticket's row does. The
# planner would pick the primary key, whose rows are wider.
_TICKET_ACCESS = "ticket INDEXED BY ticket_search_access"


# A ticket whose requester's name holds every word ranks with a middling text match.
REQUESTER_SCORE = 1.0


def _requester_matches(
    terms: list[str], where: QueryString, account_ids: list[int] | None = None
) -> QueryString:
    """Staff find a person's tickets by typing their name ("dupont", "Иванова"): the newest
    CANDIDATES tickets of the accounts whose name has a word starting with each term, case
    and accents aside (an index of names: see the migration "... and of account names").
    Requesters do not: their own and shared tickets are few, and names are not theirs to
    search. PostgreSQL's accounts come read already (``account_ids``, see ``_pg_probe``)."""
    if account_ids is not None:
        names = _in_list(account_ids)
    else:
        names = QueryString(
            "SELECT rowid FROM account_name_fts WHERE account_name_fts MATCH {}",
            " AND ".join(f'"{t}"*' for t in terms),
        )
    return QueryString(
        f"SELECT * FROM (SELECT ticket.id AS ticket_id, {REQUESTER_SCORE} AS score FROM ticket "
        "WHERE ticket.requester IN ({}) AND {} "
        "ORDER BY ticket.id DESC LIMIT {}) AS by_requester",
        names,
        where,
        CANDIDATES,
    )


@dataclass(frozen=True, slots=True)
class _TextSource:
    """A table searched by its text on SQLite: its FTS5 indexes are ``{table}_fts`` (every
    row) and ``{table}_fts_recent`` (its window, which also has an ``access`` column: see
    ``window_match``); ``{fts}`` stands for either below, ``{access}`` for the weight of
    that column (none in the full index)."""

    table: str
    text_columns: str  # the FTS5 columns a user's words are matched in
    ticket_id: str
    score: str
    join: str

    def matches(self, fts: str, below: str, limit: str) -> str:
        """Its newest matches in ``fts``, visible and filtered (two placeholders: the FTS5
        query, the conditions), ``below`` the conditions on the rowid, if any."""
        access = ", 0.0" if fts.endswith("_recent") else ""
        score = self.score.format(fts=fts, access=access)
        return (
            f"SELECT {self.ticket_id} AS ticket_id, {score} AS score "
            f"FROM {fts} {self.join.format(fts=fts)} WHERE {below}{fts} MATCH {{}} AND {{}} "
            f"ORDER BY {fts}.rowid DESC LIMIT {limit}"
        )

    def window_match(self, match: str, terms: list[str], words: AccessWords | None) -> QueryString:
        """``match`` for the window, whose ``access`` column holds two words naming who may
        see each row (see the migration "who may see each row, as words of the search
        windows"). With ``words`` (``queries.access_words``), only rows holding one of them,
        unless the viewer has tickets shared with them by name, which have no word.
        The access column's words are ``r`` or ``s`` and a number: a typed word of that
        shape (accents aside, as FTS5 folds them) is matched in the text columns only.
        Only then: a column filter reads positions, 0.3 ms at a million tickets."""
        if any(_ACCESS_WORD.fullmatch(fold(term)) for term in terms):
            match = f"{{{self.text_columns}}} : ({match})"
        if words is None:
            return QueryString("{}", match)
        quoted = " OR ".join(f'"{word}"' for word in words.words)  # a letter and digits
        narrowed = f"({match}) AND access : ({quoted})"
        if words.unless_shared_with is None:
            return QueryString("{}", narrowed)
        # FTS5 takes its query from any expression: chosen once, before the walk.
        return QueryString(
            'CASE WHEN EXISTS (SELECT 1 FROM ticket_share WHERE ticket_share."user" = {}) '
            "THEN {} ELSE {} END",
            words.unless_shared_with,
            match,
            narrowed,
        )


_ACCESS_WORD = re.compile(r"[rs]\d+")


# bm25 is negative, lower is better: -score keeps "higher is better" on both engines. The
# window's access column weighs nothing.
_TICKET_TEXT = _TextSource(
    "ticket",
    "title description stems",
    "ticket.id",
    "-bm25({fts}, 4.0, 1.0, 1.0{access})",
    f"JOIN {_TICKET_ACCESS} ON ticket.id = {{fts}}.rowid",
)
_FOLLOW_UP_TEXT = _TextSource(
    "follow_up",
    "text stems",
    "follow_up.ticket",
    "-0.5 * bm25({fts}, 1.0, 1.0{access})",
    f"JOIN follow_up ON follow_up.id = {{fts}}.rowid "
    f"JOIN {_TICKET_ACCESS} ON ticket.id = follow_up.ticket",
)


def _sqlite_matches(
    terms: list[str],
    where: QueryString,
    public_only: str,
    f: SearchFilters,
    words: AccessWords | None,
) -> tuple[list[QueryString], list[QueryString]]:
    """The CANDIDATES newest visible tickets matching ``match`` by their text, and by their
    follow-ups' (SQLite's FTS5 branches of ``search_tickets``): common table expressions, and
    the branches that read them.

    Each source is read in its window first: the FTS5 table of its newest rows, where
    ``bm25()`` counts a word's rows among those only (see the migration "a window of the
    newest rows of the search indexes"). Its full index is read below the window only while
    fewer than CANDIDATES visible matches were found there; the words are then as rare as
    their counts over every row say. ``words`` narrow the window's walk to the rows the
    viewer may see through one of them (``queries.access_words``).
    """
    match = fts5_query(terms, f.any_word)
    sources = [(_TICKET_TEXT, where)]
    if f.follow_ups:
        sources.append((_FOLLOW_UP_TEXT, QueryString(f"{{}}{public_only}", where)))
    ctes: list[QueryString] = []
    branches: list[QueryString] = []
    for source, conditions in sources:
        table = source.table
        window, full, found = f"{table}_fts_recent", f"{table}_fts", f"{table}_window"
        ctes.append(
            QueryString(
                f"{found} AS MATERIALIZED ({source.matches(window, '', '{}')})",
                source.window_match(match, terms, words),
                conditions,
                CANDIDATES,
            )
        )
        branches.append(QueryString(f"SELECT * FROM {found}"))
        # The window holds every row from its oldest id on (its triggers see to it). When
        # it gave enough, the full index is not read and its words are not counted.
        below = (
            f"(SELECT count(*) FROM {found}) < {CANDIDATES} AND {full}.rowid < coalesce("
            f"(SELECT rowid FROM {window} ORDER BY rowid LIMIT 1), "
            f"(SELECT max(id) FROM {table}) + 1) AND "
        )
        limit = f"{CANDIDATES} - (SELECT count(*) FROM {found})"
        branches.append(
            QueryString(f"SELECT * FROM ({source.matches(full, below, limit)})", match, conditions)
        )
    return ctes, branches


# No parallel workers for the candidates' statement: when PostgreSQL misjudges a word it
# has no statistics for (20,900 follow-ups guessed, none there), it plans a Gather, and
# starting its workers cost 5-9 ms at a million tickets for 0.1 ms of work (each branch is
# bounded by CANDIDATES anyway). A function PostgreSQL marks PARALLEL UNSAFE anywhere in a
# statement keeps it serial; this one returns NULL (no transaction id) and is dropped.
_PG_SERIAL = ", pg_current_xact_id_if_assigned() AS serial_plan"


async def search_tickets(actor: Actor, f: SearchFilters) -> Results:
    if not _terms(f) and (f.any_word or ticket_number(f.text) is None):
        return Results([], 0, f.page, f.per_page)
    if not _is_pg():
        return await _search_tickets(actor, f)
    # Written for any plan (see _pg_newest_matches): planned once per connection.
    async with Ticket._meta.db.generic_plans():
        return await _search_tickets(actor, f)


async def _search_tickets(actor: Actor, f: SearchFilters) -> Results:
    terms = _terms(f)
    number = None if f.any_word else ticket_number(f.text)
    where = _ticket_clauses(actor, f)
    public_only = "" if can_see_private_notes(actor) else " AND NOT follow_up.private"
    branches: list[QueryString] = []
    ctes: list[QueryString] = []  # SQLite's windows (see _sqlite_matches)
    requesters: list[int] | None = None  # PostgreSQL reads them with its probe
    # Each branch keeps only its CANDIDATES most recent matches, which are then ranked: a
    # broad word on a million tickets costs a bounded amount (see README, Performance).
    if terms and _is_pg():
        q = _pg_query(terms, f.any_word)
        scope = visibility(actor)
        probe = await _pg_probe(
            q,
            where,
            public_only,
            tsquery_text(terms, f.any_word),
            _pg_names(terms) if actor.is_staff and not f.any_word else None,
            count_tickets=not _staff_scope(scope),
        )
        dense_tickets, dense_notes, match = probe.dense_tickets, probe.dense_notes, probe.match
        requesters = probe.requesters
        # A requester's scope is walked by its parts when the words are common (else the
        # GIN index gives their few matches); staff always start in the window, which
        # judges by itself how to go below it.
        walk = (
            _pg_requester_walk(scope, where, match, f.establishment_id) if dense_tickets else None
        )
        if walk is None and _staff_scope(scope):
            walk = _pg_window_walk(where, match, probe.dense_share)
        branches.append(
            QueryString(
                "SELECT ticket_id, ts_rank(search, {}) AS score FROM ({}) AS t",
                _once(q),
                walk
                or _pg_newest_matches(
                    "ticket.id AS ticket_id, ticket.id AS newest, ticket.search",
                    "ticket",
                    "ticket.search",
                    match,
                    where,
                    dense_tickets,
                    cheap_where_first=True,
                ),
            )
        )
        if f.follow_ups:
            # Walking back, each follow-up's ticket is looked up (the walk stops early);
            # reading a word's matches, a join (many rows: hashing them is cheaper).
            tables, ticket_where = (
                ("follow_up", _ticket_of_follow_up(where))
                if dense_notes
                else ("follow_up JOIN ticket ON ticket.id = follow_up.ticket", where)
            )
            branches.append(
                QueryString(
                    "SELECT ticket_id, 0.5 * ts_rank(search, {}) AS score FROM ({}) AS f",
                    _once(q),
                    _pg_newest_matches(
                        "follow_up.ticket AS ticket_id, follow_up.id AS newest, follow_up.search",
                        tables,
                        "follow_up.search",
                        match,
                        QueryString(f"{{}}{public_only}", ticket_where),
                        dense_notes,
                    ),
                )
            )
    elif terms:
        ctes, text_branches = _sqlite_matches(terms, where, public_only, f, access_words(actor))
        branches.extend(text_branches)
    if number is not None:
        branches.append(
            QueryString(
                "SELECT ticket.id AS ticket_id, 1000.0 AS score FROM ticket "
                "WHERE ticket.id = {} AND {}",
                number,
                where,
            )
        )
    if terms and actor.is_staff and not f.any_word and requesters != []:
        branches.append(_requester_matches(terms, where, requesters))
    matched = QueryString(" UNION ALL ".join("{}" for _ in branches), *branches)
    serial = _PG_SERIAL if _is_pg() else ""
    marked = (
        _pg_marks(_once(_pg_query(terms, f.any_word)), public_only, f.follow_ups)
        if terms and _is_pg()
        else QueryString("")
    )
    # Every branch applies the access policy and the filters: the page is chosen from the
    # candidates alone, and only its rows are read from ``ticket`` (by key). Joined before
    # the LIMIT, PostgreSQL hashed the candidates against a scan of every visible ticket.
    sql = QueryString(
        "WITH {}matched AS ({}), best AS (SELECT ticket_id, MAX(score) AS score FROM matched "
        "GROUP BY ticket_id), shown AS (SELECT ticket_id, score, COUNT(*) OVER () AS total "
        "FROM best ORDER BY score DESC, ticket_id DESC LIMIT {} OFFSET {}) "
        "SELECT ticket.id, ticket.title, ticket.description, ticket.status, ticket.priority, "
        "ticket.created_at, ticket.establishment, establishment.code AS establishment_code, "
        f"shown.score, shown.total{{}}{serial} "
        "FROM shown JOIN ticket ON ticket.id = shown.ticket_id "
        "LEFT JOIN establishment ON establishment.id = ticket.establishment "
        "ORDER BY shown.score DESC, ticket.id DESC",
        QueryString("".join("{}, " for _ in ctes), *ctes),
        matched,
        f.per_page,
        (f.page - 1) * f.per_page,
        marked,
    )
    rows = await Ticket.raw("{}", sql)
    for r in rows:
        r.pop("serial_plan", None)
    total = rows[0]["total"] if rows else 0
    if rows:
        await _ticket_highlights(actor, rows, terms, f.follow_ups)
    return Results(rows, total, f.page, f.per_page, capped=total >= CANDIDATES)


def _pg_marks(q: QueryString, public_only: str, follow_ups: bool) -> QueryString:
    """The marked title and excerpt of each shown ticket whose own text matches ``q``, and
    the excerpt of its best matching follow-up, as columns of the page's statement: read
    with the page's rows (by key, for its few tickets), not by three more statements.
    ts_match_vq is @@ as a function, which no index serves: the follow-ups are read by
    their ticket, never from a common word's GIN list."""
    note = (
        QueryString(
            ", (SELECT ts_headline(guichet_text_config(follow_up.text), follow_up.text, {}, "
            f"'MaxFragments=2, MaxWords=20, MinWords=8, ' || {_PG_OPTS}) FROM follow_up "
            "WHERE follow_up.ticket = ticket.id AND ts_match_vq(follow_up.search, {})"
            f"{public_only} ORDER BY ts_rank(follow_up.search, {{}}) DESC, follow_up.id "
            "LIMIT 1) AS note_hl",
            q,
            q,
            q,
        )
        if follow_ups
        else QueryString("")
    )
    return QueryString(
        ", CASE WHEN ts_match_vq(ticket.search, {}) THEN ts_headline(guichet_text_config("
        "ticket.title || ' ' || ticket.description), ticket.title, {}, 'HighlightAll=true, ' "
        f"|| {_PG_OPTS}) END AS title_hl, CASE WHEN ts_match_vq(ticket.search, {{}}) THEN "
        "ts_headline(guichet_text_config(ticket.title || ' ' || ticket.description), "
        "ticket.description, {}, 'MaxFragments=2, MaxWords=20, MinWords=8, ' || "
        f"{_PG_OPTS}) END AS text_hl{{}}",
        q,
        q,
        q,
        q,
        note,
    )


# FTS5 looks ``rowid IN (...)`` up one id at a time, parsing the query and seeking each
# word's list anew for every id (0.1 ms an id at a million tickets, 0.05 ms at 10,000); a
# range is one walk along the lists. Ids closer than RUN_GAP share a range: stepping over
# the matches between them costs less than a lookup. ``+rowid`` keeps only the ids asked
# for, before their marks are made.
RUN_GAP = 256
MAX_RUNS = 64  # a compound SELECT has at most 500 parts


def _fts_rows(select: str, fts: str, match: str, ids: list[int]) -> QueryString:
    """``select`` (over the FTS5 table ``fts``) for the rows ``ids`` that match ``match``."""
    runs: list[list[int]] = []
    for rowid in sorted(set(ids)):
        if runs and rowid - runs[-1][-1] <= RUN_GAP:
            runs[-1].append(rowid)
        else:
            runs.append([rowid])
    if len(runs) > MAX_RUNS:  # scattered (a long ticket's follow-ups): one id at a time
        return QueryString(
            f"{select} WHERE {fts} MATCH {{}} AND rowid IN ({{}})", match, _in_list(ids)
        )
    parts = [
        QueryString(
            f"{select} WHERE {fts} MATCH {{}} AND rowid BETWEEN {{}} AND {{}} AND +rowid IN ({{}})",
            match,
            run[0],
            run[-1],
            _in_list(run),
        )
        for run in runs
    ]
    return QueryString(" UNION ALL ".join("{}" for _ in parts), *parts)


async def _ticket_highlights(
    actor: Actor, rows: list[dict[str, Any]], terms: list[str], follow_ups: bool
) -> None:
    """Each row's marked title and excerpt, from the ticket or from its best matching
    follow-up. PostgreSQL's marks came with the rows (``_pg_marks``); SQLite's are read
    from its full-text tables here."""
    ids = [r["id"] for r in rows]
    titles: dict[int, str] = {}
    texts: dict[int, str] = {}
    notes: dict[int, str] = {}
    public_only = "" if can_see_private_notes(actor) else " AND NOT follow_up.private"
    if terms and _is_pg():
        for r in rows:
            if r["title_hl"] is not None:
                titles[r["id"]], texts[r["id"]] = r["title_hl"], r["text_hl"]
            if r.get("note_hl") is not None:
                notes[r["id"]] = r["note_hl"]
    elif terms:
        shown = [text for r in rows for text in (r["title"], r["description"])]
        # Marks go to these very texts: their words, whole (see ``fts5_highlight_query``).
        found = await Ticket.raw(
            "{}",
            _fts_rows(
                f"SELECT rowid AS id, highlight(ticket_fts, 0, {_SEL}) AS title_hl, "
                f"snippet(ticket_fts, 1, {_SEL}, '…', 24) AS text_hl FROM ticket_fts",
                "ticket_fts",
                fts5_highlight_query(terms, shown, whole_words=True),
                ids,
            ),
        )
        for r in found:
            titles[r["id"]], texts[r["id"]] = r["title_hl"], r["text_hl"]
        if follow_ups:
            # The same for the follow-ups of the shown tickets: their words are read first
            # (a few rows), so that no typed word is a prefix there either, and the match is
            # looked up by their ids (a whole common word's list is long too).
            seen = await Ticket.raw(
                "SELECT follow_up.id, follow_up.ticket, follow_up.text FROM follow_up "
                f"WHERE follow_up.ticket IN ({{}}){public_only}",
                _in_list(ids),
            )
            if seen:
                found = await Ticket.raw(
                    "{}",
                    _fts_rows(
                        "SELECT rowid AS id, "
                        f"snippet(follow_up_fts, 0, {_SEL}, '…', 24) AS text_hl FROM follow_up_fts",
                        "follow_up_fts",
                        fts5_highlight_query(terms, [n["text"] for n in seen], whole_words=True),
                        [n["id"] for n in seen],
                    ),
                )
                ticket_of = {n["id"]: n["ticket"] for n in seen}
                for r in sorted(found, key=lambda r: r["id"]):
                    notes.setdefault(ticket_of[r["id"]], r["text_hl"])
    for r in rows:
        tid = r["id"]
        r["establishment_code"] = r["establishment_code"] or ""
        for column in ("title_hl", "text_hl", "note_hl"):
            r.pop(column, None)
        r["title_html"] = highlight_html(titles.get(tid) or r["title"])
        text = texts.get(tid, "")
        if "\x02" not in text and tid in notes:
            r["text_html"], r["in_follow_up"] = highlight_html(notes[tid]), True
        else:
            r["text_html"] = highlight_html(text or plain_excerpt(r["description"]))
            r["in_follow_up"] = False
        del r["description"]


# --- Articles ------------------------------------------------------------------------------


def article_visibility(
    actor: Actor, reachable: list[int], public_only: bool = False
) -> QueryString:
    """Which articles (alias ``a``) the actor may read: the SQL form of
    ``server.domain.knowledge.can_read_article`` (tested against it)."""
    if actor.is_staff and actor.active and not public_only:
        return QueryString("1 = 1")
    if not actor.active:
        return QueryString("1 = 0")
    restricted = "SELECT 1 FROM kb_article_establishment ae WHERE ae.article = a.id"
    if reachable:
        mine = QueryString(
            f"EXISTS ({restricted} AND ae.establishment IN ({{}}))", _in_list(reachable)
        )
    else:
        mine = QueryString("1 = 0")
    if actor.is_staff:  # public_only for staff: suggestions show what requesters would see
        mine = QueryString("1 = 1")
    return QueryString(
        "a.state = 'published' AND a.visibility = 'public' "
        f"AND (NOT EXISTS ({restricted}) OR {{}})",
        mine,
    )


def _article_filters(f: SearchFilters) -> QueryString:
    parts: list[QueryString] = []
    if f.category_id:
        parts.append(QueryString("a.category = {}", f.category_id))
    if f.date_from:
        parts.append(QueryString("a.updated_at >= {}", datetime.combine(f.date_from, time(), UTC)))
    if f.date_to:
        end = datetime.combine(f.date_to + timedelta(days=1), time(), UTC)
        parts.append(QueryString("a.updated_at < {}", end))
    return _and(parts)


async def search_articles(
    actor: Actor, f: SearchFilters, reachable: list[int], public_only: bool = False
) -> Results:
    terms = _terms(f)
    if not terms:
        return Results([], 0, f.page, f.per_page)
    allowed = article_visibility(actor, reachable, public_only)
    where = _and([allowed, _article_filters(f)])
    columns = (
        "a.id, a.title, a.language, a.visibility, a.state, a.updated_at, "
        "COALESCE(a.translation_of, a.id) AS family"
    )
    if _is_pg():
        q = _pg_query(terms, f.any_word)
        rows = await Ticket.raw(
            f"SELECT {columns}, ts_rank(a.search, {{}}) AS score, "
            f"ts_headline(guichet_language_config(a.language), a.title, {{}}, "
            f"'HighlightAll=true, ' || {_PG_OPTS}) AS title_hl, "
            f"ts_headline(guichet_language_config(a.language), a.body, {{}}, "
            f"'MaxFragments=2, MaxWords=20, MinWords=8, ' || {_PG_OPTS}) AS text_hl, "
            "COUNT(*) OVER () AS total FROM kb_article a WHERE a.search @@ {} AND {} "
            "ORDER BY score DESC, a.id DESC LIMIT {} OFFSET {}",
            q,
            q,
            q,
            q,
            where,
            f.per_page,
            (f.page - 1) * f.per_page,
        )
        total = rows[0]["total"] if rows else 0
    else:
        match = fts5_query(terms, f.any_word)
        rows = await Ticket.raw(
            f"SELECT {columns}, -bm25(kb_article_fts, 4.0, 1.0, 1.0) AS score "
            "FROM kb_article_fts JOIN kb_article a ON a.id = kb_article_fts.rowid "
            "WHERE kb_article_fts MATCH {} AND {} ORDER BY score DESC, a.id DESC "
            "LIMIT {} OFFSET {}",
            match,
            where,
            f.per_page,
            (f.page - 1) * f.per_page,
        )
        counted = await Ticket.raw(
            "SELECT COUNT(*) AS total FROM kb_article_fts JOIN kb_article a "
            "ON a.id = kb_article_fts.rowid WHERE kb_article_fts MATCH {} AND {}",
            match,
            where,
        )
        total = counted[0]["total"]
    if rows and not _is_pg():
        # Marked apart, to mark what was found through a stem too ("imprimantes" marks
        # "imprimante"); the knowledge base is small, stems as prefixes cost little there.
        marked = await Ticket.raw(
            f"SELECT rowid AS id, highlight(kb_article_fts, 0, {_SEL}) AS title_hl, "
            f"snippet(kb_article_fts, 1, {_SEL}, '…', 24) AS text_hl "
            "FROM kb_article_fts WHERE kb_article_fts MATCH {} AND rowid IN ({})",
            fts5_highlight_query(terms),
            _in_list([r["id"] for r in rows]),
        )
        by_id = {m["id"]: m for m in marked}
        for r in rows:
            found = by_id.get(r["id"], {})
            r["title_hl"], r["text_hl"] = found.get("title_hl"), found.get("text_hl")
    for r in rows:
        r["title_html"] = highlight_html(r.pop("title_hl") or r["title"])
        # Snippets cut through the Markdown source: drop its markers, keep the words.
        r["text_html"] = highlight_html(_MARKDOWN_MARKS.sub("", r.pop("text_hl") or ""))
        r.pop("total", None)
    return Results(rows, total, f.page, f.per_page)


async def trim_window() -> int:
    """PostgreSQL: remove from the window of the newest tickets' vectors those more than
    ``search_window.size`` ids behind the newest (a scheduler job; see the migration "a window
    of the newest tickets' search vectors"). The oldest go first: the window still holds
    every ticket from its oldest id on. SQLite's triggers trim its windows as rows come."""
    if not _is_pg():
        return 0
    rows = await Ticket.raw(
        "WITH gone AS (DELETE FROM ticket_recent_search WHERE id <= "
        "(SELECT max(id) FROM ticket) - (SELECT size FROM search_window) RETURNING 1) "
        "SELECT count(*) AS n FROM gone"
    )
    return int(rows[0]["n"])


# What ``guichet_stems`` stems, per FTS5 table: its columns, and the language column if any.
_STEMMED = {
    "ticket": ("title || ' ' || description", "NULL"),
    "follow_up": ("text", "NULL"),
    "kb_article": ("title || ' ' || body", "language"),
}


# SQLite: a window is compacted when its index has more segments than this, a bounded step
# (COMPACT_PAGES pages written) per scheduler pass. Every new row leaves the window's oldest,
# and FTS5 keeps a deletion as a mark in a newer segment until a merge reaches the old one:
# the bench's million tickets, loaded through the window, left it 16 segments and 8,968
# pages for 1,945 of data, and a technician's search statement took 10.5 ms instead of 4.
COMPACT_ABOVE = 8
COMPACT_PAGES = 500


async def compact_windows() -> int:
    """SQLite: one bounded merge step for each window whose index has more than
    COMPACT_ABOVE segments (a scheduler job; about 100 ms of the writer per step at a
    million tickets). Returns how many windows were stepped."""
    if _is_pg():
        return 0
    stepped = 0
    for table in _WINDOWED:
        window = f"{table}_fts_recent"
        rows = await Ticket.raw(f"SELECT count(DISTINCT segid) AS n FROM {window}_idx")
        if rows[0]["n"] > COMPACT_ABOVE:
            async with write_transaction():
                await Ticket.raw(
                    f"INSERT INTO {window}({window}, rank) VALUES ('merge', {{}})", -COMPACT_PAGES
                )
            stepped += 1
    return stepped


# SQLite's windows (see _sqlite_matches): each table's rows, with the ticket whose access
# words they carry.
_WINDOWED = {"ticket": "ticket.id", "follow_up": "follow_up.ticket"}


# PostgreSQL's window of the newest tickets: their vectors and what ``where`` tests.
_WINDOW_COLUMNS = (
    "id, search, requester, establishment, shared, assigned_group, assignee, status, "
    "category, created_at"
)


async def reindex() -> None:
    """Rebuild every full-text index from the rows (``guichet reindex-search``)."""
    db = Ticket._meta.db
    if _is_pg():
        # The BEFORE UPDATE triggers compute the tsvector again.
        for sql in (
            "UPDATE ticket SET title = title",
            "UPDATE follow_up SET text = text",
            "UPDATE kb_article SET title = title",
            # The window of the newest tickets' vectors, anew (its size may have changed).
            "DELETE FROM ticket_recent_search",
            f"INSERT INTO ticket_recent_search ({_WINDOW_COLUMNS}) SELECT {_WINDOW_COLUMNS} "
            "FROM ticket WHERE id > (SELECT max(id) FROM ticket) - "
            "(SELECT size FROM search_window)",
        ):
            await db.run_ddl(sql)
        return
    async with db.transaction():
        for table, (text, language) in _STEMMED.items():
            fts = f"{table}_fts"
            columns = text.replace(" || ' ' || ", ", ")
            # The content view reads stems as empty (see the migration): FTS5's 'rebuild'
            # would drop them, so the rows are indexed again with their stems.
            await db.run_ddl(f"INSERT INTO {fts}({fts}) VALUES ('delete-all')")
            await db.run_ddl(
                f"INSERT INTO {fts}(rowid, {columns}, stems) "
                f"SELECT id, {columns}, guichet_stems({text}, {language}) FROM {table}"
            )
            if table in _WINDOWED:  # its window: the rows of the last ``size`` ids
                await db.run_ddl(f"DELETE FROM {table}_fts_recent")
                await db.run_ddl(
                    f"INSERT INTO {table}_fts_recent(rowid, {columns}, stems, access) "
                    f"SELECT id, {columns}, guichet_stems({text}, {language}), "
                    "(SELECT words FROM ticket_access_words "
                    f"WHERE ticket_access_words.id = {_WINDOWED[table]}) FROM {table} "
                    f"WHERE id > (SELECT max(id) FROM {table}) - (SELECT size FROM search_window)"
                )
        await db.run_ddl("INSERT INTO account_name_fts(account_name_fts) VALUES ('rebuild')")
