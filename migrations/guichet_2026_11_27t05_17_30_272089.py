"""Full-text search by word stems on SQLite, as PostgreSQL already does.

Each FTS5 table gains a ``stems`` column: the Snowball stems of the row's text, in the
article's language or the one guessed for a ticket or follow-up (``guichet_stems``, a Python
function every Guichet SQLite connection carries, see ``server.db.sqlite_functions``), filled
by the triggers. Its external content is a view that reads the stems as empty: highlights and
snippets, which read the content of the rows shown, never need them, and showing a page need
not stem again. So FTS5's own ``rebuild`` would index no stems: this migration indexes
existing rows with an INSERT ... SELECT, and ``guichet reindex-search``
(``server.db.search.reindex``) does the same on demand (after a stemmer upgrade, say).

PostgreSQL already stems (tsvector columns, ``guichet_fr/en/ru`` configurations).

Both engines also index account names, so that staff find a person's tickets by their name
without folding every name at each search: an FTS5 table over ``account.full_name`` on
SQLite, a GIN index over an accent-free ``simple`` configuration (``guichet_names``) on
PostgreSQL.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T05:17:30:272089"
VERSION = "1.38.0"
DESCRIPTION = "full text search by word stems on SQLite, and of account names"

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
        f"CREATE VIEW {source} AS SELECT id, {', '.join(columns)}, '' AS stems FROM {table}",
        f"CREATE VIRTUAL TABLE {fts} USING fts5({cols}, content='{source}', "
        f"content_rowid='id', {_FTS})",
        f"""CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN
              INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END""",
        f"""CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN
              INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old}); END""",
        f"""CREATE TRIGGER {fts}_update AFTER UPDATE OF {watched} ON {table} BEGIN
              INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old});
              INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END""",
        f"INSERT INTO {fts}(rowid, {cols}) SELECT id, {', '.join(columns)}, "
        f"{_stems('', columns, language)} FROM {table}",
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


_NAMES = "account_name_fts"
SQLITE_NAMES_UP = [
    f"CREATE VIRTUAL TABLE {_NAMES} USING fts5(full_name, content='account', "
    f"content_rowid='id', {_FTS})",
    f"""CREATE TRIGGER {_NAMES}_insert AFTER INSERT ON account BEGIN
          INSERT INTO {_NAMES}(rowid, full_name) VALUES (new.id, new.full_name); END""",
    f"""CREATE TRIGGER {_NAMES}_delete AFTER DELETE ON account BEGIN
          INSERT INTO {_NAMES}({_NAMES}, rowid, full_name)
          VALUES ('delete', old.id, old.full_name); END""",
    f"""CREATE TRIGGER {_NAMES}_update AFTER UPDATE OF full_name ON account BEGIN
          INSERT INTO {_NAMES}({_NAMES}, rowid, full_name)
          VALUES ('delete', old.id, old.full_name);
          INSERT INTO {_NAMES}(rowid, full_name) VALUES (new.id, new.full_name); END""",
    f"INSERT INTO {_NAMES}({_NAMES}) VALUES ('rebuild')",
]
SQLITE_NAMES_DOWN = [
    f"DROP TRIGGER IF EXISTS {_NAMES}_insert",
    f"DROP TRIGGER IF EXISTS {_NAMES}_delete",
    f"DROP TRIGGER IF EXISTS {_NAMES}_update",
    f"DROP TABLE IF EXISTS {_NAMES}",
]
SQLITE_UP = [
    *(stmt for table in _SOURCES for stmt in _stemmed_index(table)),
    *SQLITE_NAMES_UP,
]
SQLITE_DOWN = [
    *SQLITE_NAMES_DOWN,
    *(stmt for table in _SOURCES for stmt in _plain_index(table)),
]

POSTGRES_UP = [
    "CREATE TEXT SEARCH CONFIGURATION guichet_names (COPY = simple)",
    "ALTER TEXT SEARCH CONFIGURATION guichet_names ALTER MAPPING FOR hword, hword_part, word "
    "WITH unaccent, simple",
    "CREATE INDEX account_name_search_idx ON account "
    "USING GIN (to_tsvector('guichet_names'::regconfig, full_name))",
]
POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS account_name_search_idx",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS guichet_names",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="guichet", description=DESCRIPTION)

    async def up():
        engine = engine_finder()
        for sql in SQLITE_UP if engine.engine_type == "sqlite" else POSTGRES_UP:
            await engine.run_ddl(sql)

    async def down():
        engine = engine_finder()
        for sql in SQLITE_DOWN if engine.engine_type == "sqlite" else POSTGRES_DOWN:
            await engine.run_ddl(sql)

    manager.add_raw(up)
    manager.add_raw_backwards(down)
    return manager
