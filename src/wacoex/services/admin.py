"""The operator's commands (`wacoex numbers`, `receipts`, `apikeys`): the CLI's one way into the record."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from wacoex.services.notify import Notifier
from wacoex.services.ports import AdminStore, NumberInfo, NumberRef, ReceiptInfo
from wacoex.services.receipts import BatchResult


class Admin:
    """Registers numbers, lists and replays receipts, creates API keys.

    `wake` is told when receipts become due (released or replayed) and `apply` applies every due
    receipt at once; both exist only where the record can be applied (see bootstrap).
    """

    def __init__(
        self,
        store: AdminStore,
        *,
        wake: Notifier | None = None,
        apply: Callable[[], BatchResult] | None = None,
    ) -> None:
        self._store = store
        self._wake = wake
        self._apply = apply

    def add_number(
        self,
        *,
        phone_number_id: str,
        display_phone_number: str,
        waba_id: str,
        provider: str,
        coexistence: bool,
        access_token: str | None = None,
    ) -> tuple[NumberRef, int]:
        """Register a number; webhooks held for it are released. (the number, receipts released)"""
        number, released = self._store.add_number(
            phone_number_id=phone_number_id,
            display_phone_number=display_phone_number,
            waba_id=waba_id,
            provider=provider,
            coexistence=coexistence,
            access_token=access_token,
        )
        if released:
            self._notify()
        return number, released

    def numbers(self) -> list[NumberInfo]:
        return self._store.numbers()

    def receipts(
        self, *, state: str | None = None, limit: int = 50
    ) -> tuple[list[ReceiptInfo], dict[str, int]]:
        """The newest receipts (in `state`, if given) and the count of receipts in each state."""
        return self._store.receipts(state, limit), self._store.receipt_counts()

    def replay(self, ids: Sequence[int] | None = None, *, state: str = "parked") -> int:
        """Queue receipts again: `ids`, or every receipt in `state`. Returns how many."""
        n = self._store.replay(ids or None, state)
        if n:
            self._notify()
        return n

    def apply_due(self) -> BatchResult:
        """Apply every due receipt now, in this process."""
        if self._apply is None:
            raise RuntimeError("this Admin was built without the apply path (bootstrap.build has it)")
        return self._apply()

    def create_api_key(self, name: str = "default") -> str:
        """A new API key for the REST API; only its digest is stored, so it is shown once."""
        return self._store.create_api_key(name)

    def _notify(self) -> None:
        if self._wake is not None:
            self._wake.notify()
