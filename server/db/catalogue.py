"""The catalogue as readers see it: categories, request types and group names in the reader's
language, read once per configuration generation (no query per displayed row).

Every table read here bumps the generation when it changes (category, request_type,
label_translation, tech_group), so an admin's change shows on every instance at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.db import config_cache
from server.db.catalogue_tables import LabelTranslation, RequestType
from server.db.tables import Category, Establishment, Group
from server.domain.catalogue import pick_text


@dataclass(frozen=True)
class Snapshot:
    categories: dict[int, dict[str, Any]]
    request_types: dict[int, dict[str, Any]]
    groups: dict[int, dict[str, Any]]
    # (entity, id, field) -> {language: text}
    texts: dict[tuple[str, int, str], dict[str, str]]
    establishment_parents: dict[int, int | None]

    def establishment_chain(self, establishment_id: int | None) -> set[int]:
        """The establishment and every one above it."""
        chain: set[int] = set()
        current = establishment_id
        while current is not None and current not in chain:
            chain.add(current)
            current = self.establishment_parents.get(current)
        return chain

    def text(self, entity: str, entity_id: int, field: str, default: str, language: str) -> str:
        return pick_text(default, self.texts.get((entity, entity_id, field), {}), language)

    def category_name(self, category_id: int | None, language: str) -> str:
        row = self.categories.get(category_id) if category_id is not None else None
        if row is None:
            return ""
        return self.text("category", row["id"], "name", row["name"], language)

    def category_path(self, category_id: int, language: str) -> str:
        names: list[str] = []
        seen: set[int] = set()
        current: int | None = category_id
        while current is not None and current in self.categories and current not in seen:
            seen.add(current)
            names.insert(0, self.category_name(current, language))
            current = self.categories[current]["parent"]
        return " > ".join(names)

    def ancestors(self, category_id: int) -> list[dict[str, Any]]:
        """The category then its parents, nearest first."""
        chain: list[dict[str, Any]] = []
        current: int | None = category_id
        while current is not None and current in self.categories:
            if any(c["id"] == current for c in chain):
                break
            chain.append(self.categories[current])
            current = self.categories[current]["parent"]
        return chain

    def group_name(self, group_id: int | None, language: str) -> str:
        row = self.groups.get(group_id) if group_id is not None else None
        if row is None:
            return ""
        return self.text("group", row["id"], "name", row["name"], language)

    def type_name(self, type_id: int | None, language: str) -> str:
        row = self.request_types.get(type_id) if type_id is not None else None
        if row is None:
            return ""
        return self.text("request_type", row["id"], "name", row["name"], language)

    def types_of(self, category_id: int, *, offered_only: bool = True) -> list[dict[str, Any]]:
        rows = [r for r in self.request_types.values() if r["category"] == category_id]
        if offered_only:
            rows = [r for r in rows if r["active"] and not r["system"]]
        return sorted(rows, key=lambda r: (r["position"], r["code"]))


async def _load() -> Snapshot:
    categories = await Category.select()
    types = await RequestType.select()
    groups = await Group.select(Group.id, Group.name, Group.tier, Group.next_tier, Group.email)
    texts: dict[tuple[str, int, str], dict[str, str]] = {}
    for row in await LabelTranslation.select().where(
        LabelTranslation.entity.is_in(["category", "request_type", "group"])
    ):
        key = (row["entity"], row["entity_id"], row["field"])
        texts.setdefault(key, {})[row["language"]] = row["text"]
    places = await Establishment.select(Establishment.id, Establishment.parent)
    return Snapshot(
        establishment_parents={r["id"]: r["parent"] for r in places},
        categories={r["id"]: r for r in categories},
        request_types={r["id"]: r for r in types},
        groups={r["id"]: r for r in groups},
        texts=texts,
    )


async def snapshot() -> Snapshot:
    return await config_cache.cached("catalogue", _load)


def _offered_to(row: dict[str, Any], establishment_chain: set[int] | None) -> bool:
    if establishment_chain is None or row["establishment"] is None:
        return True
    return row["establishment"] in establishment_chain


async def localised_categories(
    language: str, establishment_chain: set[int] | None = None
) -> list[dict[str, Any]]:
    """Active categories, each with ``name`` and ``path`` in ``language``, in tree order
    (position, then name). ``establishment_chain`` (the reader's establishment and its
    ancestors) hides categories reserved to another subtree; None shows every one."""
    snap = await snapshot()
    rows = []
    for row in snap.categories.values():
        if not row["active"] or not _offered_to(row, establishment_chain):
            continue
        chain = snap.ancestors(row["id"])
        if any(not c["active"] or not _offered_to(c, establishment_chain) for c in chain):
            continue
        order = tuple(
            (c["position"], snap.category_name(c["id"], language).lower()) for c in reversed(chain)
        )
        rows.append(
            {
                **row,
                "name": snap.category_name(row["id"], language),
                "path": snap.category_path(row["id"], language),
                "depth": len(chain) - 1,
                "_order": order,
            }
        )
    rows.sort(key=lambda r: r["_order"])
    for r in rows:
        del r["_order"]
    return rows


async def localise_rows(rows: list[dict[str, Any]], language: str) -> list[dict[str, Any]]:
    """Give ticket rows the category, group and request type names in ``language`` (rows
    carry the ids ``category``, ``assigned_group`` and, when read, ``request_type``)."""
    if not rows:
        return rows
    snap = await snapshot()
    for row in rows:
        if "category" in row and row["category"] is not None:
            row["category_name"] = snap.category_name(row["category"], language)
        if "assigned_group" in row and row["assigned_group"] is not None:
            row["group_name"] = snap.group_name(row["assigned_group"], language)
        if row.get("request_type") is not None:
            row["request_type_name"] = snap.type_name(row["request_type"], language)
    return rows


async def localised_groups(language: str) -> list[dict[str, Any]]:
    snap = await snapshot()
    rows = [{**g, "name": snap.group_name(g["id"], language)} for g in snap.groups.values()]
    return sorted(rows, key=lambda g: (g["tier"], g["name"].lower()))


async def localise_announcements(rows: list[dict[str, Any]], language: str) -> None:
    """Banners in the reader's language: title and body translations, service names."""
    if not rows:
        return
    found = await LabelTranslation.select().where(
        (LabelTranslation.entity == "announcement")
        & LabelTranslation.entity_id.is_in([r["id"] for r in rows])
    )
    texts: dict[tuple[int, str], dict[str, str]] = {}
    for t in found:
        texts.setdefault((t["entity_id"], t["field"]), {})[t["language"]] = t["text"]
    snap = await snapshot()
    for row in rows:
        for field in ("title", "body"):
            row[field] = pick_text(row[field], texts.get((row["id"], field), {}), language)
        if row.get("service_ids"):
            row["services"] = [snap.category_name(i, language) for i in row["service_ids"]]
