"""Links between Guichet accounts and directory identities (LDAP entries, OIDC subjects)."""

from __future__ import annotations

from piccolo.columns import ForeignKey, OnDelete, OnUpdate, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from server.db.tables import User


class DirectoryLink(Table):
    """One directory identity per row; the account it signs in as.

    ``identity`` is "<provider>:<subject>" (the entry DN, or the issuer and "sub" claim): an
    e-mail change in the directory then updates the account instead of creating another.
    """

    identity = Varchar(length=600, unique=True)
    user = ForeignKey(
        references=User, on_delete=OnDelete.cascade, on_update=OnUpdate.cascade, index=True
    )
    last_login_at = Timestamptz(default=TimestamptzNow())


DIRECTORY_TABLES = [DirectoryLink]
