"""SQLite: the newest tickets and follow-ups indexed a second time, to rank a search cheaply.

FTS5's ``bm25()`` needs, for every word of a search, the number of rows containing it, and
counts them by reading the word's whole list on each search, whatever the LIMIT: 13 ms at a
million tickets for "imprimante urgences" (125,000 and 167,000 tickets), 0.5 ms for finding
the 500 newest matches themselves. A search ranks only its 500 newest matches (``CANDIDATES``
in ``server.db.search``), and a word's rarity among the newest tickets is as good a guide as
among all of them. So each searched table gains a window: an FTS5 table holding the rows of
the last ``search_window.size`` ids (100,000), with its own copy of the text, where those counts
are bounded. The search reads the window first and goes on in the full index, below the
window, only while it has found fewer than 500 visible matches.

Kept in the transaction of every change by triggers, like the full index:
- a new row enters the window and the rows ``size`` ids behind it leave;
- a row imported with an id older than the window stays out of it (the window must hold
  every row from its oldest id on, or the search would skip one);
- an edited row is indexed again if it is in the window; a deleted row leaves it.

``guichet reindex-search`` fills the windows anew. PostgreSQL ranks with ``ts_rank``, which
reads only the rows it ranks: nothing to do there.
"""

# ruff: noqa: S608 - the SQL is built from constants only (table names, the window's size).
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-28T02:55:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "SQLite: a window of the newest rows of the search indexes, for ranking"

WINDOW_SIZE = 100_000
_FTS = "tokenize = 'unicode61 remove_diacritics 2'"
# table -> (indexed columns, the text guichet_stems stems)
WINDOWED = {
    "ticket": (["title", "description"], "{p}title || ' ' || {p}description"),
    "follow_up": (["text"], "{p}text"),
}


def window_statements(table: str) -> list[str]:
    columns, text = WINDOWED[table]
    win = f"{table}_fts_recent"
    cols = ", ".join([*columns, "stems"])
    new = ", ".join(
        [*(f"new.{c}" for c in columns), f"guichet_stems({text.format(p='new.')}, NULL)"]
    )
    oldest = f"(SELECT rowid FROM {win} ORDER BY rowid LIMIT 1)"
    return [
        f"CREATE VIRTUAL TABLE {win} USING fts5({cols}, {_FTS})",
        # An empty window takes only the newest row: older ones may be missing from it.
        f"""CREATE TRIGGER {win}_insert AFTER INSERT ON {table} BEGIN
              INSERT INTO {win}(rowid, {cols}) SELECT new.id, {new}
                WHERE new.id > coalesce({oldest}, (SELECT max(id) FROM {table}) - 1);
              DELETE FROM {win} WHERE rowid <= new.id - (SELECT size FROM search_window);
            END""",
        f"""CREATE TRIGGER {win}_update AFTER UPDATE OF {", ".join(columns)} ON {table}
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
    columns, text = WINDOWED[table]
    cols = ", ".join([*columns, "stems"])
    return (
        f"INSERT INTO {table}_fts_recent(rowid, {cols}) "
        f"SELECT id, {', '.join(columns)}, guichet_stems({text.format(p='')}, NULL) "
        f"FROM {table} WHERE id > (SELECT max(id) FROM {table}) - (SELECT size FROM search_window)"
    )


SQLITE_UP = [
    "CREATE TABLE search_window (size INTEGER NOT NULL CHECK (size > 0))",
    f"INSERT INTO search_window (size) VALUES ({WINDOW_SIZE})",
    *(stmt for table in WINDOWED for stmt in window_statements(table)),
]
SQLITE_DOWN = [
    *(
        stmt
        for table in WINDOWED
        for stmt in (
            f"DROP TRIGGER IF EXISTS {table}_fts_recent_insert",
            f"DROP TRIGGER IF EXISTS {table}_fts_recent_update",
            f"DROP TRIGGER IF EXISTS {table}_fts_recent_delete",
            f"DROP TABLE IF EXISTS {table}_fts_recent",
        )
    ),
    "DROP TABLE IF EXISTS search_window",
]


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
        await run(SQLITE_DOWN)

    manager.add_raw(up)
    manager.add_raw_backwards(down)
    return manager
