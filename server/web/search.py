"""The search page (/search), saved searches, and search in the JSON API.

Filters come from the URL (so a search can be bookmarked or saved: a saved search is its
query string, validated again each time it runs)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from server.db import articles, queries
from server.db.search import KINDS, Results, SearchFilters, search_articles, search_tickets
from server.domain.errors import ValidationFailed
from server.domain.text import N_
from server.domain.vocabulary import Status
from server.services import knowledge as service
from server.web.api_support import READ_ERRORS, documented
from server.web.errors import field_messages
from server.web.identity import requires_account
from server.web.knowledge import kb_labels
from server.web.params import QueryReader

PER_PAGE = 20
SAVED_KEYS = ("q", "kind", "status", "establishment", "category", "from", "to")


def _date(read: QueryReader, raw: str | None, name: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        read.errors[name] = N_("Enter a date (YYYY-MM-DD).")
        return None


def search_filters(request: Request) -> SearchFilters:
    q = request.query_params
    read = QueryReader()
    statuses = tuple(
        s for s in (read.choice(raw, "status", Status) for raw in q.getall("status", [])) if s
    )
    filters = SearchFilters(
        text=q.get("q", "")[:200],
        kind=read.one_of(q.get("kind", "all"), "kind", KINDS),
        statuses=statuses,
        establishment_id=read.integer(q.get("establishment"), "establishment"),
        category_id=read.integer(q.get("category"), "category"),
        date_from=_date(read, q.get("from"), "from"),
        date_to=_date(read, q.get("to"), "to"),
        page=max(1, read.integer(q.get("page"), "page") or 1),
        per_page=PER_PAGE,
    )
    read.done()
    return filters


async def run_search(request: Request, f: SearchFilters) -> tuple[Results, Results]:
    actor = request.user.actor
    empty = Results([], 0, f.page, f.per_page)
    tickets = await search_tickets(actor, f) if f.kind in ("all", "tickets") else empty
    found_articles = empty
    if f.kind in ("all", "articles"):
        reachable = await articles.reachable_establishments(actor.establishment_id)
        found_articles = await search_articles(actor, f, reachable)
    return tickets, found_articles


def _saved_query(request: Request) -> str:
    return urlencode([(k, v) for k, v in request.query_params.multi_items() if k in SAVED_KEYS])


@get("/search", guards=[requires_account], include_in_schema=False)
async def search_page(request: Request) -> Template:
    actor = request.user.actor
    errors: dict[str, str] = {}
    try:
        filters = search_filters(request)
    except ValidationFailed as exc:
        errors = field_messages(exc)
        filters = SearchFilters(text=request.query_params.get("q", "")[:200])
    tickets, found_articles = await run_search(request, filters)
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
    context: dict[str, Any] = {
        "filters": filters,
        "query": request.query_params,
        "errors": errors,
        "tickets": tickets,
        "articles": found_articles,
        "pages": max(tickets.pages, found_articles.pages),
        "page_link": lambda n: "/search?" + urlencode([*params, ("page", str(n))]),
        "saved": await service.saved_searches(actor),
        "saved_query": _saved_query(request),
        "categories": await queries.categories(),
        "establishments": await queries.establishments() if actor.is_staff else [],
        "labels": kb_labels(),
        "searched": bool(filters.text.strip()),
    }
    return Template(
        template_name="search/page.html",
        context=context,
        status_code=422 if errors else 200,
    )


@post("/search/saved", guards=[requires_account], include_in_schema=False)
async def save_search(request: Request) -> Response[Any]:
    form = await request.form()
    # Keep only the search's own parameters, re-encoded: the stored text is always a clean
    # query string for /search, whatever was posted.
    pairs = parse_qsl(str(form.get("query", "")), keep_blank_values=False)
    query = urlencode([(k, v) for k, v in pairs if k in SAVED_KEYS])
    await service.save_search(request.user.actor, str(form.get("name", "")), query)
    return Redirect(path=f"/search?{query}", status_code=303)


@post("/search/saved/{search_id:int}/delete", guards=[requires_account], include_in_schema=False)
async def delete_saved_search(request: Request, search_id: FromPath[int]) -> Redirect:
    await service.delete_saved_search(request.user.actor, search_id)
    return Redirect(path="/search", status_code=303)


# --- JSON API ------------------------------------------------------------------------------


class TicketHit(msgspec.Struct):
    id: int
    title: str
    status: Status
    establishment: str
    created_at: datetime
    # HTML: the text escaped, only the matching words wrapped in <mark>.
    title_html: str
    text_html: str
    in_follow_up: bool


class ArticleHit(msgspec.Struct):
    id: int
    title: str
    language: str
    visibility: str
    title_html: str
    text_html: str


class SearchOut(msgspec.Struct):
    tickets: list[TicketHit]
    tickets_total: int
    articles: list[ArticleHit]
    articles_total: int
    page: int


@documented(READ_ERRORS)
class SearchApi(Controller):
    path = "/api/v1"
    guards = [requires_account]
    security = [{"BearerToken": []}]
    tags = ["search"]

    @get("/search", summary="Search tickets and knowledge-base articles")
    async def search(self, request: Request) -> SearchOut:
        """Query parameters as on /search: ``q``, ``kind`` (all, tickets, articles),
        ``status`` (repeatable), ``establishment``, ``category``, ``from``, ``to``, ``page``.
        Results obey the caller's access rights; ranked by relevance."""
        filters = search_filters(request)
        tickets, found = await run_search(request, filters)
        return SearchOut(
            tickets=[
                TicketHit(
                    id=r["id"],
                    title=r["title"],
                    status=Status(r["status"]),
                    establishment=r["establishment_code"],
                    created_at=r["created_at"],
                    title_html=r["title_html"],
                    text_html=r["text_html"],
                    in_follow_up=r["in_follow_up"],
                )
                for r in tickets.rows
            ],
            tickets_total=tickets.total,
            articles=[
                ArticleHit(
                    id=r["id"],
                    title=r["title"],
                    language=r["language"],
                    visibility=r["visibility"],
                    title_html=r["title_html"],
                    text_html=r["text_html"],
                )
                for r in found.rows
            ],
            articles_total=found.total,
            page=filters.page,
        )


ROUTES = [search_page, save_search, delete_saved_search]
