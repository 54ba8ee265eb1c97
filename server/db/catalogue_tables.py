"""The service catalogue (issue 14) and data in several languages (issue 16).

``LabelTranslation`` holds the per-language text of any named thing (a category's name and
description, a group's name and description, a request type's name, an announcement's title
and body): one row per (entity, entity_id, field, language). The row's own column keeps the
default text (French, the deployment's language), so a missing translation falls back to it.

``CatalogueHistory`` is append-only: who changed which field of which entity, from what to
what, and when (shown on the category and group pages).
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

from server.db.tables import Category, Group, User

_KEEP = {"on_delete": OnDelete.restrict, "on_update": OnUpdate.restrict}


class LabelTranslation(Table):
    entity = Varchar(length=20, index=True)  # category | group | request_type | announcement
    entity_id = Integer()
    field = Varchar(length=20)  # name | description | title | body
    language = Varchar(length=5)
    text = Text(default="")


class RequestType(Table):
    """What is asked within a category (the Québec guide routes by category, then type).
    Empty ``priority`` or no ``group`` means: the category's own. ``system`` types (the
    "Unspecified" one given to mailed tickets) are never offered to people."""

    category = ForeignKey(references=Category, null=True, index=True, **_KEEP)
    code = Varchar(length=60)
    name = Varchar(length=120)
    priority = Varchar(length=20, default="")
    group = ForeignKey(references=Group, null=True, **_KEEP)
    position = Integer(default=0)
    active = Boolean(default=True)
    system = Boolean(default=False)


class CatalogueHistory(Table):
    entity = Varchar(length=20, index=True)
    entity_id = Integer(index=True)
    actor = ForeignKey(references=User, null=True, **_KEEP)  # null: the command line
    field = Varchar(length=40)
    old_value = Varchar(length=500, default="")
    new_value = Varchar(length=500, default="")
    created_at = Timestamptz(default=TimestamptzNow())


CATALOGUE_TABLES: list[type[Table]] = [LabelTranslation, RequestType, CatalogueHistory]
