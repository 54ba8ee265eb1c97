"""Stored codes (status, priority, type, ...) shown in the viewer's language."""

from __future__ import annotations

from server import i18n
from server.domain.vocabulary import (
    ENVIRONMENT_LABELS,
    FIELD_LABELS,
    PHI_LABELS,
    PRIORITY_LABELS,
    ROLE_LABELS,
    SOURCE_LABELS,
    STATUS_LABELS,
    TYPE_LABELS,
)

# Stored code -> message, per kind (built once: a board calls ``label`` hundreds of times).
_LABELS: dict[str, dict[str, str]] = {
    kind: {str(key): message for key, message in table.items()}
    for kind, table in (
        ("status", STATUS_LABELS),
        ("priority", PRIORITY_LABELS),
        ("type", TYPE_LABELS),
        ("environment", ENVIRONMENT_LABELS),
        ("role", ROLE_LABELS),
        ("field", FIELD_LABELS),
        ("phi", PHI_LABELS),
        ("source", SOURCE_LABELS),
    )
}


def label(kind: str, value: str | None) -> str:
    """Translate a stored code (status, priority, ...) into the viewer's language."""
    table = _LABELS[kind]
    if value is None or value == "":
        return ""
    message = table.get(str(value))
    return i18n.gettext(message) if message is not None else value
