"""Who is asking: an API key's workspace and role, and what each role may do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# Workspace 1, "default", exists in every database (migration 0009): a number registered or a key
# created without naming a workspace belongs to it, so a single-workspace install never names one.
DEFAULT_WORKSPACE_ID = 1


class Role(StrEnum):
    ADMIN = "admin"  # everything in its workspace, including keys and numbers
    OPERATOR = "operator"  # a person at the inbox: reads, sends, takes over and releases
    BOT = "bot"  # an automation: reads and sends, refused while a human has taken over
    READ_ONLY = "read-only"  # reads only


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """The caller of one request.

    `workspace_id` None: every workspace (the settings' admin key only). `key_id` None: not a stored key.
    """

    role: Role
    workspace_id: int | None
    key_id: int | None = None
    name: str = ""

    @property
    def can_send(self) -> bool:
        return self.role is not Role.READ_ONLY

    @property
    def is_bot(self) -> bool:
        return self.role is Role.BOT

    @property
    def can_administer(self) -> bool:
        return self.role is Role.ADMIN

    def sees(self, workspace_id: int) -> bool:
        return self.workspace_id is None or self.workspace_id == workspace_id
