"""Full-text search indexes, kept in sync by triggers so every writer (forms, API, mail,
bulk loads) is indexed the same way.

SQLite: external-content FTS5 tables over ticket (title, description), follow_up (text) and
kb_article (title, body); accent-insensitive with ``unicode61 remove_diacritics 2``; no
stemming (queries use prefixes instead).

PostgreSQL: a ``search`` tsvector column with a GIN index on ticket, follow_up and kb_article,
filled by BEFORE triggers with text search configurations that strip accents (``unaccent``)
then stem in French, English or Russian. Articles use their ``language``; tickets and
follow-ups have none, so ``guichet_text_config`` guesses it from the text (Cyrillic: Russian;
then whichever of French and English has more of its common words; French by default).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-22T02:01:45:322549"
VERSION = "1.38.0"
DESCRIPTION = "full text search"

_FTS = "tokenize = 'unicode61 remove_diacritics 2'"


def _sqlite_index(table: str, columns: list[str]) -> list[str]:
    cols = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    fts = f"{table}_fts"
    return [
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


SQLITE_UP = [
    *_sqlite_index("ticket", ["title", "description"]),
    *_sqlite_index("follow_up", ["text"]),
    *_sqlite_index("kb_article", ["title", "body"]),
    'CREATE UNIQUE INDEX kb_vote_once ON kb_vote (article, "user")',
]
SQLITE_DOWN = [
    "DROP INDEX IF EXISTS kb_vote_once",
    *(
        stmt
        for table in ("ticket", "follow_up", "kb_article")
        for stmt in (
            f"DROP TRIGGER IF EXISTS {table}_fts_insert",
            f"DROP TRIGGER IF EXISTS {table}_fts_delete",
            f"DROP TRIGGER IF EXISTS {table}_fts_update",
            f"DROP TABLE IF EXISTS {table}_fts",
        )
    ),
]

_CONFIGS = {"guichet_fr": "french", "guichet_en": "english", "guichet_ru": "russian"}

POSTGRES_UP = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    *(
        stmt
        for name, lang in _CONFIGS.items()
        for stmt in (
            f"CREATE TEXT SEARCH CONFIGURATION {name} (COPY = {lang})",
            f"ALTER TEXT SEARCH CONFIGURATION {name} ALTER MAPPING FOR hword, hword_part, word "
            f"WITH unaccent, {lang}_stem",
        )
    ),
    r"""CREATE FUNCTION guichet_text_config(body text) RETURNS regconfig
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT (CASE
          WHEN body ~ '[А-Яа-яЁё]' THEN 'guichet_ru'
          WHEN regexp_count(lower(body),
                 '\m(the|is|are|and|not|does|doesn''t|with|cannot|can''t|when|my|this|to|of|it)\M')
             > regexp_count(lower(body),
                 '\m(le|la|les|des|une|est|pas|ne|du|et|dans|sur|pour|avec|je|nous|il)\M|[éèêàçù]')
            THEN 'guichet_en'
          ELSE 'guichet_fr' END)::regconfig
        $$""",
    """CREATE FUNCTION guichet_language_config(language text) RETURNS regconfig
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT (CASE language WHEN 'en' THEN 'guichet_en' WHEN 'ru' THEN 'guichet_ru'
                ELSE 'guichet_fr' END)::regconfig
        $$""",
    # ticket
    "ALTER TABLE ticket ADD COLUMN search tsvector",
    """CREATE FUNCTION ticket_search_update() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE cfg regconfig := guichet_text_config(NEW.title || ' ' || NEW.description);
        BEGIN
          NEW.search := setweight(to_tsvector(cfg, NEW.title), 'A')
                     || setweight(to_tsvector(cfg, NEW.description), 'B');
          RETURN NEW;
        END $$""",
    """CREATE TRIGGER ticket_search_update BEFORE INSERT OR UPDATE OF title, description
        ON ticket FOR EACH ROW EXECUTE FUNCTION ticket_search_update()""",
    "UPDATE ticket SET title = title",
    "CREATE INDEX ticket_search_idx ON ticket USING GIN (search)",
    # Finer statistics on the lexemes: the planner then knows a word is rare (use the GIN
    # index) or common (walk the newest tickets first), see server/db/search.py.
    "ALTER TABLE ticket ALTER COLUMN search SET STATISTICS 1000",
    # follow_up
    "ALTER TABLE follow_up ADD COLUMN search tsvector",
    """CREATE FUNCTION follow_up_search_update() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          NEW.search := to_tsvector(guichet_text_config(NEW.text), NEW.text);
          RETURN NEW;
        END $$""",
    """CREATE TRIGGER follow_up_search_update BEFORE INSERT OR UPDATE OF text
        ON follow_up FOR EACH ROW EXECUTE FUNCTION follow_up_search_update()""",
    "UPDATE follow_up SET text = text",
    "CREATE INDEX follow_up_search_idx ON follow_up USING GIN (search)",
    "ALTER TABLE follow_up ALTER COLUMN search SET STATISTICS 1000",
    # kb_article
    "ALTER TABLE kb_article ADD COLUMN search tsvector",
    """CREATE FUNCTION kb_article_search_update() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE cfg regconfig := guichet_language_config(NEW.language);
        BEGIN
          NEW.search := setweight(to_tsvector(cfg, NEW.title), 'A')
                     || setweight(to_tsvector(cfg, NEW.body), 'B');
          RETURN NEW;
        END $$""",
    """CREATE TRIGGER kb_article_search_update BEFORE INSERT OR UPDATE OF title, body, language
        ON kb_article FOR EACH ROW EXECUTE FUNCTION kb_article_search_update()""",
    "CREATE INDEX kb_article_search_idx ON kb_article USING GIN (search)",
    'CREATE UNIQUE INDEX kb_vote_once ON kb_vote (article, "user")',
]
POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS kb_vote_once",
    *(
        stmt
        for table in ("ticket", "follow_up", "kb_article")
        for stmt in (
            f"DROP TRIGGER IF EXISTS {table}_search_update ON {table}",
            f"DROP FUNCTION IF EXISTS {table}_search_update()",
            f"ALTER TABLE {table} DROP COLUMN IF EXISTS search",
        )
    ),
    "DROP FUNCTION IF EXISTS guichet_text_config(text)",
    "DROP FUNCTION IF EXISTS guichet_language_config(text)",
    *(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {name}" for name in _CONFIGS),
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
