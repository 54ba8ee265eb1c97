"""One access policy, everywhere: every route x role x relationship to the ticket.

The route list comes from the application itself: a route nobody classified here makes
``test_every_route_is_classified`` fail. The expectations below are written out by hand (not
computed with the policy under test). An invisible ticket must answer exactly what a missing
one answers, byte for byte once ids are masked, on every route and every channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import AsyncTestClient

from server.db.tables import Attachment, Outbox, TicketShare, TicketWatcher, User
from server.domain.forms import NewFollowUp
from server.domain.vocabulary import Role
from server.services import accounts, tickets
from tests import factories
from tests.web.test_live import ORIGIN, session_of, use

MISSING = 987654

# (method, path) of every route, by what guards it.
PUBLIC = {
    ("GET", "/"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("POST", "/language"),
    ("GET", "/register"),
    ("POST", "/register"),
    ("GET", "/register/verify/{token:str}"),
    ("POST", "/register/verify/{token:str}"),
    ("GET", "/activate/{token:str}"),
    ("POST", "/activate/{token:str}"),
    ("GET", "/reset"),
    ("POST", "/reset"),
    ("GET", "/reset/{token:str}"),
    ("POST", "/reset/{token:str}"),
    ("GET", "/healthz"),
    # Single sign-on: 404 unless OpenID Connect is configured (tests/web/test_oidc_login.py).
    ("GET", "/login/oidc"),
    ("GET", "/login/oidc/callback"),
    # Not a person's page: a bearer token from the settings, or loopback only
    # (tests/web/test_operations.py).
    ("GET", "/metrics"),
    ("GET", "/static/{file_path:path}"),
}
SIGNED_IN = {
    ("GET", "/tickets"),
    ("POST", "/tickets"),
    ("GET", "/tickets/new"),
    ("GET", "/board"),
    ("GET", "/board/column/{status:str}"),
    ("GET", "/api/v1/tickets"),
    ("POST", "/api/v1/tickets"),
    # Monitoring intake files in the token account's own establishment
    # (tests/web/test_api_alerts.py).
    ("POST", "/api/v1/alerts"),
    # One's own notifications (a notification about a ticket one may no longer see is
    # hidden: tests/web/test_notifications_web.py).
    ("GET", "/notifications"),
    ("POST", "/notifications/{notification_id:int}/read"),
    ("POST", "/notifications/read-all"),
    ("GET", "/notifications/preferences"),
    ("POST", "/notifications/preferences"),
    ("POST", "/preferences/timezone"),
    # Knowledge base and search: articles have their own visibility rule
    # (tests/web/test_knowledge_web.py); ticket results go through the same policy as lists
    # (tests/integration/test_search.py).
    ("GET", "/kb"),
    ("GET", "/kb/{article_id:int}"),
    ("POST", "/kb/{article_id:int}/vote"),
    ("GET", "/search"),
    ("POST", "/search/saved"),
    ("POST", "/search/saved/{search_id:int}/delete"),
    ("GET", "/api/v1/search"),
    ("POST", "/suggestions"),
    ("POST", "/suggestions/opened"),
    ("POST", "/suggestions/end"),
    # The category preview of the new-ticket form (issue 14): a category's priority and team.
    ("GET", "/intake/category-preview"),
}
STAFF_ONLY = {
    # The desk looks up the requesters it serves; admins see and change every account
    # (tests/web/test_api_people.py).
    ("GET", "/api/v1/people"),
    ("GET", "/api/v1/people/{user_id:int}"),
    ("GET", "/overview"),
    # Bulk actions: each ticket is still judged by its own use case (tests/web/test_bulk_web.py).
    ("POST", "/bulk"),
    ("POST", "/api/v1/bulk"),
    ("GET", "/wallboard"),
    ("GET", "/kb/new"),
    ("POST", "/kb"),
    ("GET", "/kb/{article_id:int}/edit"),
    ("POST", "/kb/{article_id:int}"),
    ("GET", "/kb/{article_id:int}/revisions/{number:int}"),
    # Canned replies: a technician manages their own and their groups' (other ones are a
    # 404, tests/integration/test_canned.py), an admin all of them.
    ("GET", "/canned"),
    ("GET", "/canned/new"),
    ("POST", "/canned"),
    ("GET", "/canned/{item_id:int}"),
    ("POST", "/canned/{item_id:int}"),
    ("POST", "/canned/{item_id:int}/archive"),
    # The requester picker offers only people the technician serves
    # (tests/web/test_intake_web.py).
    ("GET", "/intake/requesters"),
}
SUPERVISOR_ONLY = {
    ("GET", "/reports/sla"),
    ("GET", "/reports/sla.csv"),
    ("GET", "/kb/stats"),
    ("GET", "/reports"),
    ("GET", "/reports.csv"),
}
ADMIN_ONLY = {
    ("GET", "/admin/webhooks"),
    ("POST", "/admin/webhooks"),
    ("POST", "/admin/webhooks/{webhook_id:int}/active"),
    ("POST", "/admin/webhooks/{webhook_id:int}/delete"),
    ("GET", "/api/v1/webhooks"),
    ("POST", "/api/v1/webhooks"),
    ("POST", "/api/v1/webhooks/{webhook_id:int}/active"),
    ("POST", "/api/v1/webhooks/{webhook_id:int}/delete"),
    ("POST", "/api/v1/people"),
    ("POST", "/api/v1/people/{user_id:int}"),
    ("GET", "/admin"),
    ("GET", "/admin/mail"),
    ("GET", "/admin/mail/{name:str}"),
    ("GET", "/admin/establishments"),
    ("POST", "/admin/establishments"),
    ("GET", "/admin/establishments/{node_id:int}"),
    ("POST", "/admin/establishments/{node_id:int}"),
    ("POST", "/admin/establishments/{node_id:int}/active"),
    ("GET", "/admin/groups"),
    ("POST", "/admin/groups"),
    ("GET", "/admin/groups/{group_id:int}"),
    ("POST", "/admin/groups/{group_id:int}"),
    ("POST", "/admin/groups/{group_id:int}/members"),
    ("POST", "/admin/groups/{group_id:int}/members/{user_id:int}/remove"),
    ("POST", "/admin/groups/{group_id:int}/reach"),
    ("GET", "/admin/users"),
    ("POST", "/admin/users"),
    ("GET", "/admin/users/{user_id:int}"),
    ("POST", "/admin/users/{user_id:int}/{what:str}"),
    ("GET", "/admin/sla"),
    ("GET", "/admin/sla/{kind:str}/new"),
    ("POST", "/admin/sla/{kind:str}/new"),
    ("GET", "/admin/sla/{kind:str}/{item_id:int}"),
    ("POST", "/admin/sla/{kind:str}/{item_id:int}"),
    ("POST", "/admin/sla/{kind:str}/{item_id:int}/delete"),
    # Service catalogue (tests/web/test_catalogue_web.py).
    ("GET", "/admin/catalogue"),
    ("POST", "/admin/catalogue"),
    ("GET", "/admin/catalogue/{category_id:int}"),
    ("POST", "/admin/catalogue/{category_id:int}"),
    ("POST", "/admin/catalogue/{category_id:int}/active"),
    ("POST", "/admin/catalogue/{category_id:int}/delete"),
    ("POST", "/admin/catalogue/{category_id:int}/types"),
    ("POST", "/admin/catalogue/{category_id:int}/types/{type_id:int}"),
    ("GET", "/admin/catalogue/export"),
    ("POST", "/admin/catalogue/import"),
    # The catalogue API: admins only, a 404 for everyone else (tests/web/test_catalogue_api.py).
    ("GET", "/api/v1/catalogue"),
    ("POST", "/api/v1/catalogue/import"),
    ("GET", "/api/v1/catalogue/categories"),
    ("POST", "/api/v1/catalogue/categories"),
    ("POST", "/api/v1/catalogue/categories/{category_id:int}"),
    ("POST", "/api/v1/catalogue/categories/{category_id:int}/active"),
    ("POST", "/api/v1/catalogue/categories/{category_id:int}/request-types"),
    ("POST", "/api/v1/catalogue/groups"),
    ("POST", "/api/v1/catalogue/groups/{group_id:int}"),
}
# Routes about one ticket, with the (invalid or harmless) body each gets here: validation
# must never tell an invisible ticket from a missing one.
TICKET_HTML: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/tickets/{ticket_id:int}"): {},
    ("POST", "/tickets/{ticket_id:int}/follow-ups"): {"data": {"text": ""}},
    # The composer: an empty answer, and the insertion of a canned reply that does not exist.
    ("POST", "/tickets/{ticket_id:int}/answer"): {"data": {"text": ""}},
    ("POST", "/tickets/{ticket_id:int}/take"): {"data": {}},
    ("POST", "/tickets/{ticket_id:int}/assign"): {"data": {}},
    ("POST", "/tickets/{ticket_id:int}/status"): {"data": {"status": "closed"}},
    ("POST", "/tickets/{ticket_id:int}/fields"): {"data": {}},
    ("POST", "/tickets/{ticket_id:int}/shared"): {"data": {}},
    ("POST", "/tickets/{ticket_id:int}/redact"): {"data": {}},
    ("POST", "/tickets/{ticket_id:int}/watch"): {"data": {"watch": "0"}},
    ("POST", "/tickets/{ticket_id:int}/shares"): {"data": {"email": ""}},
    ("POST", "/tickets/{ticket_id:int}/shares/{user_id:int}/remove"): {"data": {}},
    ("POST", "/tickets/{ticket_id:int}/escalate"): {"data": {}},
    ("POST", "/tickets/{ticket_id:int}/move"): {"data": {"status": "pending"}},
    ("POST", "/tickets/{ticket_id:int}/attachments"): {"data": {}},
    ("POST", "/tickets/{ticket_id:int}/articles"): {"data": {"article_id": "x"}},
    ("POST", "/tickets/{ticket_id:int}/draft-article"): {"data": {}},
    ("POST", "/tickets/{ticket_id:int}/links"): {"data": {}},
    ("POST", "/tickets/{ticket_id:int}/links/remove"): {"data": {}},
    ("POST", "/tickets/{ticket_id:int}/merge"): {"data": {}},
    ("POST", "/tickets/{ticket_id:int}/children"): {"data": {}},
    ("POST", "/tickets/{ticket_id:int}/contact"): {"data": {"phones": "abc"}},
}
# Ticket routes reserved to the desk: for everyone else they do not exist at all (404 on
# every ticket, visible or not).
DESK_TICKET_ROUTES = {
    ("POST", "/tickets/{ticket_id:int}/articles"),
    ("POST", "/tickets/{ticket_id:int}/draft-article"),
    ("POST", "/tickets/{ticket_id:int}/links"),
    ("POST", "/tickets/{ticket_id:int}/links/remove"),
    ("POST", "/tickets/{ticket_id:int}/merge"),
    ("POST", "/tickets/{ticket_id:int}/children"),
    ("POST", "/api/v1/tickets/{ticket_id:int}/links"),
    ("POST", "/api/v1/tickets/{ticket_id:int}/links/remove"),
    ("POST", "/api/v1/tickets/{ticket_id:int}/merge"),
    ("POST", "/api/v1/tickets/{ticket_id:int}/children"),
    ("POST", "/tickets/{ticket_id:int}/contact"),
}
STAFF_ROLES = {"tech_serving", "tech_other", "sup_in", "sup_out", "admin"}
TICKET_API: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/api/v1/tickets/{ticket_id:int}"): {},
    ("POST", "/api/v1/tickets/{ticket_id:int}/follow-ups"): {"json": {"text": ""}},
    ("POST", "/api/v1/tickets/{ticket_id:int}/status"): {
        "json": {"status": "closed", "version": 0}
    },
    ("POST", "/api/v1/tickets/{ticket_id:int}/assign"): {"json": {"version": 0}},
    ("POST", "/api/v1/tickets/{ticket_id:int}/attachments"): {"files": {"file": ("a.txt", b"x")}},
    ("GET", "/api/v1/tickets/{ticket_id:int}/links"): {},
    ("POST", "/api/v1/tickets/{ticket_id:int}/links"): {"json": {}},
    ("POST", "/api/v1/tickets/{ticket_id:int}/links/remove"): {"json": {}},
    ("POST", "/api/v1/tickets/{ticket_id:int}/merge"): {"json": {}},
    ("POST", "/api/v1/tickets/{ticket_id:int}/children"): {"json": {}},
    ("GET", "/api/v1/tickets/{ticket_id:int}/attachments"): {},
    ("POST", "/api/v1/tickets/{ticket_id:int}/take"): {"json": {"version": 0}},
    ("POST", "/api/v1/tickets/{ticket_id:int}/fields"): {"json": {"version": 0}},
    ("POST", "/api/v1/tickets/{ticket_id:int}/shared"): {"json": {"shared": True, "version": 0}},
    ("POST", "/api/v1/tickets/{ticket_id:int}/escalate"): {
        "json": {"group_id": 1, "reason": "x", "version": 0}
    },
    ("POST", "/api/v1/tickets/{ticket_id:int}/watch"): {"json": {"watch": False}},
    ("GET", "/api/v1/tickets/{ticket_id:int}/shares"): {},
    ("POST", "/api/v1/tickets/{ticket_id:int}/shares"): {"json": {"email": ""}},
    ("POST", "/api/v1/tickets/{ticket_id:int}/shares/{user_id:int}/remove"): {"json": {}},
}
ATTACHMENT = {
    ("GET", "/attachments/{attachment_id:int}"),
    ("GET", "/attachments/{attachment_id:int}/thumbnail"),
    ("GET", "/api/v1/attachments/{attachment_id:int}"),
}
WEBSOCKET = {("WS", "/ws")}
DOCUMENTATION_PREFIX = "/schema"

ROLES = (
    "requester",
    "tech_serving",
    "tech_other",
    "sup_in",
    "sup_out",
    "admin",
    "anonymous",
    "deactivated",
)
RELATIONS = ("own", "same_shared", "same_private", "watcher", "shared_with", "child", "other")
AT_A = {"own", "same_shared", "same_private", "watcher", "shared_with", "child"}
VISIBLE: dict[str, set[str]] = {
    # Exact establishment match: the child establishment's tickets are not the requester's;
    # watching a ticket that became private gives nothing.
    "requester": {"own", "same_shared", "shared_with"},
    "tech_serving": AT_A,
    "tech_other": {"other"},
    "sup_in": AT_A,
    "sup_out": {"other"},
    "admin": set(RELATIONS),
    "anonymous": set(),
    "deactivated": set(),
}


def app_routes(app: Any) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        if route.path.startswith(DOCUMENTATION_PREFIX):
            continue
        methods = getattr(route, "methods", None)
        if not methods:
            found.add(("WS", route.path))
            continue
        found.update((m, route.path) for m in methods if m not in ("OPTIONS", "HEAD"))
    return found


def test_every_route_is_classified() -> None:
    from server.app import create_app

    classified = (
        (PUBLIC | SIGNED_IN | STAFF_ONLY | SUPERVISOR_ONLY | ADMIN_ONLY | set(TICKET_HTML))
        | set(TICKET_API)
        | ATTACHMENT
        | WEBSOCKET
    )
    routes = app_routes(create_app())
    assert sorted(routes - classified) == [], "classify the new routes in this test"
    assert sorted(classified - routes) == [], "routes that no longer exist"


def sample_path(template: str) -> str:
    """A concrete path for a route template (ids that exist in the matrix world)."""
    for name in (
        "node_id",
        "group_id",
        "user_id",
        "item_id",
        "article_id",
        "number",
        "webhook_id",
        "category_id",
        "type_id",
    ):
        template = template.replace("{" + name + ":int}", "1")
    return (
        template.replace("{kind:str}", "policies")
        .replace("{what:str}", "email")
        .replace("{name:str}", "x.eml")
    )


@pytest.mark.parametrize("role", ROLES)
async def test_reserved_pages_do_not_exist_below_their_role(
    client: AsyncTestClient, matrix: dict[str, Any], role: str
) -> None:
    viewer = matrix["viewers"][role]
    allowed = {
        "staff": role in ("tech_serving", "tech_other", "sup_in", "sup_out", "admin"),
        "supervisor": role in ("sup_in", "sup_out", "admin"),
        "admin": role == "admin",
    }
    for level, routes in (
        ("staff", STAFF_ONLY),
        ("supervisor", SUPERVISOR_ONLY),
        ("admin", ADMIN_ONLY),
    ):
        for method, template in sorted(routes):
            response = await call(client, viewer, method, sample_path(template), {"data": {}})
            where = (role, method, template)
            assert response.status_code < 500, where
            if role in ("anonymous", "deactivated"):
                assert response.status_code in (302, 303, 401, 403), where
            elif not allowed[level]:
                assert response.status_code == 404, where
            elif method == "GET" and "{" not in template:
                assert response.status_code == 200, where


@dataclass
class Viewer:
    role: str
    jar: httpx.Cookies
    token: str


def same_apart_from_ids(response: httpx.Response, missing: httpx.Response, real_id: int) -> bool:
    """The missing id is unique (987654): putting the real id in its place must give back the
    very bytes the invisible ticket's answer has."""
    return response.text == missing.text.replace(str(MISSING), str(real_id))


