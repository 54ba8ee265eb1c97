"""Piccolo configuration: the engine comes from ``GUICHET_DATABASE_URL``."""

from piccolo.conf.apps import AppRegistry
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from server.db.sqlite_functions import GuichetConnection
from server.settings import get_settings


def make_engine() -> Engine:
    settings = get_settings()
    if settings.is_postgres:
        return PostgresEngine(config={"dsn": settings.database_url}, log_queries=False)
    settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    # kwargs go to sqlite3.connect: wait for the writer instead of failing at once, and
    # carry the functions the full-text triggers call.
    return SQLiteEngine(path=str(settings.sqlite_path), timeout=30, factory=GuichetConnection)


DB = make_engine()
APP_REGISTRY = AppRegistry(apps=["server.piccolo_app"])
