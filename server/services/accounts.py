"""Accounts, passwords, server-side sessions, API tokens and login rate limiting."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from piccolo.query.functions.aggregate import Count, Max
from piccolo.querystring import QueryString

from server import i18n
from server.db import config_cache
from server.db.engine import write_transaction
from server.db.establishment_tree import establishment_parents
from server.db.prepared import Prepared
from server.db.tables import (
    ApiToken,
    GroupEstablishment,
    GroupMember,
    LoginAttempt,
    SupervisorScope,
    User,
    UserSession,
)
from server.domain import login_throttle as throttle
from server.domain.actors import Actor
from server.domain.errors import ValidationFailed
from server.domain.establishments import descendants
from server.domain.login_throttle import Failures
from server.domain.sla_rules import BAD_ZONE
from server.domain.text import N_
from server.domain.vocabulary import Role
from server.settings import get_settings


def _hasher() -> PasswordHasher:
    s = get_settings()
    return PasswordHasher(time_cost=s.argon2_time_cost, memory_cost=s.argon2_memory_kib)


# A hash to verify against when the account does not exist, so timing does not reveal it.
_DUMMY_HASH: str | None = None


def _token_digest(raw: str) -> str:
    """Tokens are stored as SHA-256 digests: a leaked table does not give working tokens."""
    return hashlib.sha256(raw.encode()).hexdigest()


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher().hash, password)


async def _verify(stored: str, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher().verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(check)


@dataclass(frozen=True, slots=True)
class AccountView:
    """The signed-in user as the web layer needs it."""

    id: int
    email: str
    full_name: str
    role: Role
    establishment_id: int | None
    locale: str
    active: bool
    establishment_ids: frozenset[int] = frozenset()
    group_ids: frozenset[int] = frozenset()
    timezone: str = ""  # chosen by the user; empty: see ``zone``
    establishment_timezone: str = ""

    @property
    def zone(self) -> str:
        """Where dates are shown for this user: own choice, else the establishment's."""
        return self.timezone or self.establishment_timezone

    @property
    def actor(self) -> Actor:
        return Actor(
            id=self.id,
            role=self.role,
            establishment_id=self.establishment_id,
            active=self.active,
            establishment_ids=self.establishment_ids,
            group_ids=self.group_ids,
        )

    @property
    def initials(self) -> str:
        parts = [p for p in self.full_name.replace("-", " ").split() if p]
        return "".join(p[0].upper() for p in parts[:2]) or self.email[:2].upper()


def _view(row: dict, reach: tuple[frozenset[int], frozenset[int]] | None = None) -> AccountView:
    establishment_ids, group_ids = reach or (frozenset(), frozenset())
    return AccountView(
        id=row["id"],
        email=row["email"],
        full_name=row["full_name"],
        role=Role(row["role"]),
        establishment_id=row["establishment"],
        locale=row["locale"],
        active=row["active"],
        establishment_ids=establishment_ids,
        group_ids=group_ids,
        timezone=row.get("timezone") or "",
        establishment_timezone=row.get("establishment.timezone") or "",
    )


def _reach_columns(table: str) -> list[QueryString]:
    """The reach of the account ``table``'s row names (its ``"user"`` column), as two
    columns of the request's first statement (session or API token): its groups with the
    establishments each serves (``group:establishment,...``) and its supervisor scopes
    (``establishment,...``). Every staff request needed a statement of its own for them."""
    engine_type = User._meta.db.engine_type
    agg = "string_agg({}, ',')" if engine_type == "postgres" else "group_concat({}, ',')"
    pair = "CAST(m.\"group\" AS TEXT) || ':' || COALESCE(CAST(e.establishment AS TEXT), '')"
    owner = f'"{table}"."user"'
    members, serves = GroupMember._meta.tablename, GroupEstablishment._meta.tablename
    scopes = SupervisorScope._meta.tablename
    return [
        QueryString(
            f"(SELECT {agg.format(pair)} FROM {members} m LEFT JOIN {serves} e"  # noqa: S608
            f' ON e."group" = m."group" WHERE m."user" = {owner})'
        ).as_alias("reach_groups"),
        QueryString(
            f"(SELECT {agg.format('CAST(s.establishment AS TEXT)')} FROM {scopes} s"  # noqa: S608
            f' WHERE s."user" = {owner})'
        ).as_alias("reach_scopes"),
    ]


