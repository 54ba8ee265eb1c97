"""Who is acting: a plain value the rules reason about."""

from __future__ import annotations

from dataclasses import dataclass, field

from server.domain.vocabulary import Role


@dataclass(frozen=True, slots=True)
class Actor:
    id: int
    role: Role
    establishment_id: int | None
    active: bool = True
    # The desk's reach, resolved from the database when the actor is loaded: establishments
    # served by the actor's groups or in a supervisor's scope (descendants included), and the
    # groups the actor belongs to. Empty for requesters.
    establishment_ids: frozenset[int] = field(default_factory=frozenset)
    group_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_staff(self) -> bool:
        return self.role.is_staff

    @property
    def is_supervisor(self) -> bool:
        return self.role in (Role.SUPERVISOR, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


# The automatic actor ("Guichet") used by scheduled rules; never loaded from a session.
SYSTEM = Actor(id=0, role=Role.ADMIN, establishment_id=None)
