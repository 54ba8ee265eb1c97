"""PostgreSQL: the newest tickets' search vectors in a table of their own, for staff searches.

A technician's search for a common pair of words ("imprimante urgences") walked every
ticket back from the newest, testing each one's access and text, until it had its 500 newest
matches: 24,800 rows read at a million tickets (12-13 ms). Reading the words' matches from
the GIN index instead reads their whole lists, which grow with the table (12-17 ms). Here the
vectors of the last ``search_window.size`` ids (100,000, as SQLite's window, see the migration
"a window of the newest rows of the search indexes") have a table and a GIN index of their
own: the words' lists there are bounded, and the walk below the window is taken only while
fewer than 500 visible matches were found in it (``server.db.search._pg_window_walk``).

Kept in the transaction of every change by triggers, as SQLite's window: a new ticket enters;
a ticket imported with an older id stays out (the window must hold every ticket from its
oldest id on); a ticket whose vector changes (an edit, ``guichet reindex-search``) is updated
there; a deleted ticket leaves (a foreign key). The tickets ``size`` ids behind the newest
leave at each scheduler pass (``server.db.search.trim_window``), not with each new ticket as
on SQLite: every creation would delete the same oldest row, and concurrent creations would
wait on each other's row lock until their commits.
"""

# ruff: noqa: S608 - the SQL is built from constants only (table names, the window's size).
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-28T03:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "PostgreSQL: a window of the newest tickets' search vectors"

WINDOW_SIZE = 100_000

POSTGRES_UP = [
    "CREATE TABLE search_window (size integer NOT NULL CHECK (size > 0))",
    f"INSERT INTO search_window (size) VALUES ({WINDOW_SIZE})",
    # A deleted (or truncated) ticket leaves the window with it.
    "CREATE TABLE ticket_recent_search (id integer PRIMARY KEY "
    "REFERENCES ticket (id) ON DELETE CASCADE, search tsvector NOT NULL)",
    """CREATE FUNCTION ticket_recent_search_insert() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          -- An empty window takes only the newest ticket: older ones may be missing from it.
          IF NEW.id > coalesce((SELECT min(id) FROM ticket_recent_search),
                               (SELECT max(id) FROM ticket) - 1) THEN
            INSERT INTO ticket_recent_search (id, search) VALUES (NEW.id, NEW.search);
          END IF;
          RETURN NULL;
        END $$""",
    """CREATE TRIGGER ticket_recent_search_insert AFTER INSERT ON ticket
        FOR EACH ROW EXECUTE FUNCTION ticket_recent_search_insert()""",
    """CREATE FUNCTION ticket_recent_search_update() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          UPDATE ticket_recent_search SET search = NEW.search WHERE id = NEW.id;
          RETURN NULL;
        END $$""",
    """CREATE TRIGGER ticket_recent_search_update AFTER UPDATE ON ticket FOR EACH ROW
        WHEN (OLD.search IS DISTINCT FROM NEW.search)
        EXECUTE FUNCTION ticket_recent_search_update()""",
    "INSERT INTO ticket_recent_search (id, search) SELECT id, search FROM ticket "
    "WHERE search IS NOT NULL AND id > (SELECT max(id) FROM ticket) - "
    "(SELECT size FROM search_window)",
    "CREATE INDEX ticket_recent_search_idx ON ticket_recent_search USING GIN (search)",
    "ANALYZE ticket_recent_search",
]
POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS ticket_recent_search_insert ON ticket",
    "DROP TRIGGER IF EXISTS ticket_recent_search_update ON ticket",
    "DROP FUNCTION IF EXISTS ticket_recent_search_insert()",
    "DROP FUNCTION IF EXISTS ticket_recent_search_update()",
    "DROP TABLE IF EXISTS ticket_recent_search",
    "DROP TABLE IF EXISTS search_window",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="guichet", description=DESCRIPTION)

    async def run(statements: list[str]) -> None:
        engine = engine_finder()
        if engine.engine_type == "postgres":
            for sql in statements:
                await engine.run_ddl(sql)

    async def up():
        await run(POSTGRES_UP)

    async def down():
        await run(POSTGRES_DOWN)

    manager.add_raw(up)
    manager.add_raw_backwards(down)
    return manager