async def _reach_of_columns(
    role: Role, groups: str | None, scopes: str | None
) -> tuple[frozenset[int], frozenset[int]]:
    """``reach`` from ``_reach_columns``' two values (no statement but the cached tree)."""
    if not role.is_staff:
        return frozenset(), frozenset()
    group_ids: set[int] = set()
    roots: set[int] = set()
    for pair in (groups or "").split(","):
        if pair:
            group, _sep, establishment = pair.partition(":")
            group_ids.add(int(group))
            if establishment:
                roots.add(int(establishment))
    if role in (Role.SUPERVISOR, Role.ADMIN):
        roots.update(int(e) for e in (scopes or "").split(",") if e)
    if not roots:
        return frozenset(), frozenset(group_ids)
    return descendants(roots, await establishment_parents()), frozenset(group_ids)


async def reach(user_id: int, role: Role) -> tuple[frozenset[int], frozenset[int]]:
    """Establishments (subtrees expanded) and groups through which a member of the desk
    sees tickets. Requesters have none: they see by establishment and by name."""
    if not role.is_staff:
        return frozenset(), frozenset()
    # Groups with what each serves (and a supervisor's scopes): one query.
    scoped = role in (Role.SUPERVISOR, Role.ADMIN)
    found = await (_SCOPED_REACH if scoped else _GROUP_REACH).rows(user_id)
    group_ids = frozenset(r["grp"] for r in found if r["grp"] is not None)
    roots = {r["establishment"] for r in found if r["establishment"] is not None}
    if not roots:
        return frozenset(), group_ids
    return descendants(roots, await establishment_parents()), group_ids


def _reach_sql(user_ids: list[int]) -> QueryString:
    """The people, their groups with the establishments each serves, and supervisors'
    scopes, as one ``UNION ALL`` (``part`` says which)."""
    marks = ", ".join("{}" for _ in user_ids)
    sql = (
        "SELECT 0 AS part, id AS person, role, establishment, active, NULL AS grp"  # noqa: S608
        f" FROM {User._meta.tablename} WHERE id IN ({marks})"
        ' UNION ALL SELECT 1, m."user", NULL, e.establishment, NULL, m."group"'
        f" FROM {GroupMember._meta.tablename} m LEFT JOIN {GroupEstablishment._meta.tablename} e"
        f' ON e."group" = m."group" WHERE m."user" IN ({marks})'
        ' UNION ALL SELECT 2, s."user", NULL, s.establishment, NULL, NULL'
        f' FROM {SupervisorScope._meta.tablename} s WHERE s."user" IN ({marks})'
    )
    return QueryString(sql, *user_ids, *user_ids, *user_ids)


