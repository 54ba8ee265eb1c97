"""PostgreSQL: the search window's rows carry what the access rule and the filters read.

A technician's search read its words' matches in the window (``ticket_recent_search``, see
the migration "a window of the newest tickets' search vectors"), then each match's ticket
row by key until 500 passed the access rule and the filters: 948 lookups for "imprimante
urgences" at a million tickets, 2 ms of the statement's 6.5. Here the window's rows carry
the ticket's columns those clauses test (requester, establishment, shared, group, assignee,
status, category, creation time), so the matches are tested where they are read and no
ticket row is looked up (``server.db.search._pg_window_walk``).

The triggers keep them in the transaction of every change, as they keep the vector: a new
ticket enters with them, and a change of any of them (a move, an assignment, a transfer) is
copied to the ticket's row in the window. Room is left in its pages so that such an update
stays on its page (no new GIN entry: only the vector is indexed).
"""

# ruff: noqa: S608 - the SQL is built from constants only (column names).
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-28T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "PostgreSQL: the search window carries the access and filter columns"

COPIED = (
    "requester",
    "establishment",
    "shared",
    "assigned_group",
    "assignee",
    "status",
    "category",
    "created_at",
)
_NEW = ", ".join(f"NEW.{c}" for c in COPIED)
_SET = ", ".join(f"{c} = NEW.{c}" for c in COPIED)
_CHANGED = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in ("search", *COPIED))

POSTGRES_UP = [
    # Filled anew rather than updated in place: an update of every row would leave the
    # table and its index twice their size until a vacuum, and slower to read.
    "DROP INDEX ticket_recent_search_idx",
    "TRUNCATE ticket_recent_search",
    "ALTER TABLE ticket_recent_search ADD COLUMN requester integer, "
    "ADD COLUMN establishment integer, ADD COLUMN shared boolean NOT NULL DEFAULT true, "
    "ADD COLUMN assigned_group integer, ADD COLUMN assignee integer, "
    "ADD COLUMN status varchar(20) NOT NULL DEFAULT 'new', ADD COLUMN category integer, "
    "ADD COLUMN created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP",
    "ALTER TABLE ticket_recent_search SET (fillfactor = 85)",
    f"INSERT INTO ticket_recent_search (id, search, {', '.join(COPIED)}) "
    f"SELECT id, search, {', '.join(COPIED)} FROM ticket WHERE search IS NOT NULL "
    "AND id > (SELECT max(id) FROM ticket) - (SELECT size FROM search_window)",
    "CREATE INDEX ticket_recent_search_idx ON ticket_recent_search USING GIN (search)",
    f"""CREATE OR REPLACE FUNCTION ticket_recent_search_insert() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          -- An empty window takes only the newest ticket: older ones may be missing from it.
          IF NEW.id > coalesce((SELECT min(id) FROM ticket_recent_search),
                               (SELECT max(id) FROM ticket) - 1) THEN
            INSERT INTO ticket_recent_search (id, search, {", ".join(COPIED)})
            VALUES (NEW.id, NEW.search, {_NEW});
          END IF;
          RETURN NULL;
        END $$""",
    f"""CREATE OR REPLACE FUNCTION ticket_recent_search_update() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          UPDATE ticket_recent_search SET search = NEW.search, {_SET} WHERE id = NEW.id;
          RETURN NULL;
        END $$""",
    "DROP TRIGGER ticket_recent_search_update ON ticket",
    f"""CREATE TRIGGER ticket_recent_search_update AFTER UPDATE ON ticket FOR EACH ROW
        WHEN ({_CHANGED}) EXECUTE FUNCTION ticket_recent_search_update()""",
    "ANALYZE ticket_recent_search",
]
POSTGRES_DOWN = [
    "DROP TRIGGER ticket_recent_search_update ON ticket",
    """CREATE OR REPLACE FUNCTION ticket_recent_search_update() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          UPDATE ticket_recent_search SET search = NEW.search WHERE id = NEW.id;
          RETURN NULL;
        END $$""",
    """CREATE TRIGGER ticket_recent_search_update AFTER UPDATE ON ticket FOR EACH ROW
        WHEN (OLD.search IS DISTINCT FROM NEW.search)
        EXECUTE FUNCTION ticket_recent_search_update()""",
    """CREATE OR REPLACE FUNCTION ticket_recent_search_insert() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.id > coalesce((SELECT min(id) FROM ticket_recent_search),
                               (SELECT max(id) FROM ticket) - 1) THEN
            INSERT INTO ticket_recent_search (id, search) VALUES (NEW.id, NEW.search);
          END IF;
          RETURN NULL;
        END $$""",
    "ALTER TABLE ticket_recent_search RESET (fillfactor)",
    "ALTER TABLE ticket_recent_search " + ", ".join(f"DROP COLUMN {c}" for c in COPIED),
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
