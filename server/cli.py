"""The ``guichet`` command: serve, migrate, demo, reindex-search, counters, user add, token,
catalogue."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import sys
from collections.abc import Callable, Sequence
from typing import Any

import anyio

from server.domain.errors import ValidationFailed
from server.domain.vocabulary import Role
from server.settings import Settings, get_settings


async def migrate() -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    response = await run_forwards(app_name="guichet", migration_id="all", fake=False)
    if not response.success:
        raise SystemExit(f"migration failed: {response.message}")


def _cmd_migrate(_: argparse.Namespace) -> int:
    asyncio.run(migrate())
    print("Migrations applied.")
    return 0


def _cmd_reindex_search(_: argparse.Namespace) -> int:
    from server.db import tables  # noqa: F401 - loaded first, as the application does
    from server.db.search import reindex

    asyncio.run(reindex())
    print("Search index rebuilt.")
    return 0


def _cmd_demo(_: argparse.Namespace) -> int:
    from server.demo import load_demo, refresh_demo_dates

    if asyncio.run(load_demo()):
        print("Demo data loaded.")
        return 0
    shift = asyncio.run(refresh_demo_dates())
    if shift:
        print(f"Demo data already present: dates moved forward by {shift.days} day(s).")
    else:
        print("Demo data already present: nothing changed.")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from server.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, demo_present
    from server.observability.logs import configure_logging
    from server.observability.multiprocess import shared_metrics_folder
    from server.services.preflight import worker_problems
    from server.shutdown import GRACE_SECONDS

    settings = get_settings()
    # Our handler for every logger (uvicorn's too): text, or one JSON object a line.
    configure_logging(settings.log_format, settings.log_level)
    workers = args.workers or settings.workers
    problems = worker_problems(settings, workers)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 2
    host, port = args.host or settings.host, args.port or settings.port
    if asyncio.run(demo_present()):
        print(f"Demo accounts (password: {DEMO_PASSWORD}):")
        for email, role in DEMO_ACCOUNTS:
            print(f"  {email:36} {role}")
    processes = f", {workers} worker processes" if workers > 1 else ""
    print(f"Guichet serving on http://{host}:{port}{processes}  (Ctrl-C stops)")
    with shared_metrics_folder(workers):
        uvicorn.run(
            "server.asgi:app",
            host=host,
            port=port,
            # Several processes share the port; uvicorn restarts one that dies.
            workers=workers if workers > 1 else None,
            # Only a configured proxy may name the client (GUICHET_FORWARDED_ALLOW_IPS).
            proxy_headers=bool(settings.forwarded_allow_ips),
            forwarded_allow_ips=settings.forwarded_allow_ips or None,
            log_level=settings.log_level.lower(),
            # Each process that serves sets up its own logging (server/asgi.py).
            log_config=None,
            # Pushes are ~1 KB of HTML: compressing them costs more CPU and memory per socket
            # (zlib state) than the bytes it saves on a hospital network.
            ws_per_message_deflate=False,
            # A stop never waits long for requests in flight (see server/shutdown.py).
            timeout_graceful_shutdown=GRACE_SECONDS,
        )
    return 0


async def _run_alone(make: Callable[[Settings, Callable], Any], banner: str) -> None:
    """Run one mail intake (SMTP receiver or IMAP poller) without the web application."""
    from server.db import engine
    from server.realtime.bus import make_bus

    settings = get_settings()
    await engine.start(pool=settings.db_pool)
    bus = make_bus(settings.channels, settings.database_url, settings.redis_url)
    await bus.start()

    async def publish(events: list) -> None:
        # Live pages of running instances follow when they share the bus (postgres).
        for event in events:
            await bus.publish(event.as_message())

    intake = make(settings, publish)
    await intake.start()
    print(f"{banner}  (Ctrl-C stops)")
    try:
        await asyncio.Event().wait()
    finally:
        await intake.stop()
        await bus.stop()
        await engine.stop(pool=settings.db_pool)


def _configured_logging() -> Settings:
    from server.observability.logs import configure_logging

    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    return settings


def _cmd_inbound(args: argparse.Namespace) -> int:
    from server.services.inbound_smtp import InboundReceiver

    settings = _configured_logging()
    port = args.port or settings.mail.inbound_port
    if not port:
        raise SystemExit("Set GUICHET_INBOUND_SMTP_PORT or pass --port.")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            _run_alone(
                lambda s, publish: InboundReceiver(s, publish, port=port),
                f"Receiving mail on {settings.mail.inbound_host}:{port}",
            )
        )
    return 0


def _cmd_imap(args: argparse.Namespace) -> int:
    from server.services.inbound_imap import ImapPoller

    mail = _configured_logging().mail
    if not mail.imap_host:
        raise SystemExit("Set GUICHET_IMAP_HOST (and GUICHET_IMAP_USER, GUICHET_IMAP_PASSWORD).")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            _run_alone(
                ImapPoller,
                f"Reading mail from {mail.imap_user}@{mail.imap_host}:{mail.imap_port}"
                f"/{mail.imap_folder}",
            )
        )
    return 0


async def _add_user(args: argparse.Namespace, password: str) -> int:
    from server.db.tables import Establishment
    from server.services.accounts import create_user

    establishment_id = None
    if args.establishment:
        row = (
            await Establishment.select(Establishment.id)
            .where(Establishment.code == args.establishment.upper())
            .first()
        )
        if row is None:
            print(f"No establishment with code {args.establishment}.", file=sys.stderr)
            return 2
        establishment_id = row["id"]
    try:
        user_id = await create_user(
            email=args.email,
            full_name=args.name,
            password=password,
            role=Role(args.role),
            establishment_id=establishment_id,
        )
    except ValidationFailed as exc:
        for field, message in exc.errors.items():
            print(f"{field}: {message}", file=sys.stderr)
        return 2
    print(f"User {args.email} created (id {user_id}).")
    return 0


async def _set_active(email: str, active: bool) -> int:
    from server.realtime.bus import make_bus
    from server.services.accounts import set_active, user_id_by_email

    user_id = await user_id_by_email(email)
    if user_id is None:
        print(f"No user with e-mail {email}.", file=sys.stderr)
        return 2
    await set_active(user_id, active)
    settings = get_settings()
    if not active and settings.channels != "memory":
        # Running instances close this user's websockets at once; with the in-process bus
        # they notice within a minute, when they re-check the session.
        bus = make_bus(settings.channels, settings.database_url, settings.redis_url)
        await bus.start()
        try:
            await bus.publish({"kind": "user.deactivated", "user_id": user_id})
        finally:
            await bus.stop()
    print(f"User {email} {'activated' if active else 'deactivated'}.")
    return 0


def _cmd_user_active(args: argparse.Namespace) -> int:
    return asyncio.run(_set_active(args.email, args.action == "activate"))


def _cmd_user_add(args: argparse.Namespace) -> int:
    password = args.password or getpass.getpass("Password: ")
    return asyncio.run(_add_user(args, password))


async def _token(email: str, name: str, revoke_all: bool) -> int:
    from server.services.accounts import issue_api_token, revoke_all_api_tokens, user_id_by_email

    user_id = await user_id_by_email(email)
    if user_id is None:
        print(f"No user with e-mail {email}.", file=sys.stderr)
        return 2
    if revoke_all:
        print(f"{await revoke_all_api_tokens(user_id)} token(s) revoked.")
    else:
        print(await issue_api_token(user_id, name))
    return 0


def _cmd_token(args: argparse.Namespace) -> int:
    return asyncio.run(_token(args.email, args.name, args.revoke_all))


def _cmd_check(_: argparse.Namespace) -> int:
    """One line per part; each problem on its own line; exit 1 when there is any."""
    from server.services.preflight import load_settings_or_problem

    settings, problem = load_settings_or_problem()
    if settings is None:
        print(f"PROBLEM configuration: {problem}")
        return 1

    async def run() -> list:
        from server.db import engine
        from server.services.preflight import run_checks

        try:
            return await run_checks(settings)
        finally:
            with contextlib.suppress(Exception):
                await engine.stop(pool=False)

    findings = asyncio.run(run())
    for finding in findings:
        line = f"PROBLEM {finding.part}: {finding.problem}" if finding.problem else ""
        print(line or f"ok      {finding.part}")
    problems = sum(1 for f in findings if not f.ok)
    print(f"{problems} problem(s)." if problems else "Ready.")
    return 1 if problems else 0


def _cmd_counters(args: argparse.Namespace) -> int:
    """``check``: one line per counter row a full count does not confirm, exit 1 if any.
    ``rebuild``: recount them (ticket writers wait meanwhile)."""
    from server.services import counter_upkeep

    async def run() -> list[counter_upkeep.Drift]:
        from server.db import engine, tables  # noqa: F401 - tables first, as the app does

        await engine.start(pool=False)
        try:
            if args.action == "rebuild":
                await counter_upkeep.recount()
            return await counter_upkeep.check()
        finally:
            await engine.stop(pool=False)

    found = asyncio.run(run())
    for drift in found:
        key = " ".join(f"{name}={value}" for name, value in drift.key.items())
        print(f"DRIFT {drift.table} {key}: stored {drift.stored}, counted {drift.counted}")
    if found:
        print(f"{len(found)} counter row(s) differ from a full count (guichet counters rebuild).")
        return 1
    done = "Counters rebuilt; they" if args.action == "rebuild" else "Counters"
    print(f"{done} match a full count of the tickets.")
    return 0


def _cmd_backup(args: argparse.Namespace) -> int:
    from pathlib import Path

    from server.services.backup import BackupError, backup

    async def run() -> Any:
        from server.db import engine

        settings = get_settings()
        await engine.start(pool=False)
        return await backup(settings, Path(args.archive))

    try:
        summary = asyncio.run(run())
    except BackupError as exc:
        print(f"Backup failed: {exc}", file=sys.stderr)
        return 1
    tickets = summary.tables.get("ticket", 0)
    print(
        f"Backup written to {args.archive}: {tickets} ticket(s), "
        f"{summary.attachments} attachment(s)."
    )
    return 0


def _cmd_restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    from server.services.backup import BackupError, restore

    try:
        summary = asyncio.run(restore(get_settings(), Path(args.archive)))
    except BackupError as exc:
        print(f"Restore failed: {exc}", file=sys.stderr)
        return 1
    tickets = summary.tables.get("ticket", 0)
    print(f"Restored {tickets} ticket(s) and {summary.attachments} attachment(s).")
    return 0


# Catalogue (issue 14): the same use cases as the admin pages, acting as the operator.


async def _catalogue_db() -> None:
    from server.db import engine, tables  # noqa: F401 - tables loaded first, as the app does

    await engine.start(pool=False)


def _print_faults(exc: ValidationFailed) -> None:
    lines = getattr(exc, "lines", None)
    if lines:
        for line, column, message in lines:
            print(f"line {line}, {column}: {message}", file=sys.stderr)
        return
    for field, message in exc.errors.items():
        print(f"{field}: {message}", file=sys.stderr)


async def _catalogue_list() -> int:
    from server.db.catalogue import snapshot

    await _catalogue_db()
    snap = await snapshot()
    rows = sorted(snap.categories.values(), key=lambda c: snap.category_path(c["id"], "fr"))
    for c in rows:
        state = "" if c["active"] else "  [archived]"
        group = snap.group_name(c["default_group"], "fr") or "-"
        print(
            f"{c['code'] or '-':24} {snap.category_path(c['id'], 'fr')}  "
            f"({c['default_priority']}, {group}){state}"
        )
    print(f"{len(rows)} category(ies).")
    return 0


async def _catalogue_change(args: argparse.Namespace) -> int:
    from server.db.tables import Group
    from server.domain.catalogue import parse_category
    from server.services import catalogue

    await _catalogue_db()

    async def category_id(code: str) -> int | None:
        found = await catalogue.category_id_by_code(code)
        if found is None:
            print(f"No category with code {code}.", file=sys.stderr)
        return found

    try:
        if args.action == "archive":
            target = await category_id(args.code)
            if target is None:
                return 2
            await catalogue.set_category_active(None, target, args.restore)
            print(f"Category {args.code} {'restored' if args.restore else 'archived'}.")
            return 0
        if args.action == "add":
            values: dict[str, str] = {"code": args.code, "name": args.name}
            target = None
        else:
            target = await category_id(args.code)
            if target is None:
                return 2
            values = await catalogue.category_values(target)
        if args.action in ("add", "move") and args.parent:
            parent = await category_id(args.parent)
            if parent is None:
                return 2
            values["parent_id"] = str(parent)
        elif args.action == "move":
            values["parent_id"] = ""
        if args.action == "rename":
            key = "name" if args.language == "fr" else f"name_{args.language}"
            values[key] = args.name
        if args.action == "add":
            values["default_priority"] = args.priority
            values["name_en"], values["name_ru"] = args.name_en, args.name_ru
            if args.group:
                row = await Group.select(Group.id).where(Group.name == args.group).first()
                if row is None:
                    print(f"No group named {args.group}.", file=sys.stderr)
                    return 2
                values["default_group_id"] = str(row["id"])
        saved = await catalogue.save_category(None, target, parse_category(values))
    except ValidationFailed as exc:
        _print_faults(exc)
        return 2
    print(f"Category {args.code} saved (id {saved}).")
    return 0


async def _catalogue_export(file_format: str, output: str) -> int:
    from server.services import catalogue_files

    await _catalogue_db()
    rows = await catalogue_files.export_rows()
    text = catalogue_files.to_json(rows) if file_format == "json" else catalogue_files.to_csv(rows)
    if output in ("", "-"):
        sys.stdout.write(text)
    else:
        await anyio.Path(output).write_text(text, encoding="utf-8", newline="")
        print(f"{len(rows)} row(s) written to {output}.", file=sys.stderr)
    return 0


async def _catalogue_import(path: str, file_format: str) -> int:
    from server.services import catalogue_files

    await _catalogue_db()
    try:
        data = await anyio.Path(path).read_bytes()
    except OSError as exc:
        print(f"Cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    chosen = file_format or catalogue_files.guess_format(path, data)
    try:
        rows, first = catalogue_files.read_file(data, chosen)
        summary = await catalogue_files.import_rows(None, rows, first)
    except ValidationFailed as exc:
        _print_faults(exc)
        print("Nothing was imported.", file=sys.stderr)
        return 2
    print(
        f"Imported {summary.groups} group(s), {summary.categories} category(ies), "
        f"{summary.request_types} request type(s)."
    )
    return 0


def _cmd_catalogue(args: argparse.Namespace) -> int:
    from server.db import tables  # noqa: F401 - loaded before the modules that extend it

    if args.action == "list":
        return asyncio.run(_catalogue_list())
    if args.action == "export":
        return asyncio.run(_catalogue_export(args.format, args.output))
    if args.action == "import":
        return asyncio.run(_catalogue_import(args.file, args.format))
    return asyncio.run(_catalogue_change(args))


def _catalogue_parser(sub: Any) -> None:
    from server.domain.vocabulary import Priority

    cat = sub.add_parser("catalogue", help="the service catalogue: categories, request types")
    actions = cat.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="list the categories as a tree")
    add = actions.add_parser("add", help="add a category")
    add.add_argument("code")
    add.add_argument("--name", required=True, help="name in French (the default language)")
    add.add_argument("--name-en", default="")
    add.add_argument("--name-ru", default="")
    add.add_argument("--parent", default="", help="code of the parent category")
    add.add_argument("--priority", choices=[p.value for p in Priority], default="medium")
    add.add_argument("--group", default="", help="name of the default group")
    rename = actions.add_parser("rename", help="rename a category in one language")
    rename.add_argument("code")
    rename.add_argument("name")
    rename.add_argument("--language", choices=["fr", "en", "ru"], default="fr")
    move = actions.add_parser("move", help="put a category under another (or at the top)")
    move.add_argument("code")
    move.add_argument("--parent", default="", help="code of the new parent; none: top level")
    archive = actions.add_parser("archive", help="archive a category (its tickets stay)")
    archive.add_argument("code")
    archive.add_argument("--restore", action="store_true", help="bring it back instead")
    export = actions.add_parser("export", help="write the catalogue as JSON or CSV")
    export.add_argument("--format", choices=["json", "csv"], default="json")
    export.add_argument("--output", default="-", help="file to write; - for standard output")
    load = actions.add_parser("import", help="load a catalogue file (all or nothing)")
    load.add_argument("file")
    load.add_argument("--format", choices=["json", "csv"], default="", help="default: guessed")
    cat.set_defaults(func=_cmd_catalogue)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="guichet", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the web application")
    serve.add_argument("--host", default="")
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument(
        "--workers", type=int, default=0, help="server processes (PostgreSQL; GUICHET_WORKERS)"
    )
    serve.set_defaults(func=_cmd_serve)
    inbound = sub.add_parser("inbound", help="run only the SMTP receiver for replies by mail")
    inbound.add_argument("--port", type=int, default=0)
    inbound.set_defaults(func=_cmd_inbound)
    sub.add_parser(
        "imap", help="run only the IMAP poller that reads the desk's mailbox"
    ).set_defaults(func=_cmd_imap)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=_cmd_migrate)
    sub.add_parser(
        "demo", help="load the fictional demo data (once; later runs bring its dates to today)"
    ).set_defaults(func=_cmd_demo)
    sub.add_parser(
        "check", help="check configuration, database, migrations, mail, channels, storage"
    ).set_defaults(func=_cmd_check)
    counted = sub.add_parser(
        "counters", help="check the board counters and overview tallies, or recount them"
    ).add_subparsers(dest="action", required=True)
    counted.add_parser(
        "check", help="compare them with a full count of the tickets (exit 1 on a difference)"
    ).set_defaults(func=_cmd_counters)
    counted.add_parser(
        "rebuild", help="recount them from the tickets (ticket changes wait meanwhile)"
    ).set_defaults(func=_cmd_counters)
    saving = sub.add_parser("backup", help="write the database and attachments to one archive")
    saving.add_argument("archive", help="file to write, e.g. guichet-2026-11-27.tar.gz")
    saving.set_defaults(func=_cmd_backup)
    loading = sub.add_parser("restore", help="restore an archive into an empty instance")
    loading.add_argument("archive")
    loading.set_defaults(func=_cmd_restore)
    sub.add_parser(
        "reindex-search", help="rebuild the full-text index of tickets, follow-ups and articles"
    ).set_defaults(func=_cmd_reindex_search)
    user = sub.add_parser("user", help="manage users").add_subparsers(dest="action", required=True)
    add = user.add_parser("add", help="create a user")
    add.add_argument("email")
    add.add_argument("--name", required=True)
    add.add_argument("--role", choices=[r.value for r in Role], default=Role.REQUESTER.value)
    add.add_argument("--establishment", help="trigram code of the establishment")
    add.add_argument("--password", help="prompted when omitted")
    add.set_defaults(func=_cmd_user_add)
    for action in ("deactivate", "activate"):
        toggle = user.add_parser(action, help=f"{action} a user (deactivation ends sessions)")
        toggle.add_argument("email")
        toggle.set_defaults(func=_cmd_user_active)
    token = sub.add_parser("token", help="print a new API token for a user")
    token.add_argument("email")
    token.add_argument("--name", default="cli")
    token.add_argument("--revoke-all", action="store_true", help="revoke every token instead")
    token.set_defaults(func=_cmd_token)
    _catalogue_parser(sub)
    from server.cli_intake import add_parser as add_intake_parser

    add_intake_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
