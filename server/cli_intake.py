"""``guichet intake``: show or set the intake group of an establishment (issue 14)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from server.domain.actors import SYSTEM
from server.domain.errors import GuichetError


async def _intake(code: str, group: str | None, clear: bool) -> int:
    from server.db.intake import intake_group_of
    from server.db.tables import Establishment, Group
    from server.services.intake import set_intake_group

    row = await Establishment.select(Establishment.id).where(
        Establishment.code == code.upper()
    ).first()
    if row is None:
        print(f"No establishment with code {code}.", file=sys.stderr)
        return 2
    if group is not None or clear:
        group_id = None
        if group is not None:
            found = await Group.select(Group.id).where(Group.name == group).first()
            if found is None:
                print(f"No group named {group}.", file=sys.stderr)
                return 2
            group_id = found["id"]
        try:
            await set_intake_group(SYSTEM, row["id"], group_id)
        except GuichetError as exc:
            print(f"Refused: {exc.message}", file=sys.stderr)
            return 2
    current = await intake_group_of(row["id"])
    name = ""
    if current is not None:
        found = await Group.select(Group.name).where(Group.id == current).first()
        name = found["name"] if found else ""
    print(f"{code.upper()}: intake group {name or '(none)'}")
    return 0


def _cmd_intake(args: argparse.Namespace) -> int:
    return asyncio.run(_intake(args.establishment, args.group, args.clear))


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    intake = sub.add_parser(
        "intake",
        help="show or set the group receiving an establishment's uncategorised tickets",
    )
    intake.add_argument("establishment", help="trigram code of the establishment")
    choice = intake.add_mutually_exclusive_group()
    choice.add_argument("--group", help="name of the group (inherited by the establishments below)")
    choice.add_argument("--clear", action="store_true", help="inherit the parent's again")
    intake.set_defaults(func=_cmd_intake)
