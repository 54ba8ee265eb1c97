"""Knowledge-base pages: browse, read (rendered, sanitised Markdown), write and revise
articles, vote, link to tickets, draft from a solution; the new-ticket form's suggestions and
the supervisors' statistics page."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from server.db import articles, queries
from server.db.search import SearchFilters, search_articles, search_tickets
from server.domain.errors import GuichetError, ValidationFailed
from server.domain.knowledge import (
    LANGUAGE_LABELS,
    STATE_LABELS,
    VISIBILITY_LABELS,
    ArticleState,
    ArticleVisibility,
    Language,
    can_see_votes,
    missing_language,
    parse_article,
    plain_excerpt,
    prefer_language,
    render_markdown,
)
from server.domain.text import N_
from server.i18n import get_locale, gettext
from server.realtime.publish import publish
from server.services import knowledge as service
from server.web.errors import field_messages, status_of
from server.web.identity import requires_account, requires_staff
from server.web.params import QueryReader, form_dict

PER_PAGE = 25
SUGGESTIONS = 5


def kb_labels() -> dict[str, dict[str, str]]:
    return {
        "language": {k.value: v for k, v in LANGUAGE_LABELS.items()},
        "visibility": {k.value: gettext(v) for k, v in VISIBILITY_LABELS.items()},
        "state": {k.value: gettext(v) for k, v in STATE_LABELS.items()},
    }


def _form_values(form: Any) -> tuple[dict[str, str], list[str]]:
    values = form_dict(form)
    return values, [str(v) for v in form.getall("establishments", [])]


@get("/kb", guards=[requires_account], include_in_schema=False)
async def article_list(request: Request) -> Template:
    read = QueryReader()
    category_id = read.integer(request.query_params.get("category"), "category")
    page = max(1, read.integer(request.query_params.get("page"), "page") or 1)
    read.done()
    rows, total = await articles.list_articles(
        request.user.actor, category_id, page=page, per_page=PER_PAGE
    )
    for row in rows:
        row["excerpt"] = plain_excerpt(row.pop("body"))
    return Template(
        template_name="kb/list.html",
        context={
            "articles": rows,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PER_PAGE)),
            "category_id": category_id,
            "categories": await queries.categories(),
            "labels": kb_labels(),
        },
    )


async def _article_context(request: Request, article_id: int) -> dict[str, Any]:
    actor = request.user.actor
    article = await articles.readable_article(actor, article_id)
    context: dict[str, Any] = {
        "article": article,
        "body_html": render_markdown(article["body"]),
        "labels": kb_labels(),
        "my_vote": await articles.my_vote(article_id, actor.id),
        "staff": actor.is_staff,
        "translations": await articles.translations(actor, article),
    }
    if can_see_votes(actor):
        context["votes"] = await articles.vote_counts(article_id)
        context["revisions"] = await articles.revisions(article_id)
        context["tickets"] = await articles.linked_tickets(article_id)
    return context


@get("/kb/{article_id:int}", guards=[requires_account], include_in_schema=False)
async def article_page(request: Request, article_id: FromPath[int]) -> Template:
    context = await _article_context(request, article_id)
    return Template(template_name="kb/detail.html", context=context)


@get(
    "/kb/{article_id:int}/revisions/{number:int}",
    guards=[requires_staff],
    include_in_schema=False,
)
async def revision_page(
    request: Request, article_id: FromPath[int], number: FromPath[int]
) -> Template:
    article = await articles.readable_article(request.user.actor, article_id)
    revision = await articles.revision(article_id, number)
    if revision is None:
        raise NotFoundException()
    return Template(
        template_name="kb/revision.html",
        context={
            "article": article,
            "revision": revision,
            "body_html": render_markdown(revision["body"]),
        },
    )


async def _editor(
    request: Request,
    values: dict[str, str],
    establishment_ids: list[int],
    errors: dict[str, str],
    article_id: int | None = None,
    status: int = 200,
) -> Template:
    return Template(
        template_name="kb/form.html",
        context={
            "values": values,
            "selected": establishment_ids,
            "errors": errors,
            "article_id": article_id,
            "categories": await queries.categories(),
            "establishments": await queries.establishments(),
            "Language": Language,
            "ArticleVisibility": ArticleVisibility,
            "ArticleState": ArticleState,
            "labels": kb_labels(),
        },
        status_code=status,
    )


@get("/kb/new", guards=[requires_staff], include_in_schema=False)
async def new_article(request: Request) -> Template:
    read = QueryReader()
    translation_of = read.integer(request.query_params.get("translation_of"), "translation_of")
    read.done()
    if translation_of is None:
        return await _editor(request, {"language": "fr", "visibility": "public"}, [], {})
    # A translation starts as a copy of the original, in a language its family lacks.
    original = await articles.readable_article(request.user.actor, translation_of)
    family = [original, *await articles.translations(request.user.actor, original)]
    values = {
        "title": original["title"],
        "body": original["body"],
        "category_id": str(original["category"] or ""),
        "visibility": original["visibility"],
        "language": missing_language({row["language"] for row in family}),
        "translation_of": str(original["id"]),
    }
    return await _editor(request, values, original["establishment_ids"], {})


@post("/kb", guards=[requires_staff], include_in_schema=False)
async def create_article(request: Request) -> Response[Any]:
    values, ests = _form_values(await request.form())
    try:
        article_id = await service.create_article(request.user.actor, parse_article(values, ests))
    except ValidationFailed as exc:
        errors = field_messages(exc)
        return await _editor(
            request, values, [int(e) for e in ests if e.isdigit()], errors, None, 422
        )
    return Redirect(path=f"/kb/{article_id}", status_code=303)


@get("/kb/{article_id:int}/edit", guards=[requires_staff], include_in_schema=False)
async def edit_article(request: Request, article_id: FromPath[int]) -> Template:
    article = await articles.readable_article(request.user.actor, article_id)
    values = {
        key: "" if article[key] is None else str(article[key])
        for key in ("title", "body", "language", "visibility", "state", "version")
    }
    values["category_id"] = str(article["category"] or "")
    values["translation_of"] = str(article["translation_of"] or "")
    return await _editor(request, values, article["establishment_ids"], {}, article_id)


@post("/kb/{article_id:int}", guards=[requires_staff], include_in_schema=False)
async def update_article(request: Request, article_id: FromPath[int]) -> Response[Any]:
    values, ests = _form_values(await request.form())
    version = values.get("version", "")
    try:
        if not version.isdigit() or len(version) > 9:
            raise ValidationFailed({"title": N_("This field is required.")})
        await service.update_article(
            request.user.actor, article_id, int(version), parse_article(values, ests)
        )
    except ValidationFailed as exc:
        errors = field_messages(exc)
        chosen = [int(e) for e in ests if e.isdigit()]
        return await _editor(request, values, chosen, errors, article_id, 422)
    except GuichetError as exc:
        chosen = [int(e) for e in ests if e.isdigit()]
        errors = {"__all__": gettext(exc.message)}
        return await _editor(request, values, chosen, errors, article_id, status_of(exc))
    return Redirect(path=f"/kb/{article_id}", status_code=303)


@post("/kb/{article_id:int}/vote", guards=[requires_account], include_in_schema=False)
async def vote(request: Request, article_id: FromPath[int]) -> Response[Any]:
    form = await request.form()
    helpful = form.get("helpful", "")
    if helpful not in ("1", "0"):
        raise ValidationFailed({"helpful": N_("Choose one of the proposed values.")})
    await service.vote(request.user.actor, article_id, helpful == "1")
    if request.headers.get("hx-request"):
        context = await _article_context(request, article_id)
        return Template(template_name="kb/_vote.html", context=context)
    return Redirect(path=f"/kb/{article_id}", status_code=303)


@post("/tickets/{ticket_id:int}/articles", guards=[requires_staff], include_in_schema=False)
async def link_article(request: Request, ticket_id: FromPath[int]) -> Response[Any]:
    raw = str((await request.form()).get("article_id", "")).strip().lstrip("#")
    if not raw.isdigit() or len(raw) > 9:
        raise ValidationFailed({"article_id": N_("Enter a whole number.")})
    events = await service.link_to_ticket(request.user.actor, ticket_id, int(raw))
    await publish(request.app, events)
    return Redirect(path=f"/tickets/{ticket_id}", status_code=303)


@post("/tickets/{ticket_id:int}/draft-article", guards=[requires_staff], include_in_schema=False)
async def draft_article(request: Request, ticket_id: FromPath[int]) -> Response[Any]:
    article_id = await service.draft_from_ticket(request.user.actor, ticket_id)
    return Redirect(path=f"/kb/{article_id}/edit", status_code=303)


# --- Suggestions on the new-ticket form ----------------------------------------------------


@post("/suggestions", guards=[requires_account], include_in_schema=False)
async def suggestions(request: Request) -> Template:
    """Public articles and similar open tickets for what is being typed (htmx, debounced)."""
    form = await request.form()
    title = str(form.get("title", ""))[:200]
    description = str(form.get("description", ""))[:2000]
    actor = request.user.actor
    # The title says what it is about; the description's first words help when it is short.
    text = f"{title} {' '.join(description.split()[:30])}"
    filters = SearchFilters(
        text=text, any_word=True, per_page=SUGGESTIONS, open_only=True, follow_ups=False
    )
    reachable = await articles.reachable_establishments(actor.establishment_id)
    # Twice as many candidates, so articles in the reader's language can come first.
    wider = replace(filters, per_page=2 * SUGGESTIONS)
    found_articles = await search_articles(actor, wider, reachable, public_only=True)
    found_tickets = await search_tickets(actor, filters)
    return Template(
        template_name="kb/_suggestions.html",
        context={
            "articles": prefer_language(found_articles.rows, get_locale(), SUGGESTIONS),
            "tickets": found_tickets.rows,
            "token": str(form.get("suggestion_token", ""))[:32],
            "typed": bool(text.strip()),
        },
    )


@post("/suggestions/opened", guards=[requires_account], include_in_schema=False, status_code=204)
async def suggestion_opened(request: Request) -> None:
    token = str((await request.form()).get("token", ""))
    await service.suggestion_opened(request.user.actor, token)


@post("/suggestions/end", guards=[requires_account], include_in_schema=False, status_code=204)
async def suggestion_end(request: Request) -> None:
    """Sent by navigator.sendBeacon when the form is left without being submitted."""
    form = await request.form()
    await service.suggestion_ended(
        request.user.actor, str(form.get("token", "")), str(form.get("outcome", ""))
    )


@get("/kb/stats", guards=[requires_staff], include_in_schema=False)
async def stats(request: Request) -> Template:
    if not request.user.actor.is_supervisor:
        raise NotFoundException()
    return Template(
        template_name="kb/stats.html",
        context={
            "stats": await articles.suggestion_stats(),
            "top": await articles.top_articles(),
        },
    )


ROUTES = [
    article_list,
    article_page,
    revision_page,
    new_article,
    create_article,
    edit_article,
    update_article,
    vote,
    link_article,
    draft_article,
    suggestions,
    suggestion_opened,
    suggestion_end,
    stats,
]
