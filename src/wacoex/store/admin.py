"""The operator's commands on the store (`AdminStore`, `Schema`): one transaction per command."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.engine import Engine

from wacoex.services.ports import NumberInfo, NumberRef, ReceiptInfo
from wacoex.store import receipts as receipt_store
from wacoex.store.apikeys import create_api_key
from wacoex.store.engine import require_schema, upgrade
from wacoex.store.notify import RECEIPTS, notify
from wacoex.store.numbers import add_number, list_numbers


class SqlAdmin:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add_number(
        self,
        *,
        phone_number_id: str,
        display_phone_number: str,
        waba_id: str,
        provider: str,
        coexistence: bool,
        access_token: str | None,
    ) -> tuple[NumberRef, int]:
        with self._engine.begin() as conn:
            number, released = add_number(
                conn,
                phone_number_id=phone_number_id,
                display_phone_number=display_phone_number,
                waba_id=waba_id,
                provider=provider,
                coexistence=coexistence,
                access_token=access_token,
            )
            if released:
                notify(conn, RECEIPTS)  # released receipts are due now
        return number, released

    def numbers(self) -> list[NumberInfo]:
        with self._engine.connect() as conn:
            rows = list_numbers(conn)
        return [
            NumberInfo(
                phone_number_id=r.phone_number_id,
                display_phone_number=r.display_phone_number,
                waba_id=r.waba_id,
                provider=r.provider,
                coexistence=bool(r.coexistence),
                state=r.state,
                state_reason=r.state_reason,
                history_state=r.history_state,
            )
            for r in rows
        ]

    def receipts(self, state: str | None, limit: int) -> list[ReceiptInfo]:
        with self._engine.connect() as conn:
            rows = receipt_store.list_receipts(conn, state=state, limit=limit)
        return [
            ReceiptInfo(
                id=int(r.id),
                source=r.source,
                state=r.state,
                attempts=int(r.attempts),
                size=int(r.size),
                facts=r.facts,
                error=r.error,
                waiting_for=r.waiting_for,
            )
            for r in rows
        ]

    def receipt_counts(self) -> dict[str, int]:
        with self._engine.connect() as conn:
            return receipt_store.counts(conn)

    def replay(self, ids: Sequence[int] | None, state: str) -> int:
        with self._engine.begin() as conn:
            n = receipt_store.replay(conn, ids, state=state)
            if n:
                notify(conn, RECEIPTS)
        return n

    def create_api_key(self, name: str) -> str:
        with self._engine.begin() as conn:
            return create_api_key(conn, name)


class SqlSchema:
    def __init__(self, url: str) -> None:
        self._url = url

    def upgrade(self) -> None:
        upgrade(self._url)

    def require(self, *, current: bool = True) -> None:
        require_schema(self._url, current=current)
