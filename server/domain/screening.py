"""Screening typed text for patient identifiers before it is stored.

The requester (or technician) decides when something is found: redact the findings (each is
replaced by a marker naming its kind) or send the text as it is. Without a decision, nothing
is stored and the findings are shown next to their field.
"""

from __future__ import annotations

from collections.abc import Mapping

from server.domain.errors import IdentifiersFound
from server.domain.phi import DetectorConfig, Finding, detect, redact

REDACT = "redact"
SEND_ANYWAY = "send"


def screen(fields: Mapping[str, str], decision: str, config: DetectorConfig) -> dict[str, str]:
    """Return the fields to store, redacted if asked; raise IdentifiersFound to ask."""
    findings: dict[str, list[Finding]] = {}
    for name, text in fields.items():
        found = detect(text, config)
        if found:
            findings[name] = found
    if not findings or decision == SEND_ANYWAY:
        return dict(fields)
    if decision == REDACT:
        return {name: redact(text, findings.get(name, ())) for name, text in fields.items()}
    raise IdentifiersFound(findings)
