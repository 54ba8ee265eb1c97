"""Admin changes to the service catalogue (categories, request types), shared by the admin
pages, the API and the ``guichet catalogue`` command; the history and translation helpers
that groups (``server.services.teams``) and announcements reuse; routing of new tickets.

Each change is one transaction that also appends what changed to the catalogue history
(actor None: the command line). Names and descriptions are kept per language: the row's own
column holds the default (French) text, ``label_translation`` the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from server.db import catalogue as read
from server.db.catalogue_tables import CatalogueHistory, LabelTranslation, RequestType
from server.db.engine import write_transaction
from server.db.kb_tables import KbArticle
from server.db.tables import Category, Establishment, Group, Ticket
from server.domain import routing
from server.domain.actors import Actor
from server.domain.catalogue import (
    DEFAULT_LANGUAGE,
    OTHER_LANGUAGES,
    UNSPECIFIED,
    CategoryForm,
    RequestTypeForm,
    moves_under_itself,
    slug,
)
from server.domain.errors import Forbidden, NotFound, ValidationFailed
from server.domain.permissions import can_administer
from server.domain.text import N_
from server.domain.vocabulary import Priority, Source


def admin_only(actor: Actor | None) -> None:
    """The command line (actor None) is the operator; otherwise admins only."""
    if actor is not None and not can_administer(actor):
        raise Forbidden()


async def record_change(
    entity: str, entity_id: int, actor: Actor | None, changes: Iterable[tuple[str, Any, Any]]
) -> None:
    rows = [
        CatalogueHistory(
            entity=entity,
            entity_id=entity_id,
            actor=actor.id if actor is not None and actor.id else None,
            field=name,
            old_value="" if old is None else str(old)[:500],
            new_value="" if new is None else str(new)[:500],
        )
        for name, old, new in changes
        if (old or "") != (new or "")
    ]
    if rows:
        await CatalogueHistory.insert(*rows)


async def history(entity: str, entity_id: int) -> list[dict[str, Any]]:
    """Newest first, with the actor's name."""
    return (
        await CatalogueHistory.select(
            *CatalogueHistory.all_columns(),
            CatalogueHistory.actor.full_name.as_alias("actor_name"),
        )
        .where((CatalogueHistory.entity == entity) & (CatalogueHistory.entity_id == entity_id))
        .order_by(CatalogueHistory.id, ascending=False)
    )


async def translations(entity: str, entity_id: int) -> dict[str, dict[str, str]]:
    """field -> language -> text."""
    found: dict[str, dict[str, str]] = {}
    for row in await LabelTranslation.select().where(
        (LabelTranslation.entity == entity) & (LabelTranslation.entity_id == entity_id)
    ):
        found.setdefault(row["field"], {})[row["language"]] = row["text"]
    return found


async def set_translations(
    entity: str,
    entity_id: int,
    field: str,
    texts: Mapping[str, str],
    actor: Actor | None,
) -> None:
    """Store the non-default languages of one field; an empty text removes the translation."""
    current = (await translations(entity, entity_id)).get(field, {})
    for language in OTHER_LANGUAGES:
        new = texts.get(language, "")
        old = current.get(language, "")
        if new == old:
            continue
        where = (
            (LabelTranslation.entity == entity)
            & (LabelTranslation.entity_id == entity_id)
            & (LabelTranslation.field == field)
            & (LabelTranslation.language == language)
        )
        await LabelTranslation.delete().where(where)
        if new:
            await LabelTranslation.insert(
                LabelTranslation(
                    entity=entity, entity_id=entity_id, field=field, language=language, text=new
                )
            )
        await record_change(entity, entity_id, actor, [(f"{field}_{language}", old, new)])


async def translate(
    entity: str, entity_id: int, field: str, texts: Mapping[str, str], actor: Actor | None
) -> None:
    """For other modules' named things (announcements): store their translations."""
    await set_translations(entity, entity_id, field, texts, actor)


# Categories -----------------------------------------------------------------------------


async def _category_parents() -> dict[int, int | None]:
    return {r["id"]: r["parent"] for r in await Category.select(Category.id, Category.parent)}


