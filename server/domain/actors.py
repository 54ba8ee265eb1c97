"""Who is acting: a plain value the rules reason about."""

from __future__ import annotations

from dataclasses import dataclass

from server.domain.vocabulary import Role


@dataclass(frozen=True, slots=True)
class Actor:
    id: int
    role: Role
    establishment_id: int | None
    active: bool = True

    @property
    def is_staff(self) -> bool:
        return self.role.is_staff

    @property
    def is_supervisor(self) -> bool:
        return self.role in (Role.SUPERVISOR, Role.ADMIN)


# The automatic actor ("Guichet") used by scheduled rules; never loaded from a session.
SYSTEM = Actor(id=0, role=Role.ADMIN, establishment_id=None)