@pytest.fixture
async def matrix(client: AsyncTestClient) -> dict[str, Any]:
    est_a = await factories.establishment("CHU Anselme", "CHA")
    est_child = await factories.establishment("Annexe du CHU", "ANX", parent=est_a)
    est_b = await factories.establishment("Clinique des Bouleaux", "CLB")
    req = await factories.user("req@a.test", Role.REQUESTER, est_a, "Rita Req")
    col = await factories.user("col@a.test", Role.REQUESTER, est_a, "Carl Col")
    kid = await factories.user("kid@annexe.test", Role.REQUESTER, est_child, "Kim Kid")
    bee = await factories.user("bee@b.test", Role.REQUESTER, est_b, "Bea Bee")
    gone = await factories.user("gone@a.test", Role.REQUESTER, est_a, "Gil Gone")
    t1 = await factories.user("t1@desk.test", Role.TECHNICIAN, None, "Tom Un")
    t2 = await factories.user("t2@desk.test", Role.TECHNICIAN, None, "Tia Deux")
    await factories.group("Local A", 1, (t1.id,), serves=(est_a,))
    await factories.group("Local B", 1, (t2.id,), serves=(est_b,))
    s1 = await factories.user("s1@desk.test", Role.SUPERVISOR, None, "Sam In")
    s2 = await factories.user("s2@desk.test", Role.SUPERVISOR, None, "Sue Out")
    await factories.scope(s1.id, est_a)
    await factories.scope(s2.id, est_b)
    admin = await factories.user("admin@desk.test", Role.ADMIN, None, "Ada Admin")

    ids = {
        "own": await factories.ticket(req, title="T-own"),
        "same_shared": await factories.ticket(col, title="T-same-shared"),
        "same_private": await factories.ticket(col, title="T-same-private", shared="0"),
        "watcher": await factories.ticket(col, title="T-watcher", shared="0"),
        "shared_with": await factories.ticket(col, title="T-shared-with", shared="0"),
        "child": await factories.ticket(kid, title="T-child"),
        "other": await factories.ticket(bee, title="T-other"),
    }
    await TicketWatcher.insert(TicketWatcher(ticket=ids["watcher"], user=req.id))
    await TicketShare.insert(TicketShare(ticket=ids["shared_with"], user=req.id, shared_by=col.id))

    emails = {
        "requester": "req@a.test",
        "tech_serving": "t1@desk.test",
        "tech_other": "t2@desk.test",
        "sup_in": "s1@desk.test",
        "sup_out": "s2@desk.test",
        "admin": "admin@desk.test",
        "deactivated": "gone@a.test",
    }
    user_ids = {
        "requester": req.id,
        "tech_serving": t1.id,
        "tech_other": t2.id,
        "sup_in": s1.id,
        "sup_out": s2.id,
        "admin": admin.id,
        "deactivated": gone.id,
    }
    viewers: dict[str, Viewer] = {}
    for role, email in emails.items():
        viewers[role] = Viewer(role, await session_of(client, email), "")
        viewers[role].token = await accounts.issue_api_token(user_ids[role])
    viewers["anonymous"] = Viewer("anonymous", httpx.Cookies(), "")
    await accounts.set_active(gone.id, False)
    client.cookies.clear()
    await client.get("/login")  # a CSRF cookie for the anonymous viewer
    viewers["anonymous"].jar = httpx.Cookies(client.cookies)

    # One attachment per ticket, added by the admin (who sees everything).
    use(client, viewers["admin"].jar)
    files: dict[str, int] = {}
    for relation, ticket_id in ids.items():
        response = await client.post(
            f"/tickets/{ticket_id}/attachments",
            files={"file": ("journal.txt", b"ligne de journal sans patient\n", "text/plain")},
            data={"boxes": "[]"},
            headers=factories.csrf_header(client),
        )
        assert response.status_code < 400, response.text
        row = await Attachment.select(Attachment.id).where(Attachment.ticket == ticket_id).first()
        files[relation] = row["id"]
    return {"ids": ids, "viewers": viewers, "files": files, "users": user_ids, "col": col.id}


