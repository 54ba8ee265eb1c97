"""Ids no row can have (zero, negative, past the 32/64-bit integers of the database) are the
same 404 as a missing row on every id route of the application, HTML and API, never a 500.

The routes come from the application itself, so a new id route is covered without editing
this test.
"""

from __future__ import annotations

import re

import pytest
from litestar.testing import AsyncTestClient

from server.app import create_app
from server.domain.vocabulary import Role
from server.services import accounts
from tests import factories

INT_PARAM = re.compile(r"\{(\w+):int\}")
# Values for the other path parameters, so only the id is wrong.
OTHER_PARAMS = {"kind": "calendar", "what": "role"}
BAD_IDS = (2**63, 2**64, 10**30, 2**31, 0, -1)


def id_routes() -> list[tuple[str, str]]:
    found = []
    for route in create_app().routes:
        if not INT_PARAM.search(route.path):
            continue
        methods = getattr(route, "methods", None) or set()
        found += [(m, route.path) for m in methods if m not in ("OPTIONS", "HEAD")]
    return sorted(found)


def concrete(template: str, bad: int) -> str:
    path = INT_PARAM.sub(str(bad), template)
    return re.sub(r"\{(\w+):\w+\}", lambda m: OTHER_PARAMS.get(m.group(1), "x"), path)


def test_the_application_has_id_routes_on_both_channels() -> None:
    routes = id_routes()
    assert len(routes) >= 40
    assert any(path.startswith("/api/") for _, path in routes)


async def test_out_of_range_ids_are_a_404_everywhere(client: AsyncTestClient) -> None:
    admin = await factories.user("admin@desk.test", Role.ADMIN, name="Ada Admin")
    await factories.login(client, "admin@desk.test")
    bearer = {"authorization": f"Bearer {await accounts.issue_api_token(admin.id)}"}
    failures = []
    for method, template in id_routes():
        for bad in BAD_IDS:
            path = concrete(template, bad)
            headers = bearer if path.startswith("/api/") else factories.csrf_header(client)
            kwargs = {"json": {}} if path.startswith("/api/") and method == "POST" else {}
            response = await client.request(
                method, path, headers=headers, follow_redirects=False, **kwargs
            )
            if response.status_code != 404:
                failures.append((method, path, response.status_code))
    assert failures == []


@pytest.mark.parametrize("bad", [2**63, 10**30])
async def test_out_of_range_ids_look_like_missing_ones(client: AsyncTestClient, bad: int) -> None:
    await factories.user("admin@desk.test", Role.ADMIN, name="Ada Admin")
    await factories.login(client, "admin@desk.test")
    missing = await client.get("/tickets/987654")
    out_of_range = await client.get(f"/tickets/{bad}")
    assert missing.status_code == out_of_range.status_code == 404
    assert "Traceback" not in out_of_range.text
    # The page echoes its own path (language switch): apart from that, byte for byte.
    assert out_of_range.text.replace(str(bad), "ID") == missing.text.replace("987654", "ID")


async def test_api_body_numbers_past_the_database_are_a_400(client: AsyncTestClient) -> None:
    w = await factories.world()
    bearer = {"authorization": f"Bearer {await accounts.issue_api_token(w.tech.id)}"}
    ticket_id = await factories.ticket(w.requester_a)
    for body in (
        {"version": 2**63},
        {"version": 1, "assignee_id": 2**64},
        {"version": 1, "group_id": -(2**63)},
    ):
        response = await client.post(
            f"/api/v1/tickets/{ticket_id}/assign", json=body, headers=bearer
        )
        assert response.status_code == 400, (body, response.text)
    response = await client.post(
        "/api/v1/tickets",
        json={"title": "t", "description": "d", "category_id": 2**63},
        headers=bearer,
    )
    assert response.status_code == 400
