"""Who may see what: a key sees its own workspace; operating the gateway is for the settings' admin key."""

from __future__ import annotations

from wacoex.domain.access import Principal, Role
from wacoex.errors import Forbidden

# The settings' admin key (WACOEX_ADMIN_API_KEY): every workspace, and the gateway's own operations.
GATEWAY_ADMIN = Principal(role=Role.ADMIN, workspace_id=None, name="WACOEX_ADMIN_API_KEY")


def require_gateway_admin(who: Principal, what: str) -> None:
    """Receipts, unknown items and other operations across workspaces: the settings' admin key only.

    A stored key, even an `admin` one, administers its workspace, not the gateway.
    """
    if who.workspace_id is not None:
        raise Forbidden(f"{what} is for the gateway's admin key (WACOEX_ADMIN_API_KEY) only")