async def actors_of(user_ids: list[int]) -> dict[int, Actor]:
    """Several people with their reach (as ``reach`` computes it) in one query (and the
    cached establishment tree), whatever their number: notification recipients are judged
    this way on every change."""
    if not user_ids:
        return {}
    db: Any = User._meta.db
    sql, args = _reach_sql(sorted(set(user_ids))).compile_string(engine_type=db.engine_type)
    found = await db.run_sql(sql, args)
    rows = [r for r in found if r["part"] == 0]
    role_of = {r["person"]: Role(r["role"]) for r in rows}
    staff = {uid for uid, role in role_of.items() if role.is_staff}
    supervisors = {uid for uid in staff if role_of[uid] in (Role.SUPERVISOR, Role.ADMIN)}
    groups: dict[int, set[int]] = {uid: set() for uid in staff}
    roots: dict[int, set[int]] = {uid: set() for uid in staff}
    for r in found:
        if r["part"] == 1 and r["person"] in staff:
            groups[r["person"]].add(r["grp"])
            if r["establishment"] is not None:
                roots[r["person"]].add(r["establishment"])
        elif r["part"] == 2 and r["person"] in supervisors:
            roots[r["person"]].add(r["establishment"])
    parent_of: dict[int, int | None] = {}
    if any(roots.values()):
        parent_of = await establishment_parents()
    return {
        r["person"]: Actor(
            id=r["person"],
            role=role_of[r["person"]],
            establishment_id=r["establishment"],
            active=bool(r["active"]),
            establishment_ids=descendants(roots.get(r["person"], ()), parent_of),
            group_ids=frozenset(groups.get(r["person"], ())),
        )
        for r in rows
    }


# Every request resolves its caller: these run once per request, compiled once.
_USER = Prepared(
    lambda i: (
        User.select(*User.all_columns(), User.establishment.timezone).where(User.id == i).first()
    ),
    987_654_321,
)
_TOKEN_ACCOUNT = Prepared(
    lambda digest: (
        ApiToken.select(
            *ApiToken.user.all_columns(),
            ApiToken.user.establishment.timezone.as_alias("establishment.timezone"),
            config_cache.generation_column(),
            *_reach_columns(ApiToken._meta.tablename),
        )
        .where((ApiToken.token_hash == digest) & ApiToken.revoked_at.is_null())
        .first()
    ),
    "sample-token-digest",
)


def _own_reach_sql(user_id: int, *, scoped: bool) -> QueryString:
    sql = (
        'SELECT m."group" AS grp, e.establishment'  # noqa: S608
        f" FROM {GroupMember._meta.tablename} m LEFT JOIN {GroupEstablishment._meta.tablename} e"
        ' ON e."group" = m."group" WHERE m."user" = {}'
    )
    if scoped:
        sql += (
            " UNION ALL SELECT NULL, s.establishment"  # noqa: S608
            f' FROM {SupervisorScope._meta.tablename} s WHERE s."user" = {{}}'
        )
        return QueryString(sql, user_id, user_id)
    return QueryString(sql, user_id)


_GROUP_REACH = Prepared(lambda i: _own_reach_sql(i, scoped=False), 987_654_321)
_SCOPED_REACH = Prepared(lambda i: _own_reach_sql(i, scoped=True), 987_654_321)
# A session and its account in one read (the account's columns as ``_USER`` names them),
# with the configuration's stamp for the rest of the request (``config_cache.noted``).
_SESSION_ACCOUNT = Prepared(
    lambda digest: (
        UserSession.select(
            UserSession.expires_at,
            *UserSession.user.all_columns(),
            UserSession.user.establishment.timezone.as_alias("establishment.timezone"),
            config_cache.generation_column(),
            *_reach_columns(UserSession._meta.tablename),
        )
        .where(UserSession.token_hash == digest)
        .first()
    ),
    "sample-session-digest",
)


async def account(user_id: int) -> AccountView | None:
    row = await _USER.first(user_id)
    if row is None:
        return None
    return _view(row, await reach(row["id"], Role(row["role"])))


async def actor_of(user_id: int) -> Actor | None:
    found = await account(user_id)
    return found.actor if found else None


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def create_user(
    *,
    email: str,
    full_name: str,
    password: str,
    role: Role,
    establishment_id: int | None,
    phone: str = "",
    locale: str = "",
) -> int:
    email = normalise_email(email)
    errors: dict[str, str] = {}
    if "@" not in email or len(email) > 254:
        errors["email"] = N_("Enter a valid e-mail address.")
    if len(password) < 10:
        errors["password"] = N_("The password must have at least 10 characters.")
    if not full_name.strip():
        errors["full_name"] = N_("This field is required.")
    if errors:
        raise ValidationFailed(errors)
    if await User.exists().where(User.email == email):
        raise ValidationFailed({"email": N_("An account with this e-mail already exists.")})
    password_hash = await hash_password(password)
    async with write_transaction():
        row = await User.insert(
            User(
                email=email,
                full_name=full_name.strip(),
                phone=phone,
                role=role.value,
                establishment=establishment_id,
                locale=locale,
                password_hash=password_hash,
            )
        ).returning(User.id)
    return row[0]["id"]


