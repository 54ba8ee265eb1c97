"""Piccolo tables.

Foreign keys default to ON DELETE CASCADE in Piccolo; every key that could take tickets,
follow-ups or history with it is RESTRICT instead. Only sessions and tokens go with a user.
"""

from __future__ import annotations

from piccolo.columns import (
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    OnUpdate,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from server.domain.vocabulary import Environment, Priority, Role, Source, Status, TicketType

_KEEP = {"on_delete": OnDelete.restrict, "on_update": OnUpdate.restrict}


class Establishment(Table):
    name = Varchar(length=200)
    code = Varchar(length=3, unique=True)  # trigram shown next to ticket numbers
    parent = ForeignKey(references="self", null=True, **_KEEP)
    timezone = Varchar(length=64, default="Europe/Paris")
    active = Boolean(default=True)


class User(Table, tablename="account"):
    email = Varchar(length=254, unique=True)
    full_name = Varchar(length=120)
    phone = Varchar(length=30, default="")
    role = Varchar(length=20, choices=Role, default=Role.REQUESTER)
    establishment = ForeignKey(references=Establishment, null=True, **_KEEP)
    locale = Varchar(length=5, default="")  # empty: follow the browser
    timezone = Varchar(length=64, default="")  # empty: the establishment's, else the deployment's
    active = Boolean(default=True)
    # Self-registered accounts name their organisation in free text and stay pending (no
    # establishment, cannot file tickets) until an admin links them to an establishment.
    organisation = Varchar(length=200, default="")
    password_hash = Varchar(length=255, default="")
    created_at = Timestamptz(default=TimestamptzNow())


class Group(Table, tablename="tech_group"):
    name = Varchar(length=120, unique=True)
    tier = Integer(default=1)
    description = Text(default="")
    email = Varchar(length=254, default="")  # the team's own address, told of new tickets
    # Where an escalation goes by default (issue 14); null: choose by tier.
    next_tier = ForeignKey(references="self", null=True, on_delete=OnDelete.set_null)


class GroupMember(Table):
    group = ForeignKey(references=Group, on_delete=OnDelete.cascade)
    user = ForeignKey(references=User, on_delete=OnDelete.cascade)


class GroupEstablishment(Table):
    """A technician group serves an establishment and everything below it."""

    group = ForeignKey(references=Group, on_delete=OnDelete.cascade, index=True)
    establishment = ForeignKey(references=Establishment, **_KEEP)


class SupervisorScope(Table):
    """A supervisor watches an establishment subtree; several rows give several subtrees."""

    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    establishment = ForeignKey(references=Establishment, **_KEEP)


class Category(Table):
    name = Varchar(length=120)
    parent = ForeignKey(references="self", null=True, **_KEEP)
    default_priority = Varchar(length=20, choices=Priority, default=Priority.MEDIUM)
    default_group = ForeignKey(references=Group, null=True, **_KEEP)
    active = Boolean(default=True)
    # Issue 14: a stable key for import/export, a description, an order among siblings and
    # the establishment subtree it is offered to (null: everyone).
    code = Varchar(length=80, default="")
    description = Text(default="")
    position = Integer(default=0)
    establishment = ForeignKey(references=Establishment, null=True, **_KEEP)


class Ticket(Table):
    title = Varchar(length=200)
    description = Text()
    ticket_type = Varchar(length=20, choices=TicketType, default=TicketType.INCIDENT)
    priority = Varchar(length=20, choices=Priority, default=Priority.MEDIUM, index=True)
    # 1 = most urgent; kept beside ``priority`` so board columns sort on an index.
    priority_rank = Integer(default=3)
    status = Varchar(length=20, choices=Status, default=Status.NEW, index=True)
    requester = ForeignKey(references=User, index=True, **_KEEP)
    establishment = ForeignKey(references=Establishment, index=True, **_KEEP)
    category = ForeignKey(references=Category, null=True, **_KEEP)
    assigned_group = ForeignKey(references=Group, null=True, index=True, **_KEEP)
    assignee = ForeignKey(references=User, null=True, index=True, **_KEEP)
    contact_name = Varchar(length=120, default="")
    contact_phone = Varchar(length=30, default="")
    environment = Varchar(length=20, choices=Environment, default=Environment.PRODUCTION)
    service_url = Varchar(length=500, default="")
    notify = Boolean(default=True)
    shared = Boolean(default=True)
    solution = Text(default="")
    version = Integer(default=1)
    source = Varchar(length=20, choices=Source, default=Source.WEB)  # the channel it came by
    # A monitoring alert's key: one open ticket per key and establishment (unique partial
    # index in the migration); the same alert again becomes a follow-up.
    dedup_key = Varchar(length=200, null=True, default=None)
    request_type = Integer(null=True, default=None)  # catalogue_tables.RequestType id
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    updated_at = Timestamptz(default=TimestamptzNow())
    resolved_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)


