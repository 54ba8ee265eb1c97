"""Directory accounts (LDAP, Active Directory, OpenID Connect): who they are in Guichet.

Pure rules: a configured table maps directory groups to a role, technician groups and
establishments; the highest role wins, groups and establishments add up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from server.domain.vocabulary import Role

# Highest first: a person in the admins' group and the technicians' group is an admin.
ROLE_RANK = {Role.REQUESTER: 0, Role.TECHNICIAN: 1, Role.SUPERVISOR: 2, Role.ADMIN: 3}

# Active Directory's userAccountControl flag ACCOUNTDISABLE.
AD_ACCOUNT_DISABLED = 0x0002


@dataclass(frozen=True, slots=True)
class DirectoryIdentity:
    """A person as the directory (or identity provider) vouches for them."""

    provider: str  # "ldap" or "oidc"
    subject: str  # stable id there: the entry DN, or the "sub" claim
    email: str
    full_name: str
    memberships: tuple[str, ...] = ()
    # Whether the e-mail may link an existing account that has no directory link yet.
    email_trusted: bool = True


@dataclass(frozen=True, slots=True)
class GroupRule:
    match: str
    role: Role | None = None
    groups: tuple[str, ...] = ()
    establishments: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DirectoryProfile:
    """What the directory decides about the Guichet account."""

    role: Role
    group_names: tuple[str, ...]
    establishment_codes: tuple[str, ...]


def parse_group_rules(raw: Mapping[str, Any]) -> tuple[GroupRule, ...]:
    """``{"cn=desk,ou=groups,dc=x": {"role": "technician", "groups": ["Niveau 1"],
    "establishments": ["CHU"]}}``; raises ValueError on an unknown role or key."""
    rules = []
    for match, spec in raw.items():
        if not isinstance(spec, Mapping) or set(spec) - {"role", "groups", "establishments"}:
            raise ValueError(f"directory group {match!r}: expected role, groups, establishments")
        role = Role(spec["role"]) if spec.get("role") else None
        rules.append(
            GroupRule(
                match=match.strip().lower(),
                role=role,
                groups=tuple(str(g) for g in spec.get("groups", ())),
                establishments=tuple(str(e).upper() for e in spec.get("establishments", ())),
            )
        )
    return tuple(rules)


def common_name(membership: str) -> str:
    """ "cn=Desk N1,ou=groups,dc=example,dc=org" -> "desk n1"; a plain name stays itself."""
    first = membership.split(",", 1)[0]
    key, sep, value = first.partition("=")
    return (value if sep and key.strip().isalpha() else membership).strip().lower()


def profile_for(
    memberships: Iterable[str], rules: Iterable[GroupRule], default_role: Role
) -> DirectoryProfile:
    """A rule matches a membership by full DN, by common name, or by plain group name."""
    keys: set[str] = set()
    for membership in memberships:
        keys.add(membership.strip().lower())
        keys.add(common_name(membership))
    role = default_role
    groups: list[str] = []
    establishments: list[str] = []
    for rule in rules:
        if rule.match not in keys:
            continue
        if rule.role is not None and ROLE_RANK[rule.role] > ROLE_RANK[role]:
            role = rule.role
        groups += [g for g in rule.groups if g not in groups]
        establishments += [e for e in rule.establishments if e not in establishments]
    return DirectoryProfile(role, tuple(groups), tuple(establishments))


def ad_account_disabled(user_account_control: Any) -> bool:
    """True when Active Directory's userAccountControl carries the "disabled" flag."""
    if user_account_control in (None, "", []):
        return False
    if isinstance(user_account_control, list):
        user_account_control = user_account_control[0]
    try:
        return bool(int(user_account_control) & AD_ACCOUNT_DISABLED)
    except (TypeError, ValueError):
        return False