class TooManyAttempts(Exception):
    """Login refused without checking the password: too many recent failures."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after}s")
        self.retry_after = retry_after


async def _failures(where: Any) -> Failures:
    row = (
        await LoginAttempt.select(
            Count(LoginAttempt.id, alias="count"), Max(LoginAttempt.created_at, alias="last")
        )
        .where(where)
        .first()
    )
    if not row or not row["count"]:
        return Failures(0, None)
    last = row["last"]
    if isinstance(last, str):  # SQLite's MAX() returns the stored text, not a timestamp
        last = datetime.fromisoformat(last)
    return Failures(row["count"], last)


async def login_wait(email: str, address: str, now: datetime | None = None) -> int:
    """Seconds before this address may try this account again (0: now). Read from the
    database, so every instance applies the same limits."""
    now = now or datetime.now(UTC)
    recent = LoginAttempt.created_at > now - throttle.WINDOW
    by_email = LoginAttempt.email == email
    by_address = LoginAttempt.address == address[:64]
    return throttle.seconds_to_wait(
        throttle.ThrottlePolicy.from_limit(get_settings().login_attempts_per_minute),
        pair=await _failures(recent & by_email & by_address),
        account=await _failures(recent & by_email),
        address=await _failures(recent & by_address),
        now=now,
    )


async def authenticate(
    email: str, password: str, address: str, now: datetime | None = None
) -> AccountView | None:
    """Return the account if the password matches an active account, else None.

    Failures are recorded in the database; after a few, the next attempt must wait a delay
    that grows with each further failure (server.domain.login_throttle), per (address,
    account), per account and, much more loosely, per address.
    """
    global _DUMMY_HASH
    email = normalise_email(email)[:254]
    now = now or datetime.now(UTC)
    wait = await login_wait(email, address, now)
    if wait:
        raise TooManyAttempts(wait)
    row = await User.select().where(User.email == email).first()
    if row is None:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = await hash_password(secrets.token_hex(8))
        await _verify(_DUMMY_HASH, password)
        ok = False
    else:
        ok = row["active"] and await _verify(row["password_hash"], password)
    if not ok:
        async with write_transaction():
            await LoginAttempt.insert(
                LoginAttempt(email=email, address=address[:64], created_at=now)
            )
        return None
    await forget_failures(email, address)
    return await account(row["id"])


async def forget_failures(login: str, address: str) -> None:
    """The right password from this address (local or directory): its earlier slips no
    longer count against it."""
    await LoginAttempt.delete().where(
        (LoginAttempt.email == normalise_email(login)[:254])
        & (LoginAttempt.address == address[:64])
    )


async def open_session(user_id: int, user_agent: str = "") -> str:
    """Create a server-side session and return the raw token for the cookie."""
    raw = secrets.token_urlsafe(32)
    hours = get_settings().session_hours
    async with write_transaction():
        await UserSession.insert(
            UserSession(
                token_hash=_token_digest(raw),
                user=user_id,
                expires_at=datetime.now(UTC) + timedelta(hours=hours),
                user_agent=user_agent[:200],
            )
        )
    return raw


async def session_account(raw: str) -> AccountView | None:
    if not raw or len(raw) > 200:
        return None
    row = await _SESSION_ACCOUNT.first(_token_digest(raw))
    if row is None or row["expires_at"] <= datetime.now(UTC):
        return None
    return await _active_account(row)


def session_digest(raw: str) -> str:
    return _token_digest(raw)


async def live_session_digests(digests: set[str]) -> set[str]:
    """Which of these sessions are still valid (not expired, user active): one query per
    500, so re-checking thousands of open websockets costs a handful of queries."""
    valid: set[str] = set()
    pending = sorted(digests)
    now = datetime.now(UTC)
    for start in range(0, len(pending), 500):
        rows = await UserSession.select(UserSession.token_hash).where(
            UserSession.token_hash.is_in(pending[start : start + 500])
            & (UserSession.expires_at > now)
            & (UserSession.user.active == True)  # noqa: E712
        )
        valid.update(r["token_hash"] for r in rows)
    return valid


async def close_session(raw: str) -> None:
    async with write_transaction():
        await UserSession.delete().where(UserSession.token_hash == _token_digest(raw))


async def close_all_sessions(user_id: int) -> None:
    async with write_transaction():
        await UserSession.delete().where(UserSession.user == user_id)


async def set_active(user_id: int, active: bool) -> None:
    """Deactivating an account ends all its sessions and revokes nothing else (tokens stop
    working because inactive accounts are refused)."""
    async with write_transaction():
        await User.update({User.active: active}).where(User.id == user_id)
        if not active:
            await UserSession.delete().where(UserSession.user == user_id)


async def set_timezone(user_id: int, zone: str) -> None:
    """Empty puts the user back on the establishment's zone."""
    zone = zone.strip()
    if zone and not i18n.is_timezone(zone):
        raise ValidationFailed({"timezone": BAD_ZONE})
    async with write_transaction():
        await User.update({User.timezone: zone}).where(User.id == user_id)