async def _check_category(category_id: int | None, form: CategoryForm) -> None:
    errors: dict[str, str] = {}
    parents = await _category_parents()
    if form.parent_id is not None and form.parent_id not in parents:
        errors["parent_id"] = N_("Choose one of the proposed values.")
    elif category_id is not None and moves_under_itself(category_id, form.parent_id, parents):
        errors["parent_id"] = N_("A category cannot be placed under itself.")
    clash = Category.code == form.code
    if category_id is not None:
        clash = clash & (Category.id != category_id)
    if await Category.exists().where(clash):
        errors["code"] = N_("Another category already uses this code.")
    if form.default_group_id is not None and not await Group.exists().where(
        Group.id == form.default_group_id
    ):
        errors["default_group_id"] = N_("Choose one of the proposed values.")
    if form.establishment_id is not None and not await Establishment.exists().where(
        Establishment.id == form.establishment_id
    ):
        errors["establishment_id"] = N_("Choose one of the proposed values.")
    if errors:
        raise ValidationFailed(errors)


async def name_of(table: Any, row_id: int | None) -> str:
    if row_id is None:
        return ""
    column = table.code if table is Establishment else table.name
    row = await table.select(column).where(table.id == row_id).first()
    return next(iter(row.values())) if row else ""


async def save_category(actor: Actor | None, category_id: int | None, form: CategoryForm) -> int:
    """Create (``category_id`` None) or change a category: name, move, routing, order..."""
    admin_only(actor)
    async with write_transaction():
        before = None
        if category_id is not None:
            before = await Category.select().where(Category.id == category_id).first()
            if before is None:
                raise NotFound()
        await _check_category(category_id, form)
        values = {
            Category.code: form.code,
            Category.name: form.names[DEFAULT_LANGUAGE],
            Category.description: form.descriptions[DEFAULT_LANGUAGE],
            Category.parent: form.parent_id,
            Category.default_priority: form.default_priority.value,
            Category.default_group: form.default_group_id,
            Category.establishment: form.establishment_id,
            Category.position: form.position,
        }
        if before is None:
            row = await Category.insert(
                Category(**{column._meta.name: value for column, value in values.items()})
            ).returning(Category.id)
            category_id = row[0]["id"]
            await record_change("category", category_id, actor, [("created", "", form.code)])
            before = {}
        else:
            await Category.update(values).where(Category.id == category_id)
        assert category_id is not None
        changes = []
        for column, value in values.items():
            name = column._meta.name
            old = before.get(name)
            if name in ("parent", "default_group", "establishment"):
                table = {"parent": Category, "default_group": Group}.get(name, Establishment)
                if (old or None) != value:
                    changes.append((name, await name_of(table, old), await name_of(table, value)))
            elif before and old != value:
                changes.append((name, old, value))
        await record_change("category", category_id, actor, changes)
        await set_translations("category", category_id, "name", form.names, actor)
        await set_translations("category", category_id, "description", form.descriptions, actor)
        return category_id


async def set_category_active(actor: Actor | None, category_id: int, active: bool) -> None:
    """Archive (or bring back) a category: archived ones are offered to nobody but keep
    their tickets."""
    admin_only(actor)
    async with write_transaction():
        row = await Category.select(Category.active).where(Category.id == category_id).first()
        if row is None:
            raise NotFound()
        if row["active"] != active:
            await Category.update({Category.active: active}).where(Category.id == category_id)
            await record_change("category", category_id, actor, [("active", row["active"], active)])


