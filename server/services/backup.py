"""``guichet backup`` / ``guichet restore``: the database and its attachments, together.

One archive (tar.gz) holds a manifest, the database and the attachment files its rows name:
* SQLite: a copy made with SQLite's online backup API (consistent while the server runs);
* PostgreSQL: every table in binary COPY format, read in one REPEATABLE READ transaction
  (one snapshot), restored in dependency order into a freshly migrated, empty database.
Files are copied after the database snapshot: a stored file is written before its row
commits and never changes, so every row of the snapshot finds its file.
A backup restores on the same engine and the same migrations (same Guichet version).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from server.settings import Settings

FORMAT = 1
MIGRATION_TABLE = "migration"


class BackupError(Exception):
    """Something a person must fix; the message says what."""


@dataclass(frozen=True, slots=True)
class Summary:
    engine: str
    tables: dict[str, int]
    attachments: int


def _table_order() -> list[str]:
    """Referenced tables before the tables that reference them (the declaration order)."""
    from server.db.tables import ALL_TABLES

    return [table._meta.tablename for table in ALL_TABLES]


async def _applied_migrations() -> list[str]:
    from piccolo.apps.migrations.tables import Migration

    return sorted(await Migration.get_migrations_which_ran(app_name="guichet"))


def _storage_paths(settings: Settings, key: str) -> list[tuple[Path, str]]:
    from server.services.attachments import Storage

    store = Storage(settings.storage_dir)
    found = []
    for path in (store.path(key), store.thumbnail(key)):
        if path.exists():
            found.append((path, str(path.relative_to(settings.storage_dir))))
    return found


def _known_migrations() -> list[str]:
    from piccolo.apps.migrations.commands.base import BaseMigrationManager

    from server.piccolo_app import APP_CONFIG

    manager = BaseMigrationManager()
    return manager.get_migration_ids(
        manager.get_migration_modules(APP_CONFIG.migrations_folder_path)
    )


# --- backup ------------------------------------------------------------------------------


async def backup(settings: Settings, target: Path) -> Summary:
    migrations = await _applied_migrations()
    with tempfile.TemporaryDirectory(prefix="guichet-backup-") as work_dir:
        work = Path(work_dir)
        if settings.is_postgres:
            tables, keys = await _dump_postgres(settings, work / "tables")
        else:
            tables, keys = _copy_sqlite(settings, work / "database.sqlite3")
        manifest = {
            "format": FORMAT,
            "engine": "postgres" if settings.is_postgres else "sqlite",
            "created_at": datetime.now(UTC).isoformat(),
            "migrations": migrations,
            "tables": tables,
            "attachments": _copy_files(settings, keys, work / "attachments"),
        }
        _write_archive(work, manifest, target)
    return Summary(manifest["engine"], tables, manifest["attachments"])


def _copy_files(settings: Settings, keys: list[str], files: Path) -> int:
    for key in keys:
        paths = _storage_paths(settings, key)
        if not paths:
            raise BackupError(f"attachment file missing from storage: {key}")
        for source, relative in paths:
            (files / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, files / relative)
    return len(keys)


def _write_archive(work: Path, manifest: dict[str, Any], target: Path) -> None:
    (work / "manifest.json").write_text(json.dumps(manifest, indent=1))
    partial = target.with_name(f".{target.name}.partial")
    with tarfile.open(partial, "w:gz") as archive:
        for entry in sorted(work.iterdir()):
            archive.add(entry, arcname=entry.name)
    partial.chmod(0o600)  # health data: readable by the operator only
    os.replace(partial, target)


def _copy_sqlite(settings: Settings, copy: Path) -> tuple[dict[str, int], list[str]]:
    source = sqlite3.connect(settings.sqlite_path, timeout=30)
    destination = sqlite3.connect(copy)
    try:
        source.backup(destination)
    finally:
        source.close()
    try:
        destination.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        tables = {
            name: destination.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]  # noqa: S608
            for name in _table_order()
        }
        keys = [row[0] for row in destination.execute("SELECT storage_key FROM attachment")]
    finally:
        destination.close()
    return tables, keys


async def _dump_postgres(settings: Settings, folder: Path) -> tuple[dict[str, int], list[str]]:
    import asyncpg

    os.makedirs(folder)
    connection = await asyncpg.connect(settings.database_url)
    try:
        async with connection.transaction(isolation="repeatable_read", readonly=True):
            tables = {}
            for name in _table_order():
                await connection.copy_from_table(
                    name, output=str(folder / f"{name}.copy"), format="binary"
                )
                tables[name] = await connection.fetchval(f'SELECT COUNT(*) FROM "{name}"')  # noqa: S608
            keys = [
                r["storage_key"]
                for r in await connection.fetch("SELECT storage_key FROM attachment")
            ]
    finally:
        await connection.close()
    return tables, keys


# --- restore -----------------------------------------------------------------------------


def _extract(archive_path: Path, into: Path) -> dict[str, Any]:
    try:
        with tarfile.open(archive_path, "r:gz") as archive:
            # The "data" filter refuses absolute paths, links out of the folder, devices.
            archive.extractall(into, filter="data")
        manifest = json.loads((into / "manifest.json").read_text())
    except (OSError, tarfile.TarError, ValueError, KeyError) as exc:
        raise BackupError(f"not a Guichet backup: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError("backup made by another format version")
    return manifest


async def restore(settings: Settings, archive_path: Path) -> Summary:
    """Into an empty instance (no accounts, no tickets), with the server stopped."""
    with tempfile.TemporaryDirectory(prefix="guichet-restore-") as work_dir:
        work = Path(work_dir)
        manifest = _extract(archive_path, work)
        engine = "postgres" if settings.is_postgres else "sqlite"
        if manifest["engine"] != engine:
            raise BackupError(f"this backup is of a {manifest['engine']} database, not {engine}")
        unknown = set(manifest["migrations"]) - set(_known_migrations())
        if unknown:
            raise BackupError("this backup was made by a newer version of Guichet (migrations)")
        await _ensure_empty_storage(settings)
        if settings.is_postgres:
            await _restore_postgres(settings, work / "tables", manifest)
        else:
            _restore_sqlite(settings, work / "database.sqlite3")
        files = work / "attachments"
        if files.exists():
            shutil.copytree(files, settings.storage_dir, dirs_exist_ok=True)
    return Summary(engine, manifest["tables"], manifest["attachments"])


async def _ensure_empty_storage(settings: Settings) -> None:
    stored = settings.storage_dir / "files"
    if stored.exists() and any(stored.iterdir()):
        raise BackupError(f"attachment storage {settings.storage_dir} is not empty")


def _restore_sqlite(settings: Settings, copy: Path) -> None:
    target = settings.sqlite_path
    if target.exists() and target.stat().st_size:
        with sqlite3.connect(target) as existing:
            has_data = (
                existing.execute(
                    "SELECT name FROM sqlite_master WHERE type='table' AND name='ticket'"
                ).fetchone()
                and existing.execute(
                    "SELECT (SELECT COUNT(*) FROM ticket) + (SELECT COUNT(*) FROM account)"
                ).fetchone()[0]
            )
        existing.close()
        if has_data:
            raise BackupError(f"the database {target} is not empty")
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(copy)
    destination = sqlite3.connect(target)
    try:
        source.backup(destination)
        destination.execute("PRAGMA journal_mode=WAL")
    finally:
        source.close()
        destination.close()


async def _restore_postgres(settings: Settings, folder: Path, manifest: dict[str, Any]) -> None:
    import asyncpg

    from server.cli import migrate

    await migrate()  # the schema of this version; data must come from the same version
    if await _applied_migrations() != manifest["migrations"]:
        raise BackupError("this backup was made by another version of Guichet (migrations)")
    connection = await asyncpg.connect(settings.database_url)
    try:
        rows = await connection.fetchval(
            "SELECT (SELECT COUNT(*) FROM ticket) + (SELECT COUNT(*) FROM account)"
        )
        if rows:
            raise BackupError("the database is not empty")
        async with connection.transaction():
            for name in _table_order():
                path = folder / f"{name}.copy"
                if not path.exists():
                    raise BackupError(f"table {name} missing from the backup")
                await connection.copy_to_table(name, source=str(path), format="binary")
            for name in _table_order():
                # Serial ids continue after the restored rows.
                await connection.execute(
                    f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "  # noqa: S608
                    f'COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM "{name}"'
                )
    finally:
        await connection.close()
