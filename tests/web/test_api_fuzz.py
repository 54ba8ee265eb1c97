"""Schemathesis over /api/v1: whatever the generated request, the API never answers a server
error (5xx), for a requester and for a technician.

Each operation of the OpenAPI document becomes one test; the number of examples per
operation is bounded so this stays within a minute or two per engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi as schemathesis_asgi

from server.app import create_app
from server.services import accounts
from tests import factories

EXAMPLES_PER_OPERATION = 25

# Schemathesis's reuse of earlier responses (its "extra data sources") draws with the global
# ``random`` module inside a strategy; Hypothesis flags that with a deprecation warning, which
# this project turns into an error, at random depending on what earlier operations answered.
# It says nothing about the API under test.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module inside strategies"
    ":hypothesis.errors.HypothesisDeprecationWarning"
)


# The schema is the application's own document, read without starting it; schemathesis starts
# the application's lifespan at the first request and keeps it until the module is done.
APP = create_app()
schema = schemathesis.openapi.from_dict(APP.openapi_schema.to_schema()).include(
    path_regex="^/api/v1/"
)
schema.app = APP


@pytest.fixture(scope="module", autouse=True)
def _stop_the_application() -> Iterator[None]:
    yield
    schemathesis_asgi.shutdown_lifespans()


@pytest.fixture
async def bearers() -> dict[str, dict[str, str]]:
    """A requester's and a technician's token, and a few tickets for ids to land on."""
    w = await factories.world()
    for _ in range(3):
        await factories.ticket(w.requester_a, category_id=str(w.category_id))
    return {
        role: {"Authorization": f"Bearer {await accounts.issue_api_token(actor.id)}"}
        for role, actor in (("requester", w.requester_a), ("technician", w.tech))
    }


# One pytest test per operation, each with its own id (the plugin's ``schema.parametrize()``
# gives every operation the same node id, which pytest-xdist folds into one test).
OPERATIONS = [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.label)
def test_api_never_answers_a_server_error(
    operation: Any, bearers: dict[str, dict[str, str]]
) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def never_a_server_error(case: Any) -> None:
        for headers in bearers.values():
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

    never_a_server_error()
