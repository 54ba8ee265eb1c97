"""Full-text search by word stems on SQLite, as PostgreSQL already does.

Each FTS5 table gains a ``stems`` column: the Snowball stems of the row's text, in the
article's language or the one guessed for a ticket or follow-up (``guichet_stems``, a Python
function every Guichet SQLite connection carries, see ``server.db.sqlite_functions``). Its
external content is a view that computes the stems, so ``rebuild`` reindexes everything from
the base tables: this migration does so for existing data, and ``guichet reindex-search``
does it again on demand (after a stemmer upgrade, say).

PostgreSQL already stems (tsvector columns, ``guichet_fr/en/ru`` configurations): nothing to do.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T05:17:30:272089"
VERSION = "1.38.0"
DESCRIPTION = "full text search by word stems on SQLite"

_FTS = "tokenize = 'unicode61 remove_diacritics 2'"
# table -> (indexed columns, the language argument of guichet_stems)
_SOURCES = {
    "ticket": (["title", "description"], "NULL"),
    "follow_up": (["text"], "NULL"),
    "kb_article": (["title", "body"], "language"),
}


def _stems(prefix: str, columns: list[str], language: str) -> str:
    text = " || ' ' || ".join(f"{prefix}{c}" for c in columns)
    lang = language if language == "NULL" else f"{prefix}{language}"
    return f"guichet_stems({text}, {lang})"


def _drop(table: str) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {table}_fts_insert",
        f"DROP TRIGGER IF EXISTS {table}_fts_delete",
        f"DROP TRIGGER IF EXISTS {table}_fts_update",
        f"DROP TABLE IF EXISTS {table}_fts",
    ]


def _stemmed_index(table: str) -> list[str]:
    columns, language = _SOURCES[table]
    fts, source = f"{table}_fts", f"{table}_fts_source"
    cols = ", ".join([*columns, "stems"])
    new = ", ".join([*(f"new.{c}" for c in columns), _stems("new.", columns, language)])
    old = ", ".join([*(f"old.{c}" for c in columns), _stems("old.", columns, language)])
    watched = ", ".join(columns if language == "NULL" else [*columns, language])
    return [
        *_drop(table),
        f"DROP VIEW IF EXISTS {source}",
        f"CREATE VIEW {source} AS SELECT id, {', '.join(columns)}, "
        f"{_stems('', columns, language)} AS stems FROM {table}",
        f"CREATE VIRTUAL TABLE {fts} USING fts5({cols}, content='{source}', "
        f"content_rowid='id', {_FTS})",
        f"""CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN
              INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END""",
        f"""CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN
              INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old}); END""",
        f"""CREATE TRIGGER {fts}_update AFTER UPDATE OF {watched} ON {table} BEGIN
              INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old});
              INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END""",
        f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",
    ]


def _plain_index(table: str) -> list[str]:
    """The previous migration's index, for going back."""
    columns, _ = _SOURCES[table]
    fts, cols = f"{table}_fts", ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    return [
        *_drop(table),
        f"DROP VIEW IF EXISTS {table}_fts_source",
        f"CREATE VIRTUAL TABLE {fts} USING fts5({cols}, content='{table}', "
        f"content_rowid='id', {_FTS})",
        f"""CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN
              INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END""",
        f"""CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN
              INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old}); END""",
        f"""CREATE TRIGGER {fts}_update AFTER UPDATE OF {cols} ON {table} BEGIN
              INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old});
              INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END""",
        f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",
    ]


SQLITE_UP = [stmt for table in _SOURCES for stmt in _stemmed_index(table)]
SQLITE_DOWN = [stmt for table in _SOURCES for stmt in _plain_index(table)]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="guichet", description=DESCRIPTION)

    async def up():
        engine = engine_finder()
        if engine.engine_type == "sqlite":
            for sql in SQLITE_UP:
                await engine.run_ddl(sql)

    async def down():
        engine = engine_finder()
        if engine.engine_type == "sqlite":
            for sql in SQLITE_DOWN:
                await engine.run_ddl(sql)

    manager.add_raw(up)
    manager.add_raw_backwards(down)
    return manager
