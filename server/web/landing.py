"""Where ``/`` leads: a technician lands on their own work; everyone else on the ticket list
(and anybody signed out on the sign-in page, through it)."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Redirect, Template

from server.domain.vocabulary import Role
from server.views.landing import landing_context


@get("/", include_in_schema=False)
async def home(request: Request) -> Redirect | Template:
    account = request.scope.get("user")
    if account is None or not account.active or account.role is not Role.TECHNICIAN:
        return Redirect(path="/tickets", status_code=303)
    return Template(template_name="landing.html", context=await landing_context(account.actor))


ROUTES = [home]