class FollowUp(Table):
    ticket = ForeignKey(references=Ticket, index=True, **_KEEP)
    author = ForeignKey(references=User, **_KEEP)
    text = Text()
    private = Boolean(default=False)
    minutes = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())


class HistoryEntry(Table):
    """Append-only: rows are inserted, never updated or deleted (enforced by triggers)."""

    ticket = ForeignKey(references=Ticket, index=True, **_KEEP)
    actor = ForeignKey(references=User, null=True, **_KEEP)  # null: Guichet itself
    field = Varchar(length=40)
    old_value = Varchar(length=500, default="")
    new_value = Varchar(length=500, default="")
    note = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())


class TicketWatcher(Table):
    """Someone who asked to be notified about a ticket they may see. Watching never widens
    access: recipients are still filtered by the access policy."""

    ticket = ForeignKey(references=Ticket, index=True, **_KEEP)
    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    created_at = Timestamptz(default=TimestamptzNow())


class TicketShare(Table):
    """A requester shares a ticket with a named colleague of the same establishment, who may
    then see and comment on it even when it is private."""

    ticket = ForeignKey(references=Ticket, index=True, **_KEEP)
    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    shared_by = ForeignKey(references=User, **_KEEP)
    created_at = Timestamptz(default=TimestamptzNow())


class AccountToken(Table):
    """Single-use, time-limited links: account activation after an invitation, password
    reset. Only a digest is stored."""

    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    purpose = Varchar(length=20)  # activate | reset
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)


class UserSession(Table):
    token_hash = Varchar(length=64, unique=True)
    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    user_agent = Varchar(length=200, default="")


class ApiToken(Table):
    token_hash = Varchar(length=64, unique=True)
    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    name = Varchar(length=120, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class Attachment(Table):
    """A file attached to a ticket. Only the sanitised file is stored, under a random key;
    the original name is kept, cleaned, for display only."""

    ticket = ForeignKey(references=Ticket, index=True, **_KEEP)
    follow_up = ForeignKey(references=FollowUp, null=True, **_KEEP)
    uploader = ForeignKey(references=User, **_KEEP)
    storage_key = Varchar(length=64, unique=True)
    filename = Varchar(length=160)
    mime = Varchar(length=100)
    kind = Varchar(length=10)  # image | pdf | text | office
    size = Integer()
    width = Integer(null=True, default=None)
    height = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class AttachmentDownload(Table):
    """Who downloaded which attachment, when: supervisors can list them."""

    attachment = ForeignKey(references=Attachment, index=True, **_KEEP)
    user = ForeignKey(references=User, **_KEEP)
    created_at = Timestamptz(default=TimestamptzNow())


class TicketViewer(Table):
    """Who has a ticket page open right now (presence), shared by every instance.
    Rows are refreshed by a heartbeat; stale ones are ignored and purged."""

    ticket = ForeignKey(references=Ticket, on_delete=OnDelete.cascade, index=True)
    user = ForeignKey(references=User, on_delete=OnDelete.cascade)
    connection = Varchar(length=32, unique=True)
    seen_at = Timestamptz(default=TimestamptzNow())


class LoginAttempt(Table):
    """Failed logins, counted per e-mail and per address for rate limiting (any instance)."""

    email = Varchar(length=254, index=True)
    address = Varchar(length=64, index=True)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)