async def call(
    client: AsyncTestClient, viewer: Viewer, method: str, path: str, spec: dict[str, Any]
) -> httpx.Response:
    use(client, viewer.jar)
    headers = dict(factories.csrf_header(client))
    if path.startswith("/api/"):
        client.cookies.clear()
        headers = {"authorization": f"Bearer {viewer.token}"} if viewer.token else {}
    if method == "GET":
        return await client.get(path, headers=headers, follow_redirects=False)
    return await client.post(path, headers=headers, follow_redirects=False, **spec)


def concrete(template: str, ticket_id: int, user_id: int) -> str:
    return template.replace("{ticket_id:int}", str(ticket_id)).replace(
        "{user_id:int}", str(user_id)
    )


@pytest.mark.parametrize("role", ROLES)
async def test_ticket_routes_answer_by_the_policy(
    client: AsyncTestClient, matrix: dict[str, Any], role: str
) -> None:
    viewer = matrix["viewers"][role]
    ids, col = matrix["ids"], matrix["col"]
    for (method, template), spec in {**TICKET_HTML, **TICKET_API}.items():
        missing = await call(client, viewer, method, concrete(template, MISSING, col), spec)
        assert missing.status_code < 500
        for relation in RELATIONS:
            ticket_id = ids[relation]
            response = await call(client, viewer, method, concrete(template, ticket_id, col), spec)
            where = (role, relation, method, template)
            assert response.status_code < 500, where
            reserved = (method, template) in DESK_TICKET_ROUTES and role not in STAFF_ROLES
            if reserved and role not in ("anonymous", "deactivated"):
                assert response.status_code == 404, where
            elif relation in VISIBLE[role]:
                assert response.status_code != 404, where
            else:
                assert response.status_code == missing.status_code, where
                assert same_apart_from_ids(response, missing, ticket_id), where