async def delete_category(actor: Actor | None, category_id: int) -> None:
    """Only a category nothing uses: no ticket, no subcategory, no article. Others are
    archived instead."""
    admin_only(actor)
    async with write_transaction():
        if not await Category.exists().where(Category.id == category_id):
            raise NotFound()
        if (
            await Ticket.exists().where(Ticket.category == category_id)
            or await Category.exists().where(Category.parent == category_id)
            or await KbArticle.exists().where(KbArticle.category == category_id)
        ):
            raise ValidationFailed(
                {"__all__": N_("This category is in use: archive it instead of deleting it.")}
            )
        types = [r["id"] for r in await RequestType.select(RequestType.id).where(
            RequestType.category == category_id
        )]
        if types and await Ticket.exists().where(Ticket.request_type.is_in(types)):
            raise ValidationFailed(
                {"__all__": N_("This category is in use: archive it instead of deleting it.")}
            )
        await RequestType.delete().where(RequestType.category == category_id)
        await LabelTranslation.delete().where(
            (LabelTranslation.entity == "category") & (LabelTranslation.entity_id == category_id)
        )
        await Category.delete().where(Category.id == category_id)
        await record_change("category", category_id, actor, [("deleted", "", "1")])


async def category_id_by_code(code: str) -> int | None:
    row = await Category.select(Category.id).where(Category.code == code).first()
    return row["id"] if row else None


# Request types --------------------------------------------------------------------------


async def save_request_type(
    actor: Actor | None, category_id: int, type_id: int | None, form: RequestTypeForm
) -> int:
    admin_only(actor)
    async with write_transaction():
        if not await Category.exists().where(Category.id == category_id):
            raise NotFound()
        before: dict[str, Any] = {}
        if type_id is not None:
            found = (
                await RequestType.select()
                .where((RequestType.id == type_id) & (RequestType.category == category_id))
                .first()
            )
            if found is None or found["system"]:
                raise NotFound()
            before = found
        errors: dict[str, str] = {}
        clash = (RequestType.category == category_id) & (RequestType.code == form.code)
        if type_id is not None:
            clash = clash & (RequestType.id != type_id)
        if await RequestType.exists().where(clash):
            errors["code"] = N_("Another request type of this category uses this code.")
        if form.group_id is not None and not await Group.exists().where(Group.id == form.group_id):
            errors["group_id"] = N_("Choose one of the proposed values.")
        if errors:
            raise ValidationFailed(errors)
        values = {
            RequestType.code: form.code,
            RequestType.name: form.names[DEFAULT_LANGUAGE],
            RequestType.priority: form.priority.value if form.priority else "",
            RequestType.group: form.group_id,
            RequestType.position: form.position,
        }
        if type_id is None:
            row = await RequestType.insert(
                RequestType(
                    category=category_id,
                    **{column._meta.name: value for column, value in values.items()},
                )
            ).returning(RequestType.id)
            type_id = row[0]["id"]
        else:
            await RequestType.update(values).where(RequestType.id == type_id)
        assert type_id is not None
        changes = [
            (
                f"type {form.code}: {column._meta.name}",
                before.get(column._meta.name),
                value if column is not RequestType.group else await name_of(Group, value),
            )
            for column, value in values.items()
            if before.get(column._meta.name) != value
        ]
        await record_change("category", category_id, actor, changes)
        await set_translations("request_type", type_id, "name", form.names, actor)
        return type_id


async def set_request_type_active(
    actor: Actor | None, category_id: int, type_id: int, active: bool
) -> None:
    admin_only(actor)
    async with write_transaction():
        row = (
            await RequestType.select()
            .where((RequestType.id == type_id) & (RequestType.category == category_id))
            .first()
        )
        if row is None or row["system"]:
            raise NotFound()
        if row["active"] != active:
            await RequestType.update({RequestType.active: active}).where(RequestType.id == type_id)
            await record_change(
                "category",
                category_id,
                actor,
                [(f"type {row['code']}: active", row["active"], active)],
            )


async def unspecified_type() -> int:
    """The system's "Unspecified" request type (mailed tickets), made on first use."""
    row = (
        await RequestType.select(RequestType.id)
        .where((RequestType.system == True) & (RequestType.code == UNSPECIFIED))  # noqa: E712
        .first()
    )
    if row is not None:
        return row["id"]
    made = await RequestType.insert(
        RequestType(category=None, code=UNSPECIFIED, name="Non précisé", system=True)
    ).returning(RequestType.id)
    type_id = made[0]["id"]
    for language, text in (("en", "Unspecified"), ("ru", "Не указан")):
        await LabelTranslation.insert(
            LabelTranslation(
                entity="request_type", entity_id=type_id, field="name", language=language, text=text
            )
        )
    return type_id


