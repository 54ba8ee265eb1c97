"""An account's life, as in the seeds' portals: invited by an admin (single-use activation
link), or self-registered and pending until an admin links it to an establishment; password
reset by a single-use link; e-mail change, deactivation and reactivation by an admin.

Links carry a random token; only its digest is stored, it works once and expires.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from server.db.engine import write_transaction
from server.db.tables import AccountToken, Establishment, User, UserSession
from server.domain.actors import Actor
from server.domain.errors import Forbidden, NotFound, ValidationFailed
from server.domain.organisation import check_password, parse_email, parse_name
from server.domain.permissions import can_administer
from server.domain.text import N_
from server.domain.vocabulary import Role
from server.services import account_mail
from server.services.accounts import hash_password

LIFETIME = {
    "activate": timedelta(days=7),
    "reset": timedelta(hours=1),
    "verify": timedelta(days=2),  # a self-registered address proves it is the person's
}
PATHS = {"activate": "/activate/", "reset": "/reset/", "verify": "/register/verify/"}
RESETS_PER_HOUR = 3


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Link:
    user_id: int
    email: str
    full_name: str
    locale: str
    purpose: str
    raw: str

    @property
    def path(self) -> str:
        return PATHS[self.purpose] + self.raw


async def _issue(user_id: int, purpose: str) -> str:
    """Inside a transaction: older unused links of the same purpose stop working."""
    raw = secrets.token_urlsafe(32)
    await AccountToken.update({AccountToken.used_at: _now()}).where(
        (AccountToken.user == user_id)
        & (AccountToken.purpose == purpose)
        & AccountToken.used_at.is_null()
    )
    await AccountToken.insert(
        AccountToken(
            user=user_id,
            purpose=purpose,
            token_hash=_digest(raw),
            expires_at=_now() + LIFETIME[purpose],
        )
    )
    return raw


async def send_link(link: Link) -> bool:
    """Queue the link's mail (the dispatcher sends it); True once it is queued."""
    hours = int(LIFETIME[link.purpose].total_seconds() // 3600)
    message = account_mail.compose(
        link.purpose, link.email, link.full_name, link.path, hours, link.locale
    )
    await account_mail.enqueue(message)
    return True


async def invite(
    admin: Actor, *, email: str, full_name: str, role: Role, establishment_id: int | None
) -> Link:
    if not can_administer(admin):
        raise Forbidden()
    email = parse_email(email)
    full_name = parse_name(full_name)
    async with write_transaction():
        if establishment_id is not None and not await Establishment.exists().where(
            (Establishment.id == establishment_id) & (Establishment.active == True)  # noqa: E712
        ):
            raise ValidationFailed({"establishment_id": N_("Choose one of the proposed values.")})
        if await User.exists().where(User.email == email):
            raise ValidationFailed({"email": N_("An account with this e-mail already exists.")})
        row = await User.insert(
            # No password yet: nobody can sign in until the link is used.
            User(email=email, full_name=full_name, role=role.value, establishment=establishment_id)
        ).returning(User.id)
        raw = await _issue(row[0]["id"], "activate")
    return Link(row[0]["id"], email, full_name, "", "activate", raw)


async def reinvite(admin: Actor, user_id: int) -> Link:
    if not can_administer(admin):
        raise Forbidden()
    async with write_transaction():
        user = await User.select().where(User.id == user_id).first()
        if user is None:
            raise NotFound()
        raw = await _issue(user_id, "activate")
    return Link(user_id, user["email"], user["full_name"], user["locale"], "activate", raw)


async def token_owner(raw: str, purpose: str) -> dict[str, Any] | None:
    """The account a valid (unused, unexpired) link belongs to, else None."""
    if not raw or len(raw) > 100:
        return None
    row = (
        await AccountToken.select(AccountToken.user, AccountToken.expires_at, AccountToken.used_at)
        .where((AccountToken.token_hash == _digest(raw)) & (AccountToken.purpose == purpose))
        .first()
    )
    if row is None or row["used_at"] is not None or row["expires_at"] <= _now():
        return None
    user = await User.select().where(User.id == row["user"]).first()
    # A self-registered account stays inactive until its address is verified.
    return user if user and (user["active"] or purpose == "verify") else None


async def _consume(raw: str, purpose: str) -> dict[str, Any]:
    """Inside a transaction: mark the link used (exactly once, even when two tabs race)."""
    user = await token_owner(raw, purpose)
    if user is None:
        raise NotFound(N_("This link is no longer valid. Ask for a new one."))
    used = (
        await AccountToken.update({AccountToken.used_at: _now()})
        .where((AccountToken.token_hash == _digest(raw)) & AccountToken.used_at.is_null())
        .returning(AccountToken.id)
    )
    if not used:
        raise NotFound(N_("This link is no longer valid. Ask for a new one."))
    return user


async def activate(raw: str, *, full_name: str, password: str, confirm: str) -> int:
    full_name = parse_name(full_name)
    check_password(password, confirm)
    password_hash = await hash_password(password)
    async with write_transaction():
        user = await _consume(raw, "activate")
        await User.update({User.full_name: full_name, User.password_hash: password_hash}).where(
            User.id == user["id"]
        )
    return user["id"]


async def request_reset(email: str) -> Link | None:
    """A link for an active account that has a password, else None. The caller answers the
    same either way, so the form does not tell who has an account."""
    try:
        email = parse_email(email)
    except ValidationFailed:
        return None
    async with write_transaction():
        user = await User.select().where(User.email == email).first()
        if user is None or not user["active"] or not user["password_hash"]:
            return None
        recent = await AccountToken.count().where(
            (AccountToken.user == user["id"])
            & (AccountToken.purpose == "reset")
            & (AccountToken.created_at > _now() - timedelta(hours=1))
        )
        if recent >= RESETS_PER_HOUR:
            return None
        raw = await _issue(user["id"], "reset")
    return Link(user["id"], user["email"], user["full_name"], user["locale"], "reset", raw)


async def reset_password(raw: str, *, password: str, confirm: str) -> int:
    check_password(password, confirm)
    password_hash = await hash_password(password)
    async with write_transaction():
        user = await _consume(raw, "reset")
        await User.update({User.password_hash: password_hash}).where(User.id == user["id"])
        # Whoever knew the old password is signed out everywhere.
        await UserSession.delete().where(UserSession.user == user["id"])
    return user["id"]


async def register(
    *,
    email: str,
    full_name: str,
    organisation: str,
    password: str,
    confirm: str,
    locale: str = "",
) -> bool:
    """Self-registration: a requester account without establishment, inactive until the
    person opens the link mailed to the address (then it is pending, and admins are told).
    Returns False, creating nothing, when the address is taken: the page says the same
    thing. ``locale`` is the language the form was shown in: mails are written in it."""
    errors: dict[str, str] = {}
    for check in (
        lambda: parse_email(email),
        lambda: parse_name(full_name),
        lambda: check_password(password, confirm),
    ):
        try:
            check()
        except ValidationFailed as exc:
            errors.update(exc.errors)
    organisation = organisation.strip()
    if not organisation:
        errors["organisation"] = N_("This field is required.")
    elif len(organisation) > 200:
        errors["organisation"] = N_("This text is too long.")
    if errors:
        raise ValidationFailed(errors)
    address = parse_email(email)
    password_hash = await hash_password(password)
    async with write_transaction():
        if await User.exists().where(User.email == address):
            return False
        row = await User.insert(
            User(
                email=address,
                full_name=full_name.strip(),
                role=Role.REQUESTER.value,
                organisation=organisation,
                locale=locale,
                password_hash=password_hash,
                active=False,
            )
        ).returning(User.id)
        raw = await _issue(row[0]["id"], "verify")
        await send_link(Link(row[0]["id"], address, full_name.strip(), locale, "verify", raw))
    return True


async def verify_email(raw: str) -> int:
    """The person opened the link mailed at registration: the account becomes active and
    pending (no establishment yet), and every admin is told, in their language."""
    async with write_transaction():
        user = await _consume(raw, "verify")
        await User.update({User.active: True}).where(User.id == user["id"])
        admins = await User.select(User.email, User.full_name, User.locale).where(
            (User.role == Role.ADMIN.value) & (User.active == True)  # noqa: E712
        )
        for admin in admins:
            await account_mail.enqueue(
                account_mail.compose_pending(
                    admin["email"],
                    admin["locale"],
                    admin["full_name"],
                    user["full_name"],
                    user["email"],
                    user["organisation"],
                )
            )
    return user["id"]


async def link_to_establishment(admin: Actor, user_id: int, establishment_id: int | None) -> None:
    if not can_administer(admin):
        raise Forbidden()
    async with write_transaction():
        if not await User.exists().where(User.id == user_id):
            raise NotFound()
        if establishment_id is not None and not await Establishment.exists().where(
            (Establishment.id == establishment_id) & (Establishment.active == True)  # noqa: E712
        ):
            raise ValidationFailed({"establishment_id": N_("Choose one of the proposed values.")})
        before = await User.select().where(User.id == user_id).first()
        await User.update({User.establishment: establishment_id}).where(User.id == user_id)
        if before["establishment"] is None and establishment_id is not None:
            # A pending account was linked: the person may file tickets now, and is told.
            place = (
                await Establishment.select(Establishment.name)
                .where(Establishment.id == establishment_id)
                .first()
            )
            await account_mail.enqueue(
                account_mail.compose_linked(
                    before["email"], before["locale"], before["full_name"], place["name"]
                )
            )


async def change_email(admin: Actor, user_id: int, email: str) -> None:
    if not can_administer(admin):
        raise Forbidden()
    address = parse_email(email)
    async with write_transaction():
        if not await User.exists().where(User.id == user_id):
            raise NotFound()
        if await User.exists().where((User.email == address) & (User.id != user_id)):
            raise ValidationFailed({"email": N_("An account with this e-mail already exists.")})
        await User.update({User.email: address}).where(User.id == user_id)


async def change_role(admin: Actor, user_id: int, role: Role) -> None:
    if not can_administer(admin):
        raise Forbidden()
    if user_id == admin.id:
        raise ValidationFailed({"role": N_("You cannot change your own role.")})
    async with write_transaction():
        if not await User.exists().where(User.id == user_id):
            raise NotFound()
        await User.update({User.role: role.value}).where(User.id == user_id)
