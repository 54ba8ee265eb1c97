"""Administration pages. For now: the mail waiting in the outbox (how many, since when, why),
and the mails written to ``var/mail`` when no SMTP server is configured, so a development
instance can be checked without one."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Request, get
from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath
from litestar.response import Template

from server.domain.vocabulary import Role
from server.services import mailbox
from server.services.mail_dispatcher import backlog
from server.settings import get_settings
from server.web.identity import requires_account


def requires_admin(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    requires_account(connection, _)
    if connection.user.role is not Role.ADMIN or not connection.user.active:
        # Like the desk pages for requesters: these pages do not exist for anyone else.
        raise NotFoundException()


def _mail_dir() -> Any:
    return get_settings().var_dir / "mail"


@get("/admin/mail", guards=[requires_admin], include_in_schema=False)
async def mail_list(request: Request) -> Template:
    mails = await anyio.to_thread.run_sync(mailbox.list_mails, _mail_dir())
    context = {
        "mails": mails,
        "backlog": await backlog(),
        "smtp_host": get_settings().mail.smtp_host,
    }
    return Template(template_name="admin/mail_list.html", context=context)


@get("/admin/mail/{name:str}", guards=[requires_admin], include_in_schema=False)
async def mail_detail(request: Request, name: FromPath[str]) -> Template:
    content = await anyio.to_thread.run_sync(mailbox.read_mail, _mail_dir(), name)
    if content is None:
        raise NotFoundException()
    return Template(template_name="admin/mail_detail.html", context={"content": content})


ROUTES = [mail_list, mail_detail]
