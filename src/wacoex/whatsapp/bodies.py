"""A stored webhook body (raw bytes and the provider that sent it) to facts.

The one place that knows both envelopes: `envelope` reads Meta's, `dialog360` reads 360dialog's
(and hands Meta-envelope bodies back to `envelope`), so neither has to import the other's caller.
"""

from __future__ import annotations

import orjson

from wacoex.domain.enums import Provider
from wacoex.domain.facts import AnyFact
from wacoex.errors import InvalidInput, PayloadError
from wacoex.whatsapp.dialog360 import parse_360dialog
from wacoex.whatsapp.envelope import MAX_UNKNOWN, parse_meta


def parse_bytes(raw: bytes, provider: str, max_unknown: int = MAX_UNKNOWN) -> list[AnyFact]:
    """Decode a stored webhook body and parse it by provider ("meta" or "360dialog").

    At most `max_unknown` Unknown facts are returned one by one (envelope.FactList). Raises
    PayloadError only when the bytes are not JSON; any JSON yields facts (Unknown at worst).
    """
    kind = Provider(provider)
    if kind is Provider.UNKNOWN:
        raise InvalidInput(f"unknown webhook provider {provider!r}", provider=provider)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"webhook body is not valid JSON: {exc}") from exc
    if kind is Provider.DIALOG360:
        return parse_360dialog(body, max_unknown)
    return parse_meta(body, max_unknown)
