"""Field validation shared by HTML forms and the API."""

import pytest

from server.domain.errors import ValidationFailed
from server.domain.forms import parse_follow_up, parse_new_ticket, parse_status
from server.domain.vocabulary import Environment, Priority, Status, TicketType


def test_valid_ticket_is_typed_and_trimmed() -> None:
    data = parse_new_ticket(
        {
            "title": "  VPN instable ",
            "description": "Coupures",
            "type": "outage",
            "priority": "high",
            "category_id": "3",
            "environment": "test",
            "contact_phone": "+33 2 47 00 00 00",
            "service_url": "https://dpi.example/page",
            "shared": "0",
        }
    )
    assert data.title == "VPN instable"
    assert data.type is TicketType.OUTAGE
    assert data.priority is Priority.HIGH
    assert data.category_id == 3
    assert data.environment is Environment.TEST
    assert data.shared is False
    assert data.notify is True


def test_every_faulty_field_is_reported_at_once() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_new_ticket(
            {
                "title": "",
                "description": "x" * 60_000,
                "type": "nonsense",
                "priority": "urgent!",
                "category_id": "abc",
                "contact_phone": "call me",
                "service_url": "javascript:alert(1)",
            }
        )
    assert set(caught.value.errors) == {
        "title",
        "description",
        "type",
        "priority",
        "category_id",
        "contact_phone",
        "service_url",
    }


def test_non_text_values_are_refused_not_crashing() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_new_ticket({"title": ["a", "b"], "description": {"x": 1}})
    assert caught.value.errors["title"] == "This value must be text."


def test_follow_up_private_flag_needs_permission() -> None:
    assert parse_follow_up({"text": "hi", "private": "1"}, may_be_private=False).private is False
    assert parse_follow_up({"text": "hi", "private": "1"}, may_be_private=True).private is True
    with pytest.raises(ValidationFailed):
        parse_follow_up({"text": "hi", "minutes": "-5"}, may_be_private=True)


def test_status_change_needs_target_and_version() -> None:
    assert parse_status({"status": "resolved", "version": "4", "solution": "ok"}) == (
        Status.RESOLVED,
        4,
        "ok",
    )
    with pytest.raises(ValidationFailed) as caught:
        parse_status({"status": "done"})
    assert set(caught.value.errors) == {"status", "version"}
