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


def review_text(
    text: str,
    decision: str,
    config: DetectorConfig,
    keep: frozenset[int] = frozenset(),
    mark: tuple[str, ...] = (),
) -> str:
    """Screen a text file after the user reviewed the findings: findings starting at an
    offset in ``keep`` were unticked (false positives) and stay; every ``mark`` string the
    user added is hidden too."""
    findings = [f for f in detect(text, config) if f.start not in keep]
    if decision == SEND_ANYWAY or (not findings and not mark):
        return text
    if decision != REDACT:
        raise IdentifiersFound({"file": findings})
    cleaned = redact(text, findings)
    for extra in mark:
        if extra.strip():
            cleaned = cleaned.replace(extra, MARKED)
    return cleaned


MARKED = "[REDACTED]"
