"""Reading request parameters: query strings (list and board filters) with translated errors,
never a 500, and submitted forms."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException
from litestar.handlers.base import BaseRouteHandler

from server.views.query import CHOOSE, QueryReader

__all__ = ["CHOOSE", "DbId", "DbInt", "QueryReader", "form_dict", "ids_in_range"]



# Row ids are PostgreSQL ``serial`` (32-bit) on one engine and 64-bit integers on the other:
# ids are only ever handed out between 1 and this bound, on both.
MAX_ID = 2**31 - 1

# A number in a JSON body that is stored in an integer column: anything else is a 400 with
# the field named, never a driver overflow.
DbInt = Annotated[int, msgspec.Meta(ge=-MAX_ID, le=MAX_ID)]
DbId = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]


def ids_in_range(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard of the whole application: an integer path parameter outside the ids the database
    can hold (zero, negative, past 2**31) names nothing, so it is the same 404 as a missing
    row, before any handler or query sees it."""
    for value in connection.path_params.values():
        if isinstance(value, int) and not isinstance(value, bool) and not 1 <= value <= MAX_ID:
            raise NotFoundException()


def form_dict(form: Any) -> dict[str, str]:
    """A submitted form as plain strings. Last value wins, so a hidden "0" before a checked
    checkbox "1" reads as checked."""
    return {key: str(value) for key, value in form.multi_items()}
