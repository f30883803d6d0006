"""The read service over a fake store: what is missing is NotFound, windows are judged at the clock's now."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import pytest

from wacoex.domain.conversation import WINDOW_MS
from wacoex.errors import NotFound
from wacoex.services.reading import Reading

NOW = 1_750_000_000_000


class FakeReadStore:
    def __init__(self) -> None:
        self.conversations = [
            SimpleNamespace(id=1, last_customer_at=NOW - 1000),
            SimpleNamespace(id=2, last_customer_at=NOW - WINDOW_MS - 1),
            SimpleNamespace(id=3, last_customer_at=None),
        ]
        self.replayed: list[int] = []

    def conversations_page(self, pnid: str, *, limit: int, after: Any) -> Sequence[Any] | None:
        return self.conversations[:limit] if pnid == "pn" else None

    def messages_page(self, conversation_id: int, *, limit: int, after: Any) -> Sequence[Any] | None:
        return [] if conversation_id == 1 else None

    def number(self, pnid: str) -> Any:
        return None

    def history_sync(self, pnid: str) -> Any:
        return None

    def replay_receipts(self, ids: Sequence[int]) -> int:
        self.replayed += ids
        return len(ids)


def _reading(store: FakeReadStore, woken: list[bool]) -> Reading:
    return Reading(store, lambda: NOW, wake=lambda: woken.append(True))  # type: ignore[arg-type]


def test_each_conversation_comes_with_its_window_judged_at_the_clocks_now() -> None:
    got = _reading(FakeReadStore(), []).conversations("pn", limit=10, after=None)
    assert [(r.id, open_) for r, open_ in got] == [(1, True), (2, False), (3, False)]


def test_what_does_not_exist_is_not_found_by_name() -> None:
    reading = _reading(FakeReadStore(), [])
    cases = [
        (lambda: reading.conversations("nope", limit=1, after=None), "number nope is not registered"),
        (lambda: reading.messages(9, limit=1, after=None), "conversation 9 does not exist"),
        (lambda: reading.number("nope"), "number nope is not registered"),
        (lambda: reading.history_sync("nope"), "number nope is not registered"),
    ]
    for call, message in cases:
        with pytest.raises(NotFound) as caught:
            call()
        assert caught.value.message == message


def test_a_replay_wakes_the_worker() -> None:
    store, woken = FakeReadStore(), list[bool]()
    assert _reading(store, woken).replay(7) == 1
    assert (store.replayed, woken) == ([7], [True])
