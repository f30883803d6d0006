"""What a sighting of a person changes on their contact: identities filled in, the newest name."""

from __future__ import annotations

from typing import Any, Protocol


class KnownContact(Protocol):
    @property
    def user_id(self) -> str | None: ...
    @property
    def phone_key(self) -> str | None: ...
    @property
    def wa_id(self) -> str | None: ...
    @property
    def profile_name(self) -> str | None: ...
    @property
    def profile_name_at(self) -> int | None: ...


def contact_updates(
    row: KnownContact,
    *,
    wa_id: str | None,
    key: str | None,
    user_id: str | None,
    profile_name: str | None,
    at: int,
    reported: bool,
) -> dict[str, Any]:
    """The columns to change on contact `row` seen as (wa_id, its phone key, user_id, name) at `at`.

    A missing BSUID or phone number is filled in; a wa_id WhatsApp itself reported (`reported`)
    replaces another spelling of the same number (e.g. Brazil's 13-digit form, not the address
    book's); a profile name replaces an older one (by Meta's time). Empty: nothing changes.
    """
    updates: dict[str, Any] = {}
    if user_id and not row.user_id:
        updates["user_id"] = user_id
    if key and not row.phone_key:
        updates.update(phone_key=key, wa_id=wa_id)
    elif reported and wa_id and row.wa_id != wa_id and key == row.phone_key:
        updates["wa_id"] = wa_id
    if profile_name and profile_name != row.profile_name and at >= (row.profile_name_at or 0):
        updates.update(profile_name=profile_name, profile_name_at=at)
    if updates:
        updates["updated_at"] = at
    return updates