@pytest.mark.parametrize("role", ROLES)
async def test_downloads_lists_board_and_sockets_follow_the_policy(
    client: AsyncTestClient, matrix: dict[str, Any], role: str
) -> None:
    viewer = matrix["viewers"][role]
    visible = VISIBLE[role]
    for template in sorted(path for _m, path in ATTACHMENT):
        missing = await call(
            client, viewer, "GET", template.replace("{attachment_id:int}", str(MISSING)), {}
        )
        for relation, file_id in matrix["files"].items():
            path = template.replace("{attachment_id:int}", str(file_id))
            response = await call(client, viewer, "GET", path, {})
            if relation in visible and not template.endswith("thumbnail"):
                assert response.status_code == 200, (role, relation, path)
            elif relation not in visible:
                assert response.status_code == missing.status_code, (role, relation, path)
                assert same_apart_from_ids(response, missing, file_id)

    if role in ("anonymous", "deactivated"):
        listed = await call(client, viewer, "GET", "/tickets?scope=all&tab=all", {})
        assert listed.status_code != 200
    else:
        listed = (await call(client, viewer, "GET", "/tickets?scope=all&tab=all", {})).text
        board = (await call(client, viewer, "GET", "/board", {})).text
        api = (await call(client, viewer, "GET", "/api/v1/tickets?scope=all&tab=all", {})).text
        for relation, ticket_id in matrix["ids"].items():
            title = "T-" + relation.replace("_", "-")
            seen = relation in visible
            assert (f">{title}<" in listed) is seen, (role, relation, "list")
            assert (f'id="card-{ticket_id}"' in board) is seen, (role, relation, "board")
            assert (f'"{title}"' in api) is seen, (role, relation, "api")

    for relation, ticket_id in matrix["ids"].items():
        use(client, viewer.jar)
        opened = True
        try:
            ws = await client.websocket_connect(f"/ws?view=ticket&id={ticket_id}", headers=ORIGIN)
            with ws:
                snapshot = ws.receive_text(timeout=5)
                assert "T-" + relation.replace("_", "-") in snapshot
        except WebSocketDisconnect:
            opened = False
        assert opened is (relation in visible), (role, relation, "websocket")


