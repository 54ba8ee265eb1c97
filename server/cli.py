"""The ``guichet`` command: serve, migrate, demo, user add, token."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import sys
from collections.abc import Sequence

from server.domain.errors import ValidationFailed
from server.domain.vocabulary import Role
from server.settings import get_settings


async def migrate() -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    response = await run_forwards(app_name="guichet", migration_id="all", fake=False)
    if not response.success:
        raise SystemExit(f"migration failed: {response.message}")


def _cmd_migrate(_: argparse.Namespace) -> int:
    asyncio.run(migrate())
    print("Migrations applied.")
    return 0


def _cmd_demo(_: argparse.Namespace) -> int:
    from server.demo import load_demo

    created = asyncio.run(load_demo())
    print("Demo data loaded." if created else "Demo data already present: nothing changed.")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from server.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, demo_present
    from server.shutdown import GRACE_SECONDS

    settings = get_settings()
    host, port = args.host or settings.host, args.port or settings.port
    if asyncio.run(demo_present()):
        print(f"Demo accounts (password: {DEMO_PASSWORD}):")
        for email, role in DEMO_ACCOUNTS:
            print(f"  {email:36} {role}")
    print(f"Guichet serving on http://{host}:{port}  (Ctrl-C stops)")
    uvicorn.run(
        "server.asgi:app",
        host=host,
        port=port,
        proxy_headers=False,
        log_level="info",
        # Pushes are ~1 KB of HTML: compressing them costs more CPU and memory per socket
        # (zlib state) than the bytes it saves on a hospital network.
        ws_per_message_deflate=False,
        # A stop never waits long for requests in flight (see server/shutdown.py).
        timeout_graceful_shutdown=GRACE_SECONDS,
    )
    return 0


async def _inbound(port: int) -> None:
    """Run the SMTP receiver alone (without the web application)."""
    from server.db import engine
    from server.realtime.bus import make_bus
    from server.services.inbound_smtp import InboundReceiver

    settings = get_settings()
    port = port or settings.mail.inbound_port
    if not port:
        raise SystemExit("Set GUICHET_INBOUND_SMTP_PORT or pass --port.")
    await engine.start(pool=settings.db_pool)
    bus = make_bus(settings.channels, settings.database_url)
    await bus.start()

    async def publish(events: list) -> None:
        # Live pages of running instances follow when they share the bus (postgres).
        for event in events:
            await bus.publish(event.as_message())

    receiver = InboundReceiver(settings, publish, port=port)
    await receiver.start()
    print(f"Receiving mail on {settings.mail.inbound_host}:{port}  (Ctrl-C stops)")
    try:
        await asyncio.Event().wait()
    finally:
        await receiver.stop()
        await bus.stop()
        await engine.stop(pool=settings.db_pool)


def _cmd_inbound(args: argparse.Namespace) -> int:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_inbound(args.port))
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
    if not active and settings.channels == "postgres":
        # Running instances close this user's websockets at once; with the in-process bus
        # they notice within a minute, when they re-check the session.
        bus = make_bus(settings.channels, settings.database_url)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="guichet", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the web application")
    serve.add_argument("--host", default="")
    serve.add_argument("--port", type=int, default=0)
    serve.set_defaults(func=_cmd_serve)
    inbound = sub.add_parser("inbound", help="run only the SMTP receiver for replies by mail")
    inbound.add_argument("--port", type=int, default=0)
    inbound.set_defaults(func=_cmd_inbound)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=_cmd_migrate)
    sub.add_parser("demo", help="load the fictional demo data (once)").set_defaults(func=_cmd_demo)
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
