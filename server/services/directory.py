"""Directory login: LDAP / Active Directory bind, and the account a directory identity gets.

ldap3 is synchronous: each login runs in a worker thread with its own connections, closed
before returning. Local accounts never depend on the directory (break-glass admin).
"""

from __future__ import annotations

import logging
import ssl
from datetime import UTC, datetime
from typing import Any

import anyio.to_thread
from ldap3 import BASE, NONE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn

from server.db.directory_tables import DirectoryLink
from server.db.engine import write_transaction
from server.db.tables import Establishment, Group, GroupMember, SupervisorScope, User
from server.domain.directory import (
    DirectoryIdentity,
    ad_account_disabled,
    parse_group_rules,
    profile_for,
)
from server.domain.errors import GuichetError
from server.domain.text import N_
from server.domain.vocabulary import Role
from server.services import accounts
from server.settings import LdapSettings, Settings, get_settings

log = logging.getLogger("guichet.directory")


class DirectoryUnavailable(GuichetError):
    message = N_("The directory cannot be reached: try again in a moment.")


class DirectoryAccountDisabled(GuichetError):
    message = N_("This directory account is disabled.")


class DirectoryAccountConflict(GuichetError):
    message = N_(
        "This e-mail belongs to an account of Guichet that is not linked to the directory: "
        "ask an administrator."
    )


def ldap_enabled(settings: Settings | None = None) -> bool:
    return bool((settings or get_settings()).ldap.url)


# --- LDAP --------------------------------------------------------------------------------


def _connection(cfg: LdapSettings, user: str | None, password: str | None) -> Connection:
    # ldap3 packs the receive timeout as a whole number of seconds.
    timeout = max(1, round(cfg.timeout_seconds))
    # ldap3 does not check certificates unless told to: ldaps:// and StartTLS must.
    tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=cfg.ca_file or None)
    server = Server(cfg.url, connect_timeout=timeout, get_info=NONE, tls=tls)
    conn = Connection(
        server,
        user=user,
        password=password,
        receive_timeout=timeout,
        raise_exceptions=False,
        read_only=True,
    )
    conn.open()
    # Never go on in clear text when TLS was asked for.
    if cfg.start_tls and not conn.start_tls():
        conn.unbind()
        raise DirectoryUnavailable()
    return conn


def _bind(cfg: LdapSettings, dn: str, password: str) -> Connection | None:
    """A connection bound as ``dn``, or None when the directory refuses the credentials."""
    conn = _connection(cfg, dn, password)
    if conn.bind():
        return conn
    result = conn.result.get("description", "")
    conn.unbind()
    if result in ("invalidCredentials", "noSuchObject", "invalidDNSyntax"):
        return None
    raise DirectoryUnavailable()


def _single(conn: Connection, base: str, scope: Any, search_filter: str, attrs: list[str]):
    conn.search(base, search_filter, search_scope=scope, attributes=attrs, size_limit=2)
    entries = conn.entries
    return entries[0] if len(entries) == 1 else None


def _values(entry: Any, attribute: str) -> list[str]:
    if attribute not in entry.entry_attributes:
        return []
    return [str(v) for v in entry[attribute].values]


def _ldap_identity(cfg: LdapSettings, username: str, password: str) -> DirectoryIdentity | None:
    attrs = [cfg.email_attribute, cfg.name_attribute, "memberOf", "userAccountControl"]
    if cfg.user_dn_template:
        dn = cfg.user_dn_template.format(username=escape_rdn(username))
        user_conn = _bind(cfg, dn, password)
        if user_conn is None:
            return None
        reader = user_conn
    else:
        reader = _connection(cfg, cfg.bind_dn or None, cfg.bind_password or None)
        if not reader.bind():
            reader.unbind()
            log.error("LDAP service account bind refused: %s", reader.result.get("description"))
            raise DirectoryUnavailable()
        user_filter = cfg.user_filter.format(username=escape_filter_chars(username))
        found = _single(reader, cfg.user_base, SUBTREE, user_filter, ["1.1"])
        if found is None:
            reader.unbind()
            return None
        dn = found.entry_dn
        user_conn = _bind(cfg, dn, password)
        if user_conn is None:
            reader.unbind()
            return None
        user_conn.unbind()
    try:
        entry = _single(reader, dn, BASE, "(objectClass=*)", attrs)
        if entry is None:
            return None
        disabled = ad_account_disabled(_values(entry, "userAccountControl"))
        if not disabled and cfg.disabled_filter:
            disabled = _single(reader, dn, BASE, cfg.disabled_filter, ["1.1"]) is not None
        if disabled:
            raise DirectoryAccountDisabled()
        if cfg.group_base:
            reader.search(
                cfg.group_base,
                cfg.group_filter.format(dn=escape_filter_chars(dn)),
                search_scope=SUBTREE,
                attributes=["1.1"],
            )
            memberships = tuple(e.entry_dn for e in reader.entries)
        else:
            memberships = tuple(_values(entry, "memberOf"))
        emails = _values(entry, cfg.email_attribute)
        names = _values(entry, cfg.name_attribute)
        return DirectoryIdentity(
            provider="ldap",
            subject=dn.lower(),
            email=(emails[0] if emails else "").strip().lower(),
            full_name=(names[0] if names else username).strip(),
            memberships=memberships,
        )
    finally:
        reader.unbind()


