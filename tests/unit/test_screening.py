"""Screening typed text: ask when identifiers are found, then redact or send as the user says."""

import pytest

from server.domain.errors import IdentifiersFound
from server.domain.phi import DetectorConfig
from server.domain.screening import REDACT, SEND_ANYWAY, screen

CONFIG = DetectorConfig(identifier_patterns=(("IPP", r"\bIPP\s*\d{8}\b"),))
TEXT = "Patient IPP 12345678, contact jean.dupont@example.org"


def test_clean_text_passes_untouched() -> None:
    assert screen({"text": "Imprimante hors ligne"}, "", CONFIG) == {
        "text": "Imprimante hors ligne"
    }


def test_findings_stop_the_submission_until_the_user_decides() -> None:
    with pytest.raises(IdentifiersFound) as caught:
        screen({"title": "OK", "text": TEXT}, "", CONFIG)
    assert set(caught.value.findings) == {"text"}
    kinds = {f.kind.value for f in caught.value.findings["text"]}
    assert kinds == {"custom", "email"}


def test_redact_replaces_each_finding_by_its_kind() -> None:
    result = screen({"text": TEXT}, REDACT, CONFIG)
    assert result["text"] == "Patient [IPP], contact [EMAIL]"


def test_send_anyway_keeps_the_text() -> None:
    assert screen({"text": TEXT}, SEND_ANYWAY, CONFIG) == {"text": TEXT}


def test_unknown_decision_still_asks() -> None:
    with pytest.raises(IdentifiersFound):
        screen({"text": TEXT}, "whatever", CONFIG)
