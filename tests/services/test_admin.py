"""The operator's service over a fake store: it wakes the worker exactly when receipts became due."""

from __future__ import annotations

from typing import Any

import pytest

from wacoex.services.admin import Admin


class FakeStore:
    """The port, in memory: enough to see when the service wakes the worker."""

    def __init__(self, released: int = 0, replayed: int = 0) -> None:
        self.released, self.replayed = released, replayed

    def add_number(self, **_: Any) -> tuple[Any, int]:
        return object(), self.released

    def replay(self, ids: Any, state: str) -> int:
        return self.replayed


@pytest.mark.parametrize(("released", "replayed", "wakes"), [(0, 0, 0), (2, 0, 1), (0, 3, 1), (1, 1, 2)])
def test_the_service_wakes_its_worker_only_when_receipts_became_due(
    released: int, replayed: int, wakes: int
) -> None:
    calls: list[str] = []

    class Counter:
        def notify(self) -> None:
            calls.append("wake")

    admin = Admin(FakeStore(released, replayed), wake=Counter())  # type: ignore[arg-type]
    admin.add_number(
        phone_number_id="1", display_phone_number="1", waba_id="1", provider="meta", coexistence=False
    )
    admin.replay(state="parked")
    assert len(calls) == wakes