def verify_ldap_password(
    username: str, password: str, cfg: LdapSettings
) -> DirectoryIdentity | None:
    """The directory's view of this person if the password is right, else None."""
    # An empty password is an "unauthenticated bind" that servers accept: never a login.
    if not username.strip() or not password:
        return None
    try:
        return _ldap_identity(cfg, username.strip(), password)
    except LDAPException as exc:
        log.warning("LDAP directory unavailable: %s", exc)
        raise DirectoryUnavailable() from exc


async def ldap_login(username: str, password: str) -> accounts.AccountView | None:
    """Check the password against the directory; create or update the account."""
    settings = get_settings()
    identity = await anyio.to_thread.run_sync(
        verify_ldap_password, username, password, settings.ldap
    )
    if identity is None:
        return None
    return await provision(identity, settings)


# --- Accounts of directory identities ------------------------------------------------------


async def provision(
    identity: DirectoryIdentity, settings: Settings | None = None
) -> accounts.AccountView | None:
    """Create or update the account of a directory identity, as the group map says.

    Returns None when the account exists but was deactivated in Guichet. An existing local
    account is linked by e-mail only when the e-mail is trusted and the account is not an
    administrator with a password (the break-glass account is never taken over).
    """
    settings = settings or get_settings()
    if "@" not in identity.email:
        raise DirectoryAccountConflict(N_("The directory gives no e-mail for this account."))
    rules = parse_group_rules(settings.directory_groups)
    profile = profile_for(identity.memberships, rules, Role(settings.directory_default_role))
    key = f"{identity.provider}:{identity.subject}"[:600]
    managed_groups = {g for rule in rules for g in rule.groups}
    async with write_transaction():
        link = (
            await DirectoryLink.select(DirectoryLink.user)
            .where(DirectoryLink.identity == key)
            .first()
        )
        if link is not None:
            user_id = link["user"]
        else:
            user_id = await _adopt_or_create(identity)
            await DirectoryLink.insert(DirectoryLink(identity=key, user=user_id))
        establishments = await _establishment_ids(profile.establishment_codes)
        update: dict[Any, Any] = {
            User.full_name: identity.full_name[:120] or identity.email,
            User.role: profile.role.value,
        }
        if establishments:
            update[User.establishment] = establishments[0]
        clash = await User.exists().where((User.email == identity.email) & (User.id != user_id))
        if not clash:
            update[User.email] = identity.email
        await User.update(update).where(User.id == user_id)
        await DirectoryLink.update({DirectoryLink.last_login_at: datetime.now(UTC)}).where(
            DirectoryLink.identity == key
        )
        await _set_groups(user_id, profile.group_names, managed_groups)
        if profile.role in (Role.SUPERVISOR, Role.ADMIN):
            await SupervisorScope.delete().where(SupervisorScope.user == user_id)
            for establishment_id in establishments:
                await SupervisorScope.insert(
                    SupervisorScope(user=user_id, establishment=establishment_id)
                )
    found = await accounts.account(user_id)
    return found if found is not None and found.active else None


async def _adopt_or_create(identity: DirectoryIdentity) -> int:
    existing = (
        await User.select(User.id, User.role, User.password_hash)
        .where(User.email == identity.email)
        .first()
    )
    if existing is None:
        rows = await User.insert(
            User(email=identity.email, full_name=identity.full_name[:120] or identity.email)
        ).returning(User.id)
        log.info("directory account created: %s", identity.email)
        return rows[0]["id"]
    break_glass = existing["role"] == Role.ADMIN.value and existing["password_hash"]
    if not identity.email_trusted or break_glass:
        raise DirectoryAccountConflict()
    return existing["id"]


async def _establishment_ids(codes: tuple[str, ...]) -> list[int]:
    if not codes:
        return []
    rows = await Establishment.select(Establishment.id, Establishment.code).where(
        Establishment.code.is_in(list(codes))
    )
    by_code = {r["code"]: r["id"] for r in rows}
    for code in codes:
        if code not in by_code:
            log.warning("directory group map names an unknown establishment: %s", code)
    return [by_code[c] for c in codes if c in by_code]


async def _set_groups(user_id: int, wanted: tuple[str, ...], managed: set[str]) -> None:
    """The directory decides membership of the groups the map names, and only of those."""
    if not managed:
        return
    rows = await Group.select(Group.id, Group.name).where(Group.name.is_in(sorted(managed)))
    by_name = {r["name"]: r["id"] for r in rows}
    managed_ids = list(by_name.values())
    wanted_ids = {by_name[n] for n in wanted if n in by_name}
    if not managed_ids:
        return
    current = await GroupMember.select(GroupMember.group).where(
        (GroupMember.user == user_id) & GroupMember.group.is_in(managed_ids)
    )
    have = {r["group"] for r in current}
    gone = sorted(have - wanted_ids)
    if gone:
        await GroupMember.delete().where(
            (GroupMember.user == user_id) & GroupMember.group.is_in(gone)
        )
    for group_id in sorted(wanted_ids - have):
        await GroupMember.insert(GroupMember(user=user_id, group=group_id))
