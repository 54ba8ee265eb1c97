"""Ticket list filters read from a URL: the list page, the API and the list's websocket read
them the same way (so a filtered list can be bookmarked and stays filtered live)."""

from __future__ import annotations

from typing import Any

from server.db import queries
from server.domain.text import N_
from server.domain.vocabulary import Priority, Status
from server.views.query import QueryReader

PER_PAGE = 25
STALE_LINK = N_("This page link is no longer valid: go back to the first page.")
# The first scope of each list is the default view.
STAFF_SCOPES = ("all", "mine", "backlog", "following", "triage")
REQUESTER_SCOPES = ("mine", "establishment", "following", "all")


def filters_from_query(request: Any, default_scope: str = "") -> queries.TicketFilters:
    """Read list filters from the URL (so a filtered list can be bookmarked)."""
    q = request.query_params
    read = QueryReader()
    statuses = tuple(
        s for s in (read.choice(raw, "status", Status) for raw in q.getall("status", [])) if s
    )
    assignee = q.get("assignee", "")
    if not (assignee.isdigit() and len(assignee) < 10):
        assignee = read.one_of(assignee, "assignee", ("", "me", "none"))
    actor = request.user.actor
    scopes = STAFF_SCOPES if actor.is_staff else REQUESTER_SCOPES
    scope = read.one_of(q.get("scope") or default_scope or scopes[0], "scope", scopes)
    backlog = scope == "backlog"
    triage = scope == "triage"  # the intake groups' list (issue 14)
    if scope == "mine" and actor.is_staff:
        assignee = "me"
    elif backlog:
        assignee = "none"
    establishment_id = (
        read.integer(q.get("establishment"), "establishment") if actor.is_staff else None
    )
    if scope == "establishment":
        establishment_id = actor.establishment_id or 0
    filters = queries.TicketFilters(
        tab="open"
        if backlog or triage
        else read.one_of(q.get("tab", "open"), "tab", ("open", "closed", "all")),
        statuses=statuses,
        priority=read.choice(q.get("priority"), "priority", Priority),
        category_id=read.integer(q.get("category"), "category"),
        group_id=read.integer(q.get("group"), "group") if actor.is_staff else None,
        assignee=assignee if actor.is_staff else "",
        establishment_id=establishment_id,
        requester_id=actor.id if scope == "mine" and not actor.is_staff else None,
        # Nobody's backlog is everything: without a group, the backlog is empty.
        group_ids=(tuple(sorted(actor.group_ids)) or (0,)) if backlog else (),
        watcher_id=actor.id if scope == "following" else None,
        triage=triage,
        text=q.get("q", "")[:200],
        sort=read.one_of(
            q.get("sort", "urgent" if backlog or triage else queries.DEFAULT_SORT),
            "sort",
            tuple(queries.SORTS),
        ),
        page=max(1, read.integer(q.get("page"), "page") or 1),
        per_page=PER_PAGE,
        after=q.get("after", "")[:100],
        before=q.get("before", "")[:100] if not q.get("after") else "",
    )
    if not queries.keyset_ready(filters):
        read.errors["after" if filters.after else "before"] = STALE_LINK
    read.done()
    return filters
