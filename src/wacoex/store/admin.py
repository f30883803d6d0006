"""The operator's commands on the store (`AdminStore`, `Schema`): one transaction per command."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.engine import Engine

from wacoex.domain.access import Role
from wacoex.services.ports import ApiKeyInfo, NumberInfo, NumberRef, ReceiptInfo, WorkspaceInfo
from wacoex.store import apikeys
from wacoex.store import receipts as receipt_store
from wacoex.store import workspaces as workspace_store
from wacoex.store.engine import require_schema, upgrade
from wacoex.store.notify import RECEIPTS, notify
from wacoex.store.numbers import add_number, list_numbers, reencrypt_tokens
from wacoex.store.token_cipher import TokenCipher


class SqlAdmin:
    def __init__(self, engine: Engine, cipher: TokenCipher) -> None:
        self._engine = engine
        self._cipher = cipher

    def add_number(
        self,
        *,
        phone_number_id: str,
        display_phone_number: str,
        waba_id: str,
        provider: str,
        coexistence: bool,
        access_token: str | None,
        workspace_id: int,
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
                cipher=self._cipher,
                workspace_id=workspace_id,
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
                workspace_id=int(r.workspace_id),
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

    def reencrypt_tokens(self) -> int:
        with self._engine.begin() as conn:
            return reencrypt_tokens(conn, self._cipher)

    def create_workspace(self, name: str) -> WorkspaceInfo:
        with self._engine.begin() as conn:
            return workspace_store.create_workspace(conn, name)

    def workspaces(self) -> list[WorkspaceInfo]:
        with self._engine.connect() as conn:
            return workspace_store.list_workspaces(conn)

    def workspace_id(self, ref: str) -> int:
        with self._engine.connect() as conn:
            return workspace_store.workspace_id(conn, ref)

    def create_api_key(self, name: str, workspace_id: int, role: Role) -> tuple[ApiKeyInfo, str]:
        with self._engine.begin() as conn:
            return apikeys.create_api_key(conn, name, workspace_id=workspace_id, role=role)

    def api_keys(self) -> list[ApiKeyInfo]:
        with self._engine.connect() as conn:
            return apikeys.list_api_keys(conn)

    def revoke_api_key(self, key_id: int) -> ApiKeyInfo:
        with self._engine.begin() as conn:
            return apikeys.revoke_api_key(conn, key_id)


class SqlSchema:
    def __init__(self, url: str) -> None:
        self._url = url

    def upgrade(self) -> None:
        upgrade(self._url)

    def require(self, *, current: bool = True) -> None:
        require_schema(self._url, current=current)
