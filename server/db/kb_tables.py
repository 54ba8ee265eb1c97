"""Tables of the knowledge base, saved searches and suggestion sessions.

Full-text indexes (SQLite FTS5 tables, PostgreSQL tsvector columns) are not Piccolo columns:
they are created by raw SQL in a migration and kept in sync by triggers (see server/db/search.py).
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

from server.db.tables import Category, Establishment, Ticket, User

_KEEP = {"on_delete": OnDelete.restrict, "on_update": OnUpdate.restrict}
_OWNED = {"on_delete": OnDelete.cascade, "on_update": OnUpdate.cascade}


class KbArticle(Table):
    title = Varchar(length=200)
    body = Text()  # Markdown, rendered and sanitised on display (server.domain.knowledge)
    category = ForeignKey(references=Category, null=True, **_KEEP)
    language = Varchar(length=2, default="fr")  # fr | en | ru: picks the stemmer
    visibility = Varchar(length=10, default="internal", index=True)  # public | internal
    state = Varchar(length=10, default="draft", index=True)  # draft | published
    author = ForeignKey(references=User, **_KEEP)
    source_ticket = ForeignKey(references=Ticket, null=True, **_KEEP)
    # The same article in other languages shares one family: its members point at the first
    # article written (the root, whose own value is null).
    translation_of = ForeignKey(references="self", null=True, index=True, **_KEEP)
    version = Integer(default=1)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class KbArticleEstablishment(Table):
    """An article restricted to some establishments (and their children). No row: everyone."""

    article = ForeignKey(references=KbArticle, index=True, **_OWNED)
    establishment = ForeignKey(references=Establishment, **_KEEP)


class KbRevision(Table):
    """The full content of every saved version of an article (append-only)."""

    article = ForeignKey(references=KbArticle, index=True, **_KEEP)
    number = Integer()
    title = Varchar(length=200)
    body = Text()
    author = ForeignKey(references=User, **_KEEP)
    created_at = Timestamptz(default=TimestamptzNow())


class KbVote(Table):
    """ "Did this help?": one row per user and article (unique index), changeable."""

    article = ForeignKey(references=KbArticle, index=True, **_OWNED)
    user = ForeignKey(references=User, **_OWNED)
    helpful = Boolean()
    created_at = Timestamptz(default=TimestamptzNow())


class KbTicketLink(Table):
    article = ForeignKey(references=KbArticle, index=True, **_KEEP)
    ticket = ForeignKey(references=Ticket, index=True, **_KEEP)
    linked_by = ForeignKey(references=User, **_KEEP)
    created_at = Timestamptz(default=TimestamptzNow())


class SavedSearch(Table):
    user = ForeignKey(references=User, index=True, **_OWNED)
    name = Varchar(length=120)
    query = Varchar(length=1000)  # the search page's query string, re-validated when run
    created_at = Timestamptz(default=TimestamptzNow())


class SuggestionSession(Table):
    """One new-ticket form: did the requester open a suggestion, then submit or give up?"""

    token = Varchar(length=32, unique=True)
    user = ForeignKey(references=User, index=True, **_OWNED)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    opened = Integer(default=0)  # suggestions opened from this form
    outcome = Varchar(length=12, default="")  # "" | submitted | abandoned
    ended_at = Timestamptz(null=True, default=None)


KB_TABLES: list[type[Table]] = [
    KbArticle,
    KbArticleEstablishment,
    KbRevision,
    KbVote,
    KbTicketLink,
    SavedSearch,
    SuggestionSession,
]
