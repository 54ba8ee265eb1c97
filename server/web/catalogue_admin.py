"""Admin pages of the service catalogue: the categories tree, one category (names in each
language, routing, request types, archive, history), import and export.

Plain forms, post/redirect/get; a refused change re-renders its page with the reasons (422)
and what was typed. These pages are a 404 for everyone but active admins.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from server import i18n
from server.db import queries
from server.domain.catalogue import ImportRejected, parse_category, parse_request_type
from server.domain.errors import GuichetError, NotFound
from server.domain.text import N_
from server.services import catalogue, catalogue_files, organisation
from server.web.admin import requires_admin
from server.web.errors import field_messages, status_of
from server.web.params import form_dict

ADMIN = {"guards": [requires_admin], "include_in_schema": False}
# Larger than any real catalogue, small enough to read in memory.
IMPORT_LIMIT = 5 * 1024 * 1024
NO_FILE = N_("Choose a file to import.")


async def _choices() -> dict[str, Any]:
    return {
        "tree": await catalogue.admin_tree(i18n.get_locale()),
        "groups": await queries.groups(),
        "establishments": await organisation.establishments_as_tree(),
    }


async def _catalogue_page(
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    import_faults: list[tuple[int, str, str]] | None = None,
    imported: bool = False,
) -> Template:
    return Template(
        template_name="admin/catalogue.html",
        context={
            **await _choices(),
            "errors": errors or {},
            "values": values or {},
            "import_faults": [
                (line, column, i18n.gettext(message))
                for line, column, message in import_faults or []
            ],
            "imported": imported,
        },
        status_code=status,
    )


@get("/admin/catalogue", **ADMIN)
async def catalogue_page(request: Request) -> Template:
    return await _catalogue_page(imported=request.query_params.get("imported", "") == "1")


@post("/admin/catalogue", **ADMIN)
async def create_category(request: Request) -> Response[Any]:
    values = form_dict(await request.form())
    try:
        category_id = await catalogue.save_category(
            request.user.actor, None, parse_category(values)
        )
    except GuichetError as exc:
        return await _catalogue_page(status_of(exc), field_messages(exc), values)
    return Redirect(path=f"/admin/catalogue/{category_id}", status_code=303)


async def _category_page(
    category_id: int,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    type_errors: dict[str, str] | None = None,
    type_values: dict[str, str] | None = None,
) -> Template:
    try:
        current = await catalogue.category_values(category_id)
    except NotFound:
        raise NotFoundException() from None
    choices = await _choices()
    row = next(r for r in choices["tree"] if r["id"] == category_id)
    return Template(
        template_name="admin/category.html",
        context={
            **choices,
            "row": row,
            "values": values or current,
            "errors": errors or {},
            "types": await catalogue.request_types_of(category_id, i18n.get_locale()),
            "type_errors": type_errors or {},
            "type_values": type_values or {},
            "history": await catalogue.history("category", category_id),
        },
        status_code=status,
    )


@get("/admin/catalogue/{category_id:int}", **ADMIN)
async def category_page(category_id: FromPath[int]) -> Template:
    return await _category_page(category_id)


@post("/admin/catalogue/{category_id:int}", **ADMIN)
async def update_category(request: Request, category_id: FromPath[int]) -> Response[Any]:
    values = form_dict(await request.form())
    try:
        await catalogue.save_category(request.user.actor, category_id, parse_category(values))
    except NotFound:
        raise NotFoundException() from None
    except GuichetError as exc:
        return await _category_page(category_id, status_of(exc), field_messages(exc), values)
    return Redirect(path=f"/admin/catalogue/{category_id}", status_code=303)


@post("/admin/catalogue/{category_id:int}/active", **ADMIN)
async def category_active(request: Request, category_id: FromPath[int]) -> Response[Any]:
    values = form_dict(await request.form())
    try:
        await catalogue.set_category_active(
            request.user.actor, category_id, values.get("active") == "1"
        )
    except NotFound:
        raise NotFoundException() from None
    return Redirect(path=f"/admin/catalogue/{category_id}", status_code=303)


@post("/admin/catalogue/{category_id:int}/delete", **ADMIN)
async def delete_category(request: Request, category_id: FromPath[int]) -> Response[Any]:
    try:
        await catalogue.delete_category(request.user.actor, category_id)
    except NotFound:
        raise NotFoundException() from None
    except GuichetError as exc:
        return await _category_page(category_id, status_of(exc), field_messages(exc))
    return Redirect(path="/admin/catalogue", status_code=303)


@post("/admin/catalogue/{category_id:int}/types", **ADMIN)
async def add_request_type(request: Request, category_id: FromPath[int]) -> Response[Any]:
    values = form_dict(await request.form())
    try:
        await catalogue.save_request_type(
            request.user.actor, category_id, None, parse_request_type(values)
        )
    except NotFound:
        raise NotFoundException() from None
    except GuichetError as exc:
        return await _category_page(
            category_id, status_of(exc), type_errors=field_messages(exc), type_values=values
        )
    return Redirect(path=f"/admin/catalogue/{category_id}", status_code=303)


@post("/admin/catalogue/{category_id:int}/types/{type_id:int}", **ADMIN)
async def update_request_type(
    request: Request, category_id: FromPath[int], type_id: FromPath[int]
) -> Response[Any]:
    values = form_dict(await request.form())
    try:
        if "active" in values and "name" not in values:
            await catalogue.set_request_type_active(
                request.user.actor, category_id, type_id, values["active"] == "1"
            )
        else:
            await catalogue.save_request_type(
                request.user.actor, category_id, type_id, parse_request_type(values)
            )
    except NotFound:
        raise NotFoundException() from None
    except GuichetError as exc:
        messages = {f"{type_id}-{k}": v for k, v in field_messages(exc).items()}
        return await _category_page(
            category_id,
            status_of(exc),
            type_errors=messages,
            type_values={f"{type_id}-{k}": v for k, v in values.items()},
        )
    return Redirect(path=f"/admin/catalogue/{category_id}", status_code=303)


@get("/admin/catalogue/export", **ADMIN)
async def export_catalogue(request: Request) -> Response[str]:
    chosen = request.query_params.get("format", "json")
    rows = await catalogue_files.export_rows()
    if chosen == "csv":
        body, media, suffix = catalogue_files.to_csv(rows), "text/csv; charset=utf-8", "csv"
    else:
        body, media, suffix = catalogue_files.to_json(rows), "application/json", "json"
    return Response(
        content=body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="catalogue.{suffix}"'},
    )


@post("/admin/catalogue/import", request_max_body_size=IMPORT_LIMIT, **ADMIN)
async def import_catalogue(request: Request) -> Response[Any]:
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        return await _catalogue_page(422, import_faults=[(1, "file", NO_FILE)])
    content = await upload.read()
    chosen = str(form.get("format") or "") or catalogue_files.guess_format(
        upload.filename or "", content
    )
    try:
        rows, first = catalogue_files.read_file(content, chosen)
        await catalogue_files.import_rows(request.user.actor, rows, first)
    except ImportRejected as exc:
        return await _catalogue_page(422, import_faults=exc.lines)
    return Redirect(path="/admin/catalogue?imported=1", status_code=303)


ROUTES = [
    catalogue_page,
    create_category,
    category_page,
    update_category,
    category_active,
    delete_category,
    add_request_type,
    update_request_type,
    export_catalogue,
    import_catalogue,
]
