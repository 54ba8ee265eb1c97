"""The wallboard: a desk's live wall screen (staff), narrowed to an establishment subtree of
the viewer's scope by the URL. Kept current by the page's websocket (view=wallboard)."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Template

from server import i18n
from server.views.wallboard import chosen_place, wallboard_context
from server.web.identity import requires_staff


@get("/wallboard", guards=[requires_staff], include_in_schema=False)
async def wallboard(request: Request) -> Template:
    actor = request.user.actor
    chosen, choices = await chosen_place(actor, request.query_params.get("establishment"))
    context = await wallboard_context(actor, chosen, i18n.get_timezone())
    context.update(
        chosen=chosen,
        choices=choices,
        place=next((row for row in choices if row["id"] == chosen), None),
    )
    return Template(template_name="wallboard/page.html", context=context)


ROUTES = [wallboard]
