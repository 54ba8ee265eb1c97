"""SQLite: the search windows learn who may see each row, so a requester's search reads only
the matches they may see.

A requester sees their own tickets, their establishment's shared ones and those shared with
them by name: 7 % of the newest tickets in the benchmark's million. Their search read the
window's 7,000 newest matches of "imprimante" to keep the 500 they may see, checking each one
against the ticket (4.5 ms). Each row of a window now carries two words naming who sees it,
in a column of its own (``access``), and the search adds them to its FTS5 query, which walks
only the rows holding one of them: 2.7 ms.

The words, from the view ``ticket_access_words``: ``r<account>``, the requester (``r0`` for
none), and ``s<establishment>`` when the ticket is shared with its establishment (``s0``
when not). Always two: ``bm25()`` counts every column in a row's length, and rows of the same
text must keep the same score whoever sees them. Tickets shared with a person by name are
not among the words (a ticket may have any number of them): a viewer with such shares
searches without the words. The words only narrow: the access policy's where-clause is
still applied to every row, so a stale word could hide a ticket, never show one. Triggers
keep them in the transaction of every change: a ticket given another requester or
establishment, shared or not, a follow-up added, edited or moved to another ticket.

FTS5 cannot add a column: both windows are made anew and filled again.
"""

# ruff: noqa: S608 - the SQL is built from constants only (table and column names).
import importlib.util
from pathlib import Path

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-28T05:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "SQLite: who may see each row, as words of the search windows"

_FTS = "tokenize = 'unicode61 remove_diacritics 2'"
# table -> (indexed columns, the text guichet_stems stems, the ticket of a row)
WINDOWED = {
    "ticket": (["title", "description"], "{p}title || ' ' || {p}description", "{p}id"),
    "follow_up": (["text"], "{p}text", "{p}ticket"),
}
ACCESS_COLUMNS = ("requester", "establishment", "shared")

ACCESS_WORDS_VIEW = """CREATE VIEW ticket_access_words (id, words) AS
    SELECT id, 'r' || coalesce(requester, 0)
        || ' s' || CASE WHEN shared THEN coalesce(establishment, 0) ELSE 0 END
    FROM ticket"""


def _words(ticket: str) -> str:
    return f"(SELECT words FROM ticket_access_words WHERE id = {ticket})"


def _refresh_words(ticket: str) -> str:
    """Statements giving the window rows of a ticket (and of its follow-ups) its words anew."""
    return (
        f"UPDATE ticket_fts_recent SET access = {_words(ticket)} WHERE rowid = {ticket};\n"
        f"UPDATE follow_up_fts_recent SET access = {_words(ticket)} "
        f"WHERE rowid IN (SELECT id FROM follow_up WHERE ticket = {ticket});"
    )


def window_statements(table: str) -> list[str]:
    columns, text, ticket = WINDOWED[table]
    win = f"{table}_fts_recent"
    cols = ", ".join([*columns, "stems", "access"])
    new = ", ".join(
        [
            *(f"new.{c}" for c in columns),
            f"guichet_stems({text.format(p='new.')}, NULL)",
            _words(ticket.format(p="new.")),
        ]
    )
    oldest = f"(SELECT rowid FROM {win} ORDER BY rowid LIMIT 1)"
    # A follow-up moved to another ticket takes that ticket's words.
    update_of = ", ".join([*columns, "ticket"] if table == "follow_up" else columns)
    return [
        f"CREATE VIRTUAL TABLE {win} USING fts5({cols}, {_FTS})",
        # An empty window takes only the newest row: older ones may be missing from it.
        f"""CREATE TRIGGER {win}_insert AFTER INSERT ON {table} BEGIN
              INSERT INTO {win}(rowid, {cols}) SELECT new.id, {new}
                WHERE new.id > coalesce({oldest}, (SELECT max(id) FROM {table}) - 1);
              DELETE FROM {win} WHERE rowid <= new.id - (SELECT size FROM search_window);
            END""",
        f"""CREATE TRIGGER {win}_update AFTER UPDATE OF {update_of} ON {table}
            WHEN EXISTS (SELECT 1 FROM {win} WHERE rowid = old.id) BEGIN
              DELETE FROM {win} WHERE rowid = old.id;
              INSERT INTO {win}(rowid, {cols}) VALUES (new.id, {new});
            END""",
        f"""CREATE TRIGGER {win}_delete AFTER DELETE ON {table} BEGIN
              DELETE FROM {win} WHERE rowid = old.id;
            END""",
        fill_statement(table),
    ]


def fill_statement(table: str) -> str:
    """Index the rows of the window's ids (the last ``size`` ids) into an empty window."""
    columns, text, ticket = WINDOWED[table]
    cols = ", ".join([*columns, "stems", "access"])
    return (
        f"INSERT INTO {table}_fts_recent(rowid, {cols}) "
        f"SELECT id, {', '.join(columns)}, guichet_stems({text.format(p='')}, NULL), "
        f"{_words(ticket.format(p=f'{table}.'))} FROM {table} "
        f"WHERE id > (SELECT max(id) FROM {table}) - (SELECT size FROM search_window)"
    )


ACCESS_TRIGGER = f"""CREATE TRIGGER search_window_ticket_access
    AFTER UPDATE OF {", ".join(ACCESS_COLUMNS)} ON ticket
    WHEN {" OR ".join(f"old.{c} IS NOT new.{c}" for c in ACCESS_COLUMNS)} BEGIN
      {_refresh_words("new.id")}
    END"""


def drop_windows() -> list[str]:
    return [
        stmt
        for table in WINDOWED
        for stmt in (
            f"DROP TRIGGER IF EXISTS {table}_fts_recent_insert",
            f"DROP TRIGGER IF EXISTS {table}_fts_recent_update",
            f"DROP TRIGGER IF EXISTS {table}_fts_recent_delete",
            f"DROP TABLE IF EXISTS {table}_fts_recent",
        )
    ]


SQLITE_UP = [
    *drop_windows(),
    ACCESS_WORDS_VIEW,
    *(stmt for table in WINDOWED for stmt in window_statements(table)),
    ACCESS_TRIGGER,
]


def _previous_windows() -> list[str]:
    """The windows without their words, as the previous migration made them."""
    path = Path(__file__).with_name("guichet_2026_11_28t02_55_00_000000.py")
    spec = importlib.util.spec_from_file_location("guichet_search_window_v1", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [stmt for table in module.WINDOWED for stmt in module.window_statements(table)]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="guichet", description=DESCRIPTION)

    async def run(statements: list[str]) -> None:
        engine = engine_finder()
        if engine.engine_type == "sqlite":
            for sql in statements:
                await engine.run_ddl(sql)

    async def up():
        await run(SQLITE_UP)

    async def down():
        await run(
            [
                "DROP TRIGGER IF EXISTS search_window_ticket_access",
                *drop_windows(),
                "DROP VIEW IF EXISTS ticket_access_words",
                *_previous_windows(),
            ]
        )

    manager.add_raw(up)
    manager.add_raw_backwards(down)
    return manager