# Routing a new ticket -------------------------------------------------------------------


async def route_new_ticket(
    category_id: int | None,
    request_type_id: int | None,
    chosen_priority: Priority | None,
    source: Source,
) -> tuple[Priority, int | None, int | None]:
    """Priority, group and request type of a new ticket, by category then request type.
    A type must be one the category offers; mailed tickets get the "Unspecified" type."""
    snap = await read.snapshot()
    chain = snap.ancestors(category_id) if category_id is not None else []
    type_route = None
    if request_type_id is not None:
        offered = {t["id"]: t for t in snap.types_of(category_id)} if category_id else {}
        chosen = offered.get(request_type_id)
        if chosen is None:
            raise ValidationFailed({"request_type_id": N_("Choose one of the proposed values.")})
        type_route = routing.TypeRoute(
            priority=Priority(chosen["priority"]) if chosen["priority"] else None,
            group_id=chosen["group"],
        )
    elif source is Source.MAIL:
        request_type_id = await unspecified_type()
    result = routing.route(
        [
            routing.CategoryRoute(Priority(c["default_priority"]), c["default_group"])
            for c in chain
        ],
        type_route,
        chosen_priority,
    )
    return result.priority, result.group_id, request_type_id


async def category_values(category_id: int) -> dict[str, str]:
    """A category as its form's raw values (what ``parse_category`` reads back)."""
    row = await Category.select().where(Category.id == category_id).first()
    if row is None:
        raise NotFound()
    texts = await translations("category", category_id)
    values = {
        "code": row["code"],
        "name": row["name"],
        "description": row["description"],
        "parent_id": str(row["parent"] or ""),
        "default_priority": row["default_priority"],
        "default_group_id": str(row["default_group"] or ""),
        "establishment_id": str(row["establishment"] or ""),
        "position": str(row["position"]),
    }
    for language in OTHER_LANGUAGES:
        values[f"name_{language}"] = texts.get("name", {}).get(language, "")
        values[f"description_{language}"] = texts.get("description", {}).get(language, "")
    return values


async def admin_tree(language: str) -> list[dict[str, Any]]:
    """Every category, archived ones too, parents first (order, then name), each with its
    depth, its name in ``language``, its default group's name and its tickets count."""
    snap = await read.snapshot()
    children: dict[int | None, list[dict[str, Any]]] = {}
    for row in snap.categories.values():
        children.setdefault(row["parent"], []).append(row)
    ordered: list[dict[str, Any]] = []

    def walk(parent: int | None, depth: int) -> None:
        rows = children.get(parent, [])
        rows = sorted(rows, key=lambda r: (r["position"], snap.category_name(r["id"], language)))
        for row in rows:
            ordered.append(
                {
                    **row,
                    "depth": depth,
                    "label": snap.category_name(row["id"], language),
                    "group_name": snap.group_name(row["default_group"], language),
                }
            )
            walk(row["id"], depth + 1)

    walk(None, 0)
    return ordered


async def request_types_of(category_id: int, language: str) -> list[dict[str, Any]]:
    snap = await read.snapshot()
    rows = []
    for row in snap.types_of(category_id, offered_only=False):
        texts = await translations("request_type", row["id"])
        rows.append(
            {
                **row,
                "label": snap.type_name(row["id"], language),
                "names": texts.get("name", {}),
                "group_name": snap.group_name(row["group"], language),
            }
        )
    return rows


async def ensure_codes() -> None:
    """Give every category without a code one made from its name (categories created before
    codes existed, or by bulk loads): import and export match categories by code."""
    rows = await Category.select(Category.id, Category.name, Category.code)
    taken = {r["code"] for r in rows if r["code"]}
    for row in rows:
        if row["code"]:
            continue
        base = slug(row["name"]) or "category"
        code = base if base not in taken else f"{base}-{row['id']}"
        taken.add(code)
        await Category.update({Category.code: code}).where(Category.id == row["id"])
