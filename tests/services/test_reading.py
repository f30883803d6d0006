"""The read service over a fake store: what is missing is NotFound, windows are judged at the clock's now,
each caller reads its own workspace, and what spans every workspace is the gateway admin's."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import pytest

from wacoex.domain.access import Principal, Role
from wacoex.domain.conversation import WINDOW_MS
from wacoex.errors import Forbidden, NotFound
from wacoex.services.access import GATEWAY_ADMIN
from wacoex.services.reading import Reading

NOW = 1_750_000_000_000


class FakeReadStore:
    def __init__(self) -> None:
        self.conversations = [
            SimpleNamespace(id=1, last_customer_at=NOW - 1000, window_closed_at=None, fep_expires_at=None),
            SimpleNamespace(
                id=2, last_customer_at=NOW - WINDOW_MS - 1, window_closed_at=None, fep_expires_at=None
            ),
            SimpleNamespace(id=3, last_customer_at=None, window_closed_at=None, fep_expires_at=None),
            # A send refused with 131047 after the customer wrote: closed, whatever our clock says.
            SimpleNamespace(
                id=4, last_customer_at=NOW - 1000, window_closed_at=NOW - 10, fep_expires_at=None
            ),
        ]
        self.replayed: list[int] = []
        self.asked: list[int | None] = []  # the workspace of every read

    def conversations_page(
        self, pnid: str, workspace_id: int | None, *, limit: int, after: Any
    ) -> Sequence[Any] | None:
        self.asked.append(workspace_id)
        return self.conversations[:limit] if pnid == "pn" else None

    def messages_page(
        self, conversation_id: int, workspace_id: int | None, *, limit: int, after: Any
    ) -> Sequence[Any] | None:
        self.asked.append(workspace_id)
        return [] if conversation_id == 1 else None

    def number(self, pnid: str, workspace_id: int | None) -> Any:
        self.asked.append(workspace_id)
        return None

    def number_ref(self, pnid: str, workspace_id: int | None) -> Any:
        self.asked.append(workspace_id)
        return None

    def history_sync(self, pnid: str, workspace_id: int | None) -> Any:
        self.asked.append(workspace_id)
        return None

    def media_seen(self, sha256: str, workspace_id: int) -> bool:
        return False

    def receipts_page(self, **_: Any) -> Sequence[Any]:
        return []

    def unknown_page(self, **_: Any) -> Sequence[Any]:
        return []

    def replay_receipts(self, ids: Sequence[int]) -> int:
        self.replayed += ids
        return len(ids)


BOT = Principal(role=Role.BOT, workspace_id=7, key_id=3)


def _reading(store: FakeReadStore, woken: list[bool]) -> Reading:
    return Reading(store, lambda: NOW, wake=lambda: woken.append(True))  # type: ignore[arg-type]


def test_each_conversation_comes_with_its_window_judged_at_the_clocks_now() -> None:
    got = _reading(FakeReadStore(), []).conversations(GATEWAY_ADMIN, "pn", limit=10, after=None)
    assert [(r.id, w.open, w.reason.value) for r, w in got] == [
        (1, True, "customer_message"),
        (2, False, "expired"),
        (3, False, "never_opened"),
        (4, False, "closed_by_provider"),
    ]


def test_what_does_not_exist_is_not_found_by_name() -> None:
    reading = _reading(FakeReadStore(), [])
    cases = [
        (
            lambda: reading.conversations(GATEWAY_ADMIN, "nope", limit=1, after=None),
            "number nope is not registered",
        ),
        (lambda: reading.messages(GATEWAY_ADMIN, 9, limit=1, after=None), "conversation 9 does not exist"),
        (lambda: reading.number(GATEWAY_ADMIN, "nope"), "number nope is not registered"),
        (lambda: reading.number_for(GATEWAY_ADMIN, "nope"), "number nope is not registered"),
        (lambda: reading.history_sync(GATEWAY_ADMIN, "nope"), "number nope is not registered"),
        (lambda: reading.require_media(BOT, "ab" * 32), f"no stored media {'ab' * 32}"),
    ]
    for call, message in cases:
        with pytest.raises(NotFound) as caught:
            call()
        assert caught.value.message == message


def test_a_replay_wakes_the_worker() -> None:
    store, woken = FakeReadStore(), list[bool]()
    assert _reading(store, woken).replay(GATEWAY_ADMIN, 7) == 1
    assert (store.replayed, woken) == ([7], [True])


def test_a_key_reads_only_its_workspace() -> None:
    store = FakeReadStore()
    reading = _reading(store, [])
    reading.conversations(BOT, "pn", limit=1, after=None)
    reading.messages(BOT, 1, limit=1, after=None)
    reading.conversations(GATEWAY_ADMIN, "pn", limit=1, after=None)
    assert store.asked == [7, 7, None]


@pytest.mark.parametrize("role", list(Role))
def test_receipts_and_unknown_items_are_the_gateway_admins_even_for_a_workspace_admin(role: Role) -> None:
    store, woken = FakeReadStore(), list[bool]()
    reading = _reading(store, woken)
    who = Principal(role=role, workspace_id=1, key_id=1)
    for call in (
        lambda: reading.receipts(who, state=None, limit=1, before_id=None),
        lambda: reading.receipt_counts(who),
        lambda: reading.replay(who, 7),
        lambda: reading.unknown(who, limit=1, before_id=None),
    ):
        with pytest.raises(Forbidden, match="gateway's admin key"):
            call()
    assert (store.replayed, woken) == ([], [])
