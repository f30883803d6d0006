"""Signup links: an admin's link that lets a business owner onboard their number in a browser.

The link carries a stateless token, nothing is stored: Fernet over
`{"workspace_id": int, "purpose": "signup", "hours": float}`, with a key derived from
WACOEX_SECRET_KEY by the recipe of store/token_cipher.py (HKDF-SHA256, 32 bytes, no salt) under its
own `info`, so a link token and a stored provider token can never be read as one another. The
previous secret keys still open links made before a rotation. A link works for its `hours`, never
longer than WACOEX_SIGNUP_LINK_HOURS (Fernet's ttl): lowering the setting shortens every link out.
Whoever holds the link can onboard a number into its workspace, as an admin key could.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from wacoex.domain.access import DEFAULT_WORKSPACE_ID, Principal, Role
from wacoex.errors import Forbidden

PURPOSE = "signup"
_INFO = b"wacoex signup link v1"
_ASK_AGAIN = "ask whoever sent it for a new link"


class LinkInvalid(Forbidden):
    """The token was not made by this gateway (tampered, cut short, another key, another purpose)."""

    code = "link_invalid"


class LinkExpired(Forbidden):
    """A genuine link whose time is over."""

    code = "link_expired"


@dataclass(frozen=True, slots=True)
class SignupLink:
    token: str
    workspace_id: int
    expires_at: float  # epoch seconds


def link_key(secret: str) -> Fernet:
    """The Fernet key of signup links from one secret key (token_cipher's recipe, another `info`)."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


class SignupLinks:
    """Makes and opens signup links; `clock` is epoch seconds (tests move it)."""

    def __init__(
        self,
        secret_key: str,
        previous: Sequence[str] = (),
        *,
        max_hours: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._current = link_key(secret_key)
        self._all = MultiFernet([self._current, *(link_key(s) for s in previous)])
        self._max_hours = max_hours
        self._clock = clock

    def __repr__(self) -> str:
        return "SignupLinks(<keys hidden>)"

    @property
    def max_hours(self) -> float:
        return self._max_hours

    def create(self, who: Principal, hours: float | None = None) -> SignupLink:
        """A link into the caller's workspace (the gateway's admin key: the default workspace), working
        for `hours` (at most, and by default, WACOEX_SIGNUP_LINK_HOURS)."""
        if who.role is not Role.ADMIN:
            raise Forbidden("creating a signup link needs an admin key")
        workspace = who.workspace_id if who.workspace_id is not None else DEFAULT_WORKSPACE_ID
        lasts = self._max_hours if hours is None else min(max(hours, 0.0), self._max_hours)
        now = int(self._clock())
        payload = {"workspace_id": workspace, "purpose": PURPOSE, "hours": lasts}
        token = self._current.encrypt_at_time(json.dumps(payload).encode(), now).decode("ascii")
        return SignupLink(token, workspace, now + lasts * 3600)

    def open(self, token: str) -> SignupLink:
        """The link a token stands for; LinkInvalid or LinkExpired (both 403-class) otherwise."""
        raw = token.strip().encode("ascii", errors="replace")
        now = int(self._clock())
        try:
            if not _canonical(raw):  # base64 decoding ignores what follows the padding: not here
                raise InvalidToken
            made = self._all.extract_timestamp(raw)  # checks the signature, not the age
        except InvalidToken:
            raise LinkInvalid(f"this signup link is not valid: {_ASK_AGAIN}") from None
        try:
            data = json.loads(self._all.decrypt_at_time(raw, self._ttl(), now))
        except InvalidToken:
            # Genuine (the signature held), so the age refused it: older than the setting allows, or
            # made more than a minute in the future by a clock that has since been set back.
            raise LinkExpired(f"this signup link has expired: {_ASK_AGAIN}") from None
        except ValueError:
            raise LinkInvalid(f"this signup link is not valid: {_ASK_AGAIN}") from None
        workspace, hours = _fields(data)
        expires_at = made + hours * 3600
        if now > expires_at:
            raise LinkExpired(f"this signup link has expired: {_ASK_AGAIN}")
        return SignupLink(token.strip(), workspace, expires_at)

    def _ttl(self) -> int:
        return max(1, int(self._max_hours * 3600))


def _canonical(raw: bytes) -> bool:
    try:
        return base64.urlsafe_b64encode(base64.urlsafe_b64decode(raw)) == raw
    except ValueError:
        return False


def _fields(data: object) -> tuple[int, float]:
    if not isinstance(data, dict) or data.get("purpose") != PURPOSE:
        raise LinkInvalid(f"this link is not a signup link: {_ASK_AGAIN}")
    workspace = data.get("workspace_id")
    hours = data.get("hours")
    if not isinstance(workspace, int) or isinstance(workspace, bool) or workspace < 1:
        raise LinkInvalid(f"this signup link names no workspace: {_ASK_AGAIN}")
    if not isinstance(hours, int | float) or isinstance(hours, bool):
        raise LinkInvalid(f"this signup link has no duration: {_ASK_AGAIN}")
    return workspace, float(hours)