async def test_notifications_only_reach_people_who_may_see(
    client: AsyncTestClient, matrix: dict[str, Any]
) -> None:
    admin = await factories.reload(matrix["users"]["admin"])
    for ticket_id in matrix["ids"].values():
        await tickets.add_follow_up(admin, ticket_id, NewFollowUp("Point d'étape", False, 0))
    roles_by_user = {uid: role for role, uid in matrix["users"].items()}
    rows = await Outbox.select(Outbox.recipient, Outbox.ticket)
    assert rows, "the requesters at least are told"
    relation_of = {tid: rel for rel, tid in matrix["ids"].items()}
    for row in rows:
        role = roles_by_user.get(row["recipient"])
        if role is None:  # the ticket's own requester
            recipient = await User.select(User.id).where(User.id == row["recipient"]).first()
            assert recipient is not None
            continue
        assert relation_of[row["ticket"]] in VISIBLE[role], (role, relation_of[row["ticket"]])


async def test_fields_a_requester_may_not_set_are_ignored(client: AsyncTestClient) -> None:
    w = await factories.world()
    await factories.login(client, "alice@chu-a.test")
    response = await client.post(
        "/tickets",
        data={
            "title": "Écran noir",
            "description": "Depuis ce matin",
            "type": "incident",
            "establishment_id": str(w.est_b),
            "establishment": str(w.est_b),
            "assignee_id": str(w.tech.id),
            "status": "resolved",
        },
        headers=factories.csrf_header(client),
        follow_redirects=False,
    )
    assert response.status_code == 303
    from server.db.tables import FollowUp, Ticket

    row = await Ticket.select().where(Ticket.title == "Écran noir").first()
    assert (row["establishment"], row["assignee"], row["status"]) == (w.est_a, None, "new")

    note = await client.post(
        f"/tickets/{row['id']}/follow-ups",
        data={"text": "Toujours noir", "private": "1"},
        headers=factories.csrf_header(client),
        follow_redirects=False,
    )
    assert note.status_code == 303
    assert (await FollowUp.select().where(FollowUp.ticket == row["id"]).first())["private"] is False

    token = await accounts.issue_api_token(w.requester_a.id)
    client.cookies.clear()
    api = await client.post(
        "/api/v1/tickets",
        json={
            "title": "Clavier HS",
            "description": "Touche Entrée",
            "establishment_id": w.est_b,
            "assignee_id": w.tech.id,
            "status": "closed",
        },
        headers={"authorization": f"Bearer {token}"},
    )
    assert api.status_code == 201, api.text
    row = await Ticket.select().where(Ticket.title == "Clavier HS").first()
    assert (row["establishment"], row["assignee"], row["status"]) == (w.est_a, None, "new")


