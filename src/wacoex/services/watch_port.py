"""The port the lifecycle checks (services/watch.py) read and write through."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from wacoex.services.onboarding_port import FoundNumber
from wacoex.services.ports import NumberRef


@dataclass(frozen=True, slots=True)
class Watched:
    """A connected coexistence number, its token decrypted, and the phone's signs of life."""

    number: NumberRef
    signs: Mapping[str, int | None]
    status_checked_at: int | None  # when Meta was last asked about it
    open_alerts: frozenset[str] = frozenset()  # kinds of its open alerts (only those are cleared)


class WatchStore(Protocol):
    def connected(self) -> Sequence[Watched]:
        """Every connected coexistence number."""
        ...

    def acknowledge(self, phone_number_id: str, workspace_id: int | None, at: int) -> NumberRef | None:
        """The owner opened the app at `at`; the number (None: no such number in the workspace)."""
        ...

    def record_status(self, number_id: int, found: FoundNumber, at: int) -> None:
        """What Meta answered about the number (is_on_biz_app, platform_type, throughput, quality)."""
        ...
