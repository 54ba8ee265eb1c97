"""The catalogue under /api/v1/catalogue, for admins only (a 404 for anyone else, like the
admin pages): categories, request types, groups, and the whole catalogue as one document to
export or import. Errors have the API's usual shape: ``{"error": ..., "fields": {...}}``;
an import's faults are keyed ``"line:column"``.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED

from server import i18n
from server.db import catalogue as read
from server.domain.catalogue import parse_category, parse_group, parse_request_type
from server.services import catalogue, catalogue_files, teams
from server.web.admin import requires_admin
from server.web.api_support import READ_ERRORS, documented
from server.web.params import DbInt


class CategoryIn(msgspec.Struct, kw_only=True):
    name: str
    name_en: str = ""
    name_ru: str = ""
    description: str = ""
    description_en: str = ""
    description_ru: str = ""
    code: str = ""
    parent_id: DbInt | None = None
    default_priority: str = "medium"
    default_group_id: DbInt | None = None
    establishment_id: DbInt | None = None
    position: DbInt = 0


class RequestTypeIn(msgspec.Struct, kw_only=True):
    name: str
    name_en: str = ""
    name_ru: str = ""
    code: str = ""
    priority: str = ""  # empty: the category's
    group_id: DbInt | None = None  # none: the category's
    position: DbInt = 0


class GroupIn(msgspec.Struct, kw_only=True):
    name: str
    name_en: str = ""
    name_ru: str = ""
    description: str = ""
    description_en: str = ""
    description_ru: str = ""
    tier: DbInt = 1
    email: str = ""
    next_tier_id: DbInt | None = None


class Activity(msgspec.Struct, kw_only=True):
    active: bool


class Created(msgspec.Struct):
    id: int


class CatalogueDocument(msgspec.Struct, kw_only=True):
    items: list[dict[str, Any]]
    format: str = catalogue_files.FORMAT_NAME
    version: int = catalogue_files.FORMAT_VERSION


class ImportResult(msgspec.Struct):
    groups: int
    categories: int
    request_types: int


def _raw(body: msgspec.Struct) -> dict[str, str]:
    """The body as the form parsers read it (the same rules as the admin pages)."""
    return {k: "" if v is None else str(v) for k, v in msgspec.structs.asdict(body).items()}


@documented(READ_ERRORS)
class CatalogueApi(Controller):
    path = "/api/v1/catalogue"
    guards = [requires_admin]
    tags = ["catalogue"]
    security = [{"BearerToken": []}]

    @get("/", operation_id="ExportCatalogue")
    async def export(self, request: Request) -> Response[Any]:
        """The whole catalogue (groups, categories, request types, every language), as the
        JSON document ``import`` takes back; ``?format=csv`` gives the same rows as CSV."""
        rows = await catalogue_files.export_rows()
        if request.query_params.get("format") == "csv":
            return Response(content=catalogue_files.to_csv(rows), media_type="text/csv")
        return Response(content=CatalogueDocument(items=rows))

    @post("/import", operation_id="ImportCatalogue", status_code=200)
    async def import_document(
        self, request: Request, data: JSONBody[CatalogueDocument]
    ) -> ImportResult:
        """All or nothing; applying the same document twice changes nothing."""
        summary = await catalogue_files.import_rows(request.user.actor, data.items)
        return ImportResult(summary.groups, summary.categories, summary.request_types)

    @get("/categories", operation_id="ListCategories")
    async def categories(self) -> list[dict[str, Any]]:
        """Every category (archived ones too) in tree order, named in the caller's
        language, with its request types."""
        language = i18n.get_locale()
        snap = await read.snapshot()
        return [
            {
                "id": row["id"],
                "code": row["code"],
                "name": row["label"],
                "parent_id": row["parent"],
                "default_priority": row["default_priority"],
                "default_group_id": row["default_group"],
                "establishment_id": row["establishment"],
                "position": row["position"],
                "active": row["active"],
                "request_types": [
                    {
                        "id": t["id"],
                        "code": t["code"],
                        "name": snap.type_name(t["id"], language),
                        "priority": t["priority"] or None,
                        "group_id": t["group"],
                        "active": t["active"],
                    }
                    for t in snap.types_of(row["id"], offered_only=False)
                ],
            }
            for row in await catalogue.admin_tree(language)
        ]

    @post("/categories", operation_id="CreateCategory", status_code=HTTP_201_CREATED)
    async def create_category(self, request: Request, data: JSONBody[CategoryIn]) -> Created:
        return Created(
            await catalogue.save_category(request.user.actor, None, parse_category(_raw(data)))
        )

    @post("/categories/{category_id:int}", operation_id="UpdateCategory", status_code=200)
    async def update_category(
        self, request: Request, category_id: FromPath[int], data: JSONBody[CategoryIn]
    ) -> Created:
        """Replaces every field (rename, move, routing, order, translations)."""
        return Created(
            await catalogue.save_category(
                request.user.actor, category_id, parse_category(_raw(data))
            )
        )

    @post("/categories/{category_id:int}/active", operation_id="ArchiveCategory", status_code=200)
    async def category_active(
        self, request: Request, category_id: FromPath[int], data: JSONBody[Activity]
    ) -> Created:
        await catalogue.set_category_active(request.user.actor, category_id, data.active)
        return Created(category_id)

    @post(
        "/categories/{category_id:int}/request-types",
        operation_id="CreateRequestType",
        status_code=HTTP_201_CREATED,
    )
    async def create_request_type(
        self, request: Request, category_id: FromPath[int], data: JSONBody[RequestTypeIn]
    ) -> Created:
        form = parse_request_type(_raw(data))
        return Created(
            await catalogue.save_request_type(request.user.actor, category_id, None, form)
        )

    @post("/groups", operation_id="CreateGroup", status_code=HTTP_201_CREATED)
    async def create_group(self, request: Request, data: JSONBody[GroupIn]) -> Created:
        form = parse_group(_raw(data))
        return Created(await teams.save_group(request.user.actor, None, form))

    @post("/groups/{group_id:int}", operation_id="UpdateGroup", status_code=200)
    async def update_group(
        self, request: Request, group_id: FromPath[int], data: JSONBody[GroupIn]
    ) -> Created:
        return Created(
            await teams.save_group(request.user.actor, group_id, parse_group(_raw(data)))
        )