@pytest.mark.parametrize("role", ROLES)
async def test_a_merge_changes_nobodys_access(
    client: AsyncTestClient, matrix: dict[str, Any], role: str
) -> None:
    """Two merges: a private ticket of establishment A into one of B (nobody may see both
    but the admin), and the requester's own ticket into a shared one of A. Before and after,
    each role opens exactly the same tickets; the kept ticket lists the duplicate's
    follow-ups only to viewers who may see the duplicate."""
    from server.services import merge

    ids, viewer = matrix["ids"], matrix["viewers"][role]
    admin = await factories.reload(matrix["users"]["admin"])
    pairs = (("same_private", "other"), ("own", "same_shared"))
    notes = {}
    for duplicate, _kept in pairs:
        notes[duplicate] = f"Note du doublon {duplicate}"
        await tickets.add_follow_up(admin, ids[duplicate], NewFollowUp(notes[duplicate], False, 0))

    async def statuses() -> dict[str, int]:
        return {
            relation: (
                await call(client, viewer, "GET", f"/tickets/{ids[relation]}", {})
            ).status_code
            for relation in RELATIONS
        }

    before = await statuses()
    for duplicate, kept in pairs:
        await merge.merge(admin, ids[duplicate], ids[kept])
    assert await statuses() == before
    for duplicate, kept in pairs:
        page = await call(client, viewer, "GET", f"/tickets/{ids[kept]}", {})
        if kept not in VISIBLE[role]:
            continue
        sees_duplicate = duplicate in VISIBLE[role]
        assert (notes[duplicate] in page.text) is sees_duplicate, (role, duplicate)
        title = "T-" + duplicate.replace("_", "-")
        assert (title in page.text) is sees_duplicate, (role, duplicate)
        assert f"#{ids[duplicate]}" in page.text  # the link itself, as a bare number at least
    # The requester of the merged own ticket follows the kept one (which they may see).
    watching = await TicketWatcher.select(TicketWatcher.user).where(
        TicketWatcher.ticket == ids["same_shared"]
    )
    assert matrix["users"]["requester"] in {w["user"] for w in watching}
    # Colette (private ticket of A) may not see B's ticket: she does not follow it.
    watching = await TicketWatcher.select(TicketWatcher.user).where(
        TicketWatcher.ticket == ids["other"]
    )
    assert matrix["col"] not in {w["user"] for w in watching}
