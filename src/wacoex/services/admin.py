"""The operator's commands (`wacoex workspaces`, `numbers`, `receipts`, `apikeys`): the CLI's one way in."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from wacoex.domain.access import DEFAULT_WORKSPACE_ID, Role
from wacoex.errors import InvalidInput
from wacoex.services.notify import Notifier
from wacoex.services.ports import AdminStore, ApiKeyInfo, NumberInfo, NumberRef, ReceiptInfo, WorkspaceInfo
from wacoex.services.receipts import BatchResult


class Admin:
    """Adds workspaces, registers numbers, lists and replays receipts, creates and revokes API keys.

    A workspace is named by id or by name (`ref`); None is workspace 1, "default", so that a
    single-workspace install never names one.

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
        workspace: str | None = None,
    ) -> tuple[NumberRef, int]:
        """Register a number in a workspace; webhooks held for it are released.
        (the number, receipts released)"""
        number, released = self._store.add_number(
            phone_number_id=phone_number_id,
            display_phone_number=display_phone_number,
            waba_id=waba_id,
            provider=provider,
            coexistence=coexistence,
            access_token=access_token,
            workspace_id=self.workspace_id(workspace),
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

    def reencrypt_tokens(self) -> int:
        """Move every stored token to the current secret key (after a rotation); how many moved."""
        return self._store.reencrypt_tokens()

    def add_workspace(self, name: str) -> WorkspaceInfo:
        return self._store.create_workspace(name)

    def workspaces(self) -> list[WorkspaceInfo]:
        return self._store.workspaces()

    def create_api_key(
        self, name: str = "default", *, workspace: str | None = None, role: str = Role.ADMIN.value
    ) -> tuple[ApiKeyInfo, str]:
        """A new API key for the REST API: (what is stored about it, the key). Only its digest is
        stored, so the key is shown once."""
        try:
            as_role = Role(role)
        except ValueError:
            raise InvalidInput(
                f"role must be one of {', '.join(r.value for r in Role)}, not {role!r}"
            ) from None
        if not name.strip() or len(name.strip()) > 128:
            raise InvalidInput("an API key's name (who or what uses it) is 1 to 128 characters")
        return self._store.create_api_key(name.strip(), self.workspace_id(workspace), as_role)

    def api_keys(self) -> list[ApiKeyInfo]:
        return self._store.api_keys()

    def revoke_api_key(self, key_id: int) -> ApiKeyInfo:
        """Revoke a key: it is refused (401) from the next request on. Revoking twice changes nothing."""
        return self._store.revoke_api_key(key_id)

    def workspace_id(self, ref: str | None) -> int:
        """The workspace named by id or name; None is workspace 1, "default"."""
        return DEFAULT_WORKSPACE_ID if ref is None else self._store.workspace_id(ref)

    def _notify(self) -> None:
        if self._wake is not None:
            self._wake.notify()