class NotificationPreference(Table):
    """A user's choice for one kind of notification (server.domain.notifications.Kind).
    No row means enabled: only opt-outs need storing."""

    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=30)
    enabled = Boolean(default=True)


class Outbox(Table):
    """Mails to send, one row per recipient, written in the transaction of the change they
    announce. The dispatcher claims rows (``claimed_by`` until ``claimed_until``), sends them
    and stamps ``sent_at``; a failure pushes ``next_attempt_at`` back. Rows are kept."""

    kind = Varchar(length=30)
    ticket = ForeignKey(references=Ticket, index=True, **_KEEP)
    recipient = ForeignKey(references=User, **_KEEP)
    actor = ForeignKey(references=User, null=True, **_KEEP)  # null: Guichet itself
    follow_up = ForeignKey(references=FollowUp, null=True, **_KEEP)
    status = Varchar(length=20, default="")  # the ticket's status when it happened
    created_at = Timestamptz(default=TimestamptzNow())
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(default=TimestamptzNow(), index=True)
    sent_at = Timestamptz(null=True, default=None)
    claimed_by = Varchar(length=64, null=True, default=None)
    claimed_until = Timestamptz(null=True, default=None)
    last_error = Text(default="")


ALL_TABLES: list[type[Table]] = [
    Establishment,
    User,
    Group,
    GroupMember,
    GroupEstablishment,
    SupervisorScope,
    Category,
    Ticket,
    FollowUp,
    HistoryEntry,
    TicketWatcher,
    TicketShare,
    AccountToken,
    UserSession,
    ApiToken,
    LoginAttempt,
    TicketViewer,
    Attachment,
    AttachmentDownload,
    NotificationPreference,
    Outbox,
]

# Issue 6 (in-app notifications, received mail): its own module, imported last because its
# tables reference the ones above.
from server.db.notification_tables import NOTIFICATION_TABLES  # noqa: E402

ALL_TABLES += NOTIFICATION_TABLES

# Issue 7 tables live in their own module (imported last: they reference the tables above).
from server.db.sla_tables import SLA_TABLES  # noqa: E402

ALL_TABLES += SLA_TABLES

# Issue 8 (knowledge base, search): defined in their own module, appended here.
from server.db.kb_tables import KB_TABLES  # noqa: E402

ALL_TABLES += KB_TABLES

# Issue 18 (directory and single sign-on): links to directory identities.
from server.db.directory_tables import DIRECTORY_TABLES  # noqa: E402

ALL_TABLES += DIRECTORY_TABLES

# Issue 13 (account mails through a queue): their own module, appended here.
from server.db.mail_tables import MAIL_TABLES  # noqa: E402

ALL_TABLES += MAIL_TABLES

# Issue 12: counters maintained with each ticket change (server.db.counters).
from server.db.counter_tables import COUNTER_TABLES  # noqa: E402

ALL_TABLES += COUNTER_TABLES

# Issue 15: links between tickets (related, duplicate, parent and child).
from server.db.link_tables import LINK_TABLES  # noqa: E402

ALL_TABLES += LINK_TABLES

# Issue 18: outbound webhooks and their delivery queue.
from server.db.webhook_tables import WEBHOOK_TABLES  # noqa: E402

ALL_TABLES += WEBHOOK_TABLES
# Issue 15: canned replies (personal or per group, per language).
from server.db.canned_tables import CANNED_TABLES  # noqa: E402

ALL_TABLES += CANNED_TABLES
# Issue 14: service catalogue (request types, translations, history).
from server.db.catalogue_tables import CATALOGUE_TABLES  # noqa: E402

ALL_TABLES += CATALOGUE_TABLES
# Issue 14 (intake): intake groups per establishment, how each ticket came in.
from server.db.intake_tables import INTAKE_TABLES  # noqa: E402

ALL_TABLES += INTAKE_TABLES
# Issue 15: the reports' hour-by-hour read model (server.db.report_tally).
from server.db.report_tables import REPORT_TABLES  # noqa: E402

ALL_TABLES += REPORT_TABLES