async def set_locale(user_id: int, locale: str) -> None:
    async with write_transaction():
        await User.update({User.locale: locale}).where(User.id == user_id)


async def issue_api_token(user_id: int, name: str = "") -> str:
    raw = "gt_" + secrets.token_urlsafe(32)
    async with write_transaction():
        await ApiToken.insert(ApiToken(token_hash=_token_digest(raw), user=user_id, name=name))
    return raw


async def token_account(raw: str) -> AccountView | None:
    if not raw or len(raw) > 200:
        return None
    return await _active_account(await _TOKEN_ACCOUNT.first(_token_digest(raw)))


async def _active_account(row: dict[str, Any] | None) -> AccountView | None:
    """The account a session or token read joined (columns named ``user.*``), if active."""
    if row is None:
        return None
    config_cache.noted(row.pop("config_generation", None))
    groups, scopes = row.pop("reach_groups", None), row.pop("reach_scopes", None)
    if row["user.id"] is None:
        return None
    user = {key.removeprefix("user."): value for key, value in row.items()}
    if not user["active"]:
        return None
    role = Role(user["role"])
    return _view(user, await _reach_of_columns(role, groups, scopes))


async def revoke_api_token(raw: str) -> bool:
    async with write_transaction():
        rows = (
            await ApiToken.update({ApiToken.revoked_at: datetime.now(UTC)})
            .where(ApiToken.token_hash == _token_digest(raw))
            .returning(ApiToken.id)
        )
    return bool(rows)


async def revoke_all_api_tokens(user_id: int) -> int:
    async with write_transaction():
        rows = (
            await ApiToken.update({ApiToken.revoked_at: datetime.now(UTC)})
            .where((ApiToken.user == user_id) & ApiToken.revoked_at.is_null())
            .returning(ApiToken.id)
        )
    return len(rows)


async def user_id_by_email(email: str) -> int | None:
    row = await User.select(User.id).where(User.email == normalise_email(email)).first()
    return row["id"] if row else None


async def pending_count() -> int:
    """Self-registered accounts with a verified address, waiting for an establishment."""
    return await User.count().where(
        User.establishment.is_null() & (User.role == Role.REQUESTER.value) & (User.active == True)  # noqa: E712
    )
