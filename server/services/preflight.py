"""``guichet check``: is this configuration ready to serve? One finding per part.

Each check answers "" when the part is fine, or one line saying what is wrong, so a deploy
script can stop before starting a server that would fail later.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from server.settings import Settings

TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Finding:
    part: str
    problem: str  # "" when fine

    @property
    def ok(self) -> bool:
        return not self.problem


def worker_problems(settings: Settings, workers: int) -> list[str]:
    """What keeps ``guichet serve`` from running ``workers`` processes side by side."""
    if workers < 1:
        return [f"GUICHET_WORKERS={workers} is not a number of processes (1 or more)"]
    if workers == 1:
        return []
    problems = []
    if not settings.is_postgres:
        # SQLite's writes are serialised inside one process (IMMEDIATE transactions queued
        # in order); several processes would wait on the file's lock instead.
        problems.append(f"GUICHET_WORKERS={workers} needs PostgreSQL: SQLite serves one process")
    if settings.channels == "memory":
        problems.append(
            f"GUICHET_WORKERS={workers} needs GUICHET_CHANNELS=postgres or redis: live updates"
            " must reach the pages every worker serves"
        )
    if settings.mail.receives_mail:
        problems.append(
            f"GUICHET_WORKERS={workers}: run mail intake apart (`guichet inbound`, `guichet imap`),"
            " not in every worker"
        )
    return problems


def configuration_problems(settings: Settings) -> list[str]:
    from server.domain.directory import parse_group_rules
    from server.domain.vocabulary import Role

    problems = []
    if settings.channels not in ("memory", "postgres", "redis"):
        problems.append(f"GUICHET_CHANNELS={settings.channels!r} is not memory, postgres or redis")
    if settings.channels == "postgres" and not settings.is_postgres:
        problems.append("GUICHET_CHANNELS=postgres needs a PostgreSQL GUICHET_DATABASE_URL")
    redis_schemes = ("redis", "rediss", "unix")
    if settings.channels == "redis" and urlsplit(settings.redis_url).scheme not in redis_schemes:
        problems.append("GUICHET_CHANNELS=redis needs a redis:// or rediss:// GUICHET_REDIS_URL")
    problems.extend(worker_problems(settings, settings.workers))
    if urlsplit(settings.base_url).scheme not in ("http", "https"):
        problems.append(f"GUICHET_BASE_URL={settings.base_url!r} is not an http(s) URL")
    if settings.log_format not in ("text", "json"):
        problems.append(f"GUICHET_LOG_FORMAT={settings.log_format!r} is not text or json")
    try:
        parse_group_rules(settings.directory_groups)
        Role(settings.directory_default_role)
    except (ValueError, TypeError, AttributeError) as exc:
        problems.append(f"GUICHET_DIRECTORY_GROUPS / DIRECTORY_DEFAULT_ROLE: {exc}")
    if settings.ldap.url and not settings.ldap.url.startswith(("ldap://", "ldaps://")):
        problems.append(f"GUICHET_LDAP_URL={settings.ldap.url!r} is not ldap:// or ldaps://")
    if settings.ldap.url and not (settings.ldap.user_dn_template or settings.ldap.user_base):
        problems.append("LDAP needs GUICHET_LDAP_USER_DN_TEMPLATE or GUICHET_LDAP_USER_BASE")
    if settings.oidc.issuer and not settings.oidc.client_id:
        problems.append("GUICHET_OIDC_ISSUER is set without GUICHET_OIDC_CLIENT_ID")
    return problems


async def _database(settings: Settings) -> str:
    from server.db.engine import engine

    if not settings.is_postgres and not settings.sqlite_path.exists():
        return f"no database file at {settings.sqlite_path} (run guichet migrate)"
    try:
        await engine().run_ddl("SELECT 1")
    except Exception as exc:
        return f"cannot reach the database: {_reason(exc)}"
    return ""


async def _migrations(settings: Settings) -> str:
    from piccolo.apps.migrations.commands.base import BaseMigrationManager
    from piccolo.apps.migrations.tables import Migration

    from server.piccolo_app import APP_CONFIG

    manager = BaseMigrationManager()
    modules = manager.get_migration_modules(APP_CONFIG.migrations_folder_path)
    known = set(manager.get_migration_ids(modules))
    try:
        ran = set(await Migration.get_migrations_which_ran(app_name=APP_CONFIG.app_name))
    except Exception:
        ran = set()  # no migration table yet
    pending = len(known - ran)
    if pending:
        return f"{pending} migration(s) not applied (run guichet migrate)"
    return ""


async def _mail(settings: Settings) -> str:
    mail = settings.mail
    if not mail.smtp_host:
        return _writable(settings.var_dir / "mail", "mail folder")
    import aiosmtplib

    client = aiosmtplib.SMTP(
        hostname=mail.smtp_host, port=mail.smtp_port, timeout=TIMEOUT_SECONDS, start_tls=False
    )
    try:
        await client.connect()
        await client.ehlo()
        await client.quit()
    except Exception as exc:
        return f"cannot reach the mail relay {mail.smtp_host}:{mail.smtp_port}: {_reason(exc)}"
    return ""


async def _mailbox(settings: Settings) -> str:
    mail = settings.mail
    if not mail.imap_host:
        return ""
    from server.services.inbound_imap import check_mailbox

    try:
        await asyncio.to_thread(check_mailbox, settings)
    except Exception as exc:
        return (
            f"cannot read the mailbox {mail.imap_user}@{mail.imap_host}:{mail.imap_port}"
            f"/{mail.imap_folder}: {_reason(exc)}"
        )
    return ""


async def _channels(settings: Settings) -> str:
    from server.realtime.bus import make_bus

    try:
        bus = make_bus(settings.channels, settings.database_url, settings.redis_url)
    except Exception as exc:
        return _reason(exc)
    if settings.channels == "memory":
        return ""
    try:
        await bus.start()
        await bus.publish({"kind": "check"})
    except Exception as exc:
        return f"{settings.channels} backend unavailable: {_reason(exc)}"
    finally:
        with contextlib.suppress(Exception):  # already reported above
            await bus.stop()
    return ""


def _writable(directory: Path, what: str) -> str:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".check-") as handle:
            handle.write(b"ok")
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        return f"{what} {directory} is not writable: {exc.strerror or exc}"
    return ""


async def _storage(settings: Settings) -> str:
    return _writable(settings.storage_dir, "attachment storage")


async def _directory(settings: Settings) -> str:
    if not settings.ldap.url:
        return ""
    from server.services.directory import DirectoryUnavailable, verify_ldap_password

    # A bind with a password nobody has: reaching the server is all this proves.
    try:
        await asyncio.to_thread(
            verify_ldap_password, "guichet-check", os.urandom(8).hex(), settings.ldap
        )
    except DirectoryUnavailable:
        return f"cannot reach the LDAP directory {settings.ldap.url}"
    except Exception:  # noqa: S110 - disabled accounts etc. mean the server answered
        pass
    return ""


async def _identity_provider(settings: Settings) -> str:
    if not settings.oidc.issuer:
        return ""
    from server.services.oidc import discover

    try:
        await discover(settings.oidc)
    except Exception:
        return f"cannot read the discovery document of {settings.oidc.issuer}"
    return ""


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


CHECKS: list[tuple[str, Callable[[Settings], Awaitable[str]]]] = [
    ("database", _database),
    ("migrations", _migrations),
    ("mail relay", _mail),
    ("IMAP mailbox", _mailbox),
    ("channels backend", _channels),
    ("storage", _storage),
    ("LDAP directory", _directory),
    ("identity provider", _identity_provider),
]


async def run_checks(settings: Settings) -> list[Finding]:
    findings = [Finding("configuration", p) for p in configuration_problems(settings)]
    findings = findings or [Finding("configuration", "")]
    database_ok = True
    for part, check in CHECKS:
        if part == "migrations" and not database_ok:
            findings.append(Finding(part, "not checked: the database is unreachable"))
            continue
        try:
            problem = await asyncio.wait_for(check(settings), TIMEOUT_SECONDS * 2)
        except TimeoutError:
            problem = "no answer in time"
        except Exception as exc:
            problem = _reason(exc)
        if part == "database" and problem:
            database_ok = False
        findings.append(Finding(part, problem))
    return findings


def load_settings_or_problem() -> tuple[Settings | None, str]:
    """Settings, or why they cannot be read (bad JSON, a number that is not one)."""
    from server.settings import load_settings

    try:
        return load_settings(), ""
    except (ValueError, json.JSONDecodeError) as exc:
        return None, f"cannot read the settings: {_reason(exc)}"
