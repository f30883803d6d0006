"""Provider tokens at rest: numbers.access_token encrypted with Fernet under keys from the settings.

Stored as `fernet:v1:<Fernet token>`. The first key encrypts; every key (the current one, then
WACOEX_PREVIOUS_SECRET_KEYS) decrypts, so a key can be rotated without downtime and
`wacoex numbers reencrypt` moves every token to the current key. A value without the prefix is a
token stored before encryption existed: it reads as it is, and `reencrypt` encrypts it.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import overload

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from wacoex.errors import ConfigError

PREFIX = "fernet:v1:"
_INFO = b"wacoex numbers.access_token v1"


def _fernet(secret: str) -> Fernet:
    # The setting is any long random string, not necessarily a Fernet key: HKDF turns it into one
    # (the same secret always gives the same key, so rotation only needs the old secret kept).
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


class TokenCipher:
    """Encrypts with `secret_key`; decrypts with it or any of `previous`."""

    def __init__(self, secret_key: str, previous: Sequence[str] = ()) -> None:
        self._current = _fernet(secret_key)
        self._all = MultiFernet([self._current, *(_fernet(s) for s in previous)])

    def __repr__(self) -> str:
        return "TokenCipher(<keys hidden>)"

    def encrypt(self, token: str) -> str:
        return PREFIX + self._current.encrypt(token.encode()).decode("ascii")

    @overload
    def decrypt(self, stored: str) -> str: ...
    @overload
    def decrypt(self, stored: None) -> None: ...
    @overload
    def decrypt(self, stored: str | None) -> str | None: ...
    def decrypt(self, stored: str | None) -> str | None:
        """The token of a stored value (a legacy plaintext value as it is)."""
        if stored is None or not stored.startswith(PREFIX):
            return stored
        try:
            return self._all.decrypt(stored[len(PREFIX) :].encode("ascii")).decode()
        except (InvalidToken, UnicodeError) as exc:
            raise ConfigError(
                "a number's stored access token cannot be decrypted with WACOEX_SECRET_KEY or "
                "WACOEX_PREVIOUS_SECRET_KEYS (was the key changed without keeping the old one?)"
            ) from exc

    def current(self, stored: str) -> bool:
        """Whether a stored value is encrypted with the current key (nothing for `reencrypt` to do)."""
        if not stored.startswith(PREFIX):
            return False
        try:
            self._current.decrypt(stored[len(PREFIX) :].encode("ascii"))
        except (InvalidToken, UnicodeError):
            return False
        return True

    def reencrypt(self, stored: str) -> str:
        """The stored value under the current key (a plaintext value encrypted, an older key's rotated)."""
        return self.encrypt(self.decrypt(stored))
