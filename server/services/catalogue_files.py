"""Export and import of the catalogue (groups, categories tree, request types, with their
names in every language) as CSV or JSON, so a desk coming from GLPI or OTRS loads its
catalogue in one step.

Both formats carry the same flat rows (``server.domain.catalogue.COLUMNS``): groups are keyed
by name, categories by code (``parent`` is the parent's code), request types by their
category's code and their own. Import is all-or-nothing: every row is checked first and the
faults are reported per line; applying the same file twice changes nothing the second time.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from server.db.catalogue_tables import LabelTranslation, RequestType
from server.db.engine import write_transaction
from server.db.tables import Category, Establishment, Group
from server.domain.actors import Actor
from server.domain.catalogue import (
    COLUMNS,
    DEFAULT_LANGUAGE,
    LANGUAGES,
    CategoryForm,
    GroupForm,
    ImportRejected,
    RequestTypeForm,
    Row,
    plan_import,
)
from server.domain.text import N_
from server.domain.vocabulary import Priority
from server.services import catalogue, teams

FORMAT_NAME = "guichet-catalogue"
FORMAT_VERSION = 1


async def _texts() -> dict[tuple[str, int, str], dict[str, str]]:
    found: dict[tuple[str, int, str], dict[str, str]] = {}
    for row in await LabelTranslation.select().where(
        LabelTranslation.entity.is_in(["category", "request_type", "group"])
    ):
        found.setdefault((row["entity"], row["entity_id"], row["field"]), {})[row["language"]] = (
            row["text"]
        )
    return found


def _labelled(
    texts: dict[tuple[str, int, str], dict[str, str]],
    entity: str,
    entity_id: int,
    name: str,
    description: str,
) -> dict[str, str]:
    out: dict[str, str] = {}
    for field, default in (("name", name), ("description", description)):
        own = texts.get((entity, entity_id, field), {})
        for lang in LANGUAGES:
            out[f"{field}_{lang}"] = default if lang == DEFAULT_LANGUAGE else own.get(lang, "")
    return out


def _blank() -> dict[str, Any]:
    return dict.fromkeys(COLUMNS, "")


async def export_rows() -> list[dict[str, Any]]:
    """Every group, category and request type (archived ones too), in a stable order:
    groups by name, categories parents first (by order then code), types by category."""
    async with write_transaction():
        await catalogue.ensure_codes()
    texts = await _texts()
    groups = await Group.select().order_by(Group.name)
    group_names = {g["id"]: g["name"] for g in groups}
    establishments = {
        e["id"]: e["code"] for e in await Establishment.select(Establishment.id, Establishment.code)
    }
    rows: list[dict[str, Any]] = []
    for g in groups:
        row = _blank()
        row.update(kind="group", tier=g["tier"], email=g["email"], active=True, position=0)
        row.update(_labelled(texts, "group", g["id"], g["name"], g["description"]))
        row["next_tier"] = group_names.get(g["next_tier"], "")
        rows.append(row)
    categories = await Category.select()
    by_id = {c["id"]: c for c in categories}
    children: dict[int | None, list[dict[str, Any]]] = {}
    for c in categories:
        children.setdefault(c["parent"], []).append(c)
    ordered: list[dict[str, Any]] = []

    def walk(parent: int | None) -> None:
        for c in sorted(children.get(parent, []), key=lambda c: (c["position"], c["code"])):
            ordered.append(c)
            walk(c["id"])

    walk(None)
    for c in ordered:
        row = _blank()
        row.update(
            kind="category",
            code=c["code"],
            parent=by_id[c["parent"]]["code"] if c["parent"] in by_id else "",
            priority=c["default_priority"],
            group=group_names.get(c["default_group"], ""),
            establishment=establishments.get(c["establishment"], ""),
            position=c["position"],
            active=c["active"],
        )
        row.update(_labelled(texts, "category", c["id"], c["name"], c["description"]))
        rows.append(row)
    order = {c["id"]: index for index, c in enumerate(ordered)}
    types = await RequestType.select().where(RequestType.system == False)  # noqa: E712
    for t in sorted(types, key=lambda t: (order.get(t["category"], 0), t["position"], t["code"])):
        row = _blank()
        row.update(
            kind="request_type",
            code=t["code"],
            parent=by_id[t["category"]]["code"] if t["category"] in by_id else "",
            priority=t["priority"],
            group=group_names.get(t["group"], ""),
            position=t["position"],
            active=t["active"],
        )
        row.update(_labelled(texts, "request_type", t["id"], t["name"], ""))
        rows.append(row)
    return rows


def to_json(rows: list[dict[str, Any]]) -> str:
    document = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "items": rows}
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row[k]) for k in COLUMNS})
    return out.getvalue()


def read_file(data: bytes, file_format: str) -> tuple[list[dict[str, Any]], int]:
    """The rows of a file and the line number of the first one (2 in CSV: after the
    header). A file that cannot be read at all is one fault on line 1."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRejected([(1, "file", N_("The file must be UTF-8 text."))]) from None
    if file_format == "json":
        try:
            document = json.loads(text)
        except ValueError:
            raise ImportRejected([(1, "file", N_("The file is not valid JSON."))]) from None
        items = document.get("items") if isinstance(document, dict) else None
        if not isinstance(items, list):
            raise ImportRejected(
                [(1, "file", N_("The file has no list of catalogue items."))]
            )
        return items, 1
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("kind", "code", f"name_{DEFAULT_LANGUAGE}") if c not in (
        reader.fieldnames or []
    )]
    if missing:
        raise ImportRejected([(1, "file", N_("The CSV header lacks required columns."))])
    return list(reader), 2


