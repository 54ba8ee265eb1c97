"""The words of a ticket: statuses, priorities, types, environments, roles.

Values are stored in the database as these strings; labels are message ids translated by the
web layer. Facts come from the help-desk guides Guichet was specified from (GLPI's six statuses
and five priorities, OTRS's request types and environments).
"""

from __future__ import annotations

from enum import StrEnum

from server.domain.text import N_


class Status(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    PLANNED = "planned"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]

    @property
    def is_open(self) -> bool:
        return self not in (Status.RESOLVED, Status.CLOSED)


STATUS_LABELS = {
    Status.NEW: N_("New"),
    Status.ASSIGNED: N_("In progress (assigned)"),
    Status.PLANNED: N_("In progress (planned)"),
    Status.PENDING: N_("Pending"),
    Status.RESOLVED: N_("Resolved"),
    Status.CLOSED: N_("Closed"),
}


class Priority(StrEnum):
    VERY_HIGH = "very_high"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    VERY_LOW = "very_low"

    @property
    def label(self) -> str:
        return PRIORITY_LABELS[self]

    @property
    def rank(self) -> int:
        """1 is the most urgent; used to sort."""
        return list(Priority).index(self) + 1


PRIORITY_LABELS = {
    Priority.VERY_HIGH: N_("Very high"),
    Priority.HIGH: N_("High"),
    Priority.MEDIUM: N_("Medium"),
    Priority.LOW: N_("Low"),
    Priority.VERY_LOW: N_("Very low"),
}


class TicketType(StrEnum):
    INCIDENT = "incident"
    SERVICE_REQUEST = "service_request"
    ACCESS_REQUEST = "access_request"
    CONSULTATION = "consultation"
    OUTAGE = "outage"
    UNSPECIFIED = "unspecified"

    @property
    def label(self) -> str:
        return TYPE_LABELS[self]


TYPE_LABELS = {
    TicketType.INCIDENT: N_("Incident"),
    TicketType.SERVICE_REQUEST: N_("Service request"),
    TicketType.ACCESS_REQUEST: N_("Access request"),
    TicketType.CONSULTATION: N_("Consultation"),
    TicketType.OUTAGE: N_("Outage"),
    TicketType.UNSPECIFIED: N_("Unspecified"),
}


class Source(StrEnum):
    """The channel a ticket came by (GLPI's "request source")."""

    WEB = "web"
    PHONE = "phone"
    MAIL = "mail"
    API = "api"
    WALK_IN = "walk_in"
    MONITORING = "monitoring"

    @property
    def label(self) -> str:
        return SOURCE_LABELS[self]


SOURCE_LABELS = {
    Source.WEB: N_("Web form"),
    Source.PHONE: N_("Phone"),
    Source.MAIL: N_("Mail"),
    Source.API: N_("API"),
    Source.WALK_IN: N_("Walk-in"),
    Source.MONITORING: N_("Monitoring"),
}


class Environment(StrEnum):
    PRODUCTION = "production"
    PREPRODUCTION = "preproduction"
    TEST = "test"

    @property
    def label(self) -> str:
        return ENVIRONMENT_LABELS[self]


ENVIRONMENT_LABELS = {
    Environment.PRODUCTION: N_("Production"),
    Environment.PREPRODUCTION: N_("Pre-production"),
    Environment.TEST: N_("Test"),
}


class Role(StrEnum):
    REQUESTER = "requester"
    TECHNICIAN = "technician"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]

    @property
    def is_staff(self) -> bool:
        return self is not Role.REQUESTER


ROLE_LABELS = {
    Role.REQUESTER: N_("Requester"),
    Role.TECHNICIAN: N_("Technician"),
    Role.SUPERVISOR: N_("Supervisor"),
    Role.ADMIN: N_("Administrator"),
}

# Field names as shown in the history timeline.
FIELD_LABELS = {
    "status": N_("Status"),
    "priority": N_("Priority"),
    "category": N_("Category"),
    "assignee": N_("Technician"),
    "group": N_("Group"),
    "type": N_("Type"),
    "title": N_("Title"),
    "shared": N_("Shared with the establishment"),
    "created": N_("Ticket created"),
    "attachment": N_("Attachment"),
    "redaction": N_("Patient data removed from"),
    "description": N_("Description"),
    "follow_up": N_("a follow-up"),
    "escalation": N_("Escalated"),
    "deescalation": N_("De-escalated"),
    "transfer": N_("Handed over"),
    "share_added": N_("Shared with"),
    "share_removed": N_("No longer shared with"),
    "follows_up": N_("Follows up the closed ticket"),
    "followed_up_by": N_("Followed up by the ticket"),
}


# Kinds of patient identifiers the detector finds (server.domain.phi.Kind values).
PHI_LABELS = {
    "email": N_("e-mail address"),
    "phone": N_("phone number"),
    "nir": N_("social security number (NIR)"),
    "ramq": N_("Québec health insurance number (RAMQ)"),
    "ohip": N_("Ontario health card number"),
    "snils": N_("SNILS number"),
    "oms": N_("OMS policy number"),
    "birth_date": N_("date of birth"),
    "custom": N_("patient identifier"),
    "name": N_("patient name"),
}
