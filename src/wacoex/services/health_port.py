"""The port the number-health service reads through."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from wacoex.services.reading_port import Record


@dataclass(frozen=True, slots=True)
class OpenAlert:
    id: int
    kind: str
    severity: str
    message: str
    details: Any
    opened_at: int
    event: str | None  # the account_update event that opened it


@dataclass(frozen=True, slots=True)
class HealthFacts:
    number: Record  # the `numbers` row
    last_echo_at: int | None  # the owner's newest message from the phone (epoch ms)
    last_address_book_at: int | None  # the newest change to the phone's address book
    phases: Sequence[Record]  # history_phases rows
    alerts: Sequence[OpenAlert]  # open alerts, newest first


class HealthStore(Protocol):
    def health_facts(self, phone_number_id: str, workspace_id: int | None) -> HealthFacts | None:
        """What the number's health is made of, read in one transaction; None: no such number in
        the workspace (None: any workspace)."""
        ...