def guess_format(filename: str, data: bytes) -> str:
    if filename.lower().endswith(".json") or data.lstrip()[:1] == b"{":
        return "json"
    return "csv"


@dataclass(frozen=True)
class ImportSummary:
    groups: int
    categories: int
    request_types: int


async def import_rows(
    actor: Actor | None, rows: Iterable[Any], first_line: int = 1
) -> ImportSummary:
    """Check everything, then apply everything in one transaction (or nothing)."""
    catalogue.admin_only(actor)
    rows = list(rows)
    async with write_transaction():
        await catalogue.ensure_codes()
        existing = await Category.select(Category.id, Category.code, Category.parent)
        places = await Establishment.select(Establishment.id, Establishment.code)
        code_of = {c["id"]: c["code"] for c in existing}
        plan = plan_import(
            rows,
            known_categories={c["code"]: code_of.get(c["parent"]) for c in existing},
            known_groups=[g["name"] for g in await Group.select(Group.name)],
            known_establishments=[e["code"] for e in places],
            first_line=first_line,
        )
        group_ids = {g["name"]: g["id"] for g in await Group.select(Group.id, Group.name)}
        establishment_ids = {e["code"]: e["id"] for e in places}
        for r in plan.groups:
            group_ids[r.code] = await _apply_group(actor, r, group_ids.get(r.code), None)
        for r in plan.groups:
            # Second pass: the next tier may be a group defined further down the file.
            await _apply_group(actor, r, group_ids[r.code], group_ids.get(r.next_tier))
        category_ids = {c["code"]: c["id"] for c in existing}
        for r in plan.categories:
            category_ids[r.code] = await _apply_category(
                actor, r, category_ids, group_ids, establishment_ids
            )
        for r in plan.request_types:
            await _apply_type(actor, r, category_ids[r.parent], group_ids)
    return ImportSummary(len(plan.groups), len(plan.categories), len(plan.request_types))


async def _apply_group(
    actor: Actor | None, r: Row, group_id: int | None, next_tier_id: int | None
) -> int:
    if group_id is not None and next_tier_id is None and r.next_tier:
        return group_id  # first pass on an existing group: its next tier comes second
    form = GroupForm(
        names=r.names,
        descriptions=r.descriptions,
        tier=r.tier,
        email=r.email,
        next_tier_id=next_tier_id,
    )
    return await teams.save_group(actor, group_id, form)


async def _apply_category(
    actor: Actor | None,
    r: Row,
    category_ids: dict[str, int],
    group_ids: dict[str, int],
    establishment_ids: dict[str, int],
) -> int:
    form = CategoryForm(
        code=r.code,
        names=r.names,
        descriptions=r.descriptions,
        parent_id=category_ids[r.parent] if r.parent else None,
        default_priority=r.priority or Priority.MEDIUM,
        default_group_id=group_ids[r.group] if r.group else None,
        establishment_id=establishment_ids[r.establishment] if r.establishment else None,
        position=r.position,
    )
    category_id = await catalogue.save_category(actor, category_ids.get(r.code), form)
    await catalogue.set_category_active(actor, category_id, r.active)
    return category_id


async def _apply_type(
    actor: Actor | None, r: Row, category_id: int, group_ids: dict[str, int]
) -> None:
    found = (
        await RequestType.select(RequestType.id)
        .where((RequestType.category == category_id) & (RequestType.code == r.code))
        .first()
    )
    form = RequestTypeForm(
        code=r.code,
        names=r.names,
        priority=r.priority,
        group_id=group_ids[r.group] if r.group else None,
        position=r.position,
    )
    type_id = await catalogue.save_request_type(
        actor, category_id, found["id"] if found else None, form
    )
    await catalogue.set_request_type_active(actor, category_id, type_id, r.active)
