"""A stored webhook body (raw bytes and the provider that sent it) to facts.

The one place that knows both envelopes: `envelope` reads Meta's, `dialog360` reads 360dialog's
(and hands Meta-envelope bodies back to `envelope`), so neither has to import the other's caller.
"""

from __future__ import annotations

from typing import Any

import orjson

from wacoex.domain.enums import Provider
from wacoex.domain.facts import AnyFact
from wacoex.errors import InvalidInput, PayloadError
from wacoex.whatsapp.dialog360 import parse_360dialog
from wacoex.whatsapp.envelope import MAX_UNKNOWN, parse_meta

_NUL_ESCAPE = b"\\u0000"


def without_nul(body: Any) -> Any:
    """The decoded `body` with every NUL character removed from its strings (object keys included).

    PostgreSQL's text columns refuse NUL and SQLite's keep it, so the two would store different
    records; no text WhatsApp sends needs it. JSON carries NUL only escaped, so bodies without
    `\\u0000` (nearly all) skip this. The walk is iterative (bodies nest up to 1,024 levels) and
    changes the freshly decoded body in place.
    """
    if type(body) is str:
        return body.replace("\x00", "")
    stack = [body]
    while stack:
        node = stack.pop()
        if type(node) is dict:
            if any("\x00" in key for key in node):
                items = list(node.items())
                node.clear()
                node.update((key.replace("\x00", ""), value) for key, value in items)
            entries: Any = node.items()
        elif type(node) is list:
            entries = enumerate(node)
        else:
            continue
        for key, value in entries:
            kind = type(value)
            if kind is str:
                if "\x00" in value:
                    node[key] = value.replace("\x00", "")
            elif kind is dict or kind is list:
                stack.append(value)
    return body


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
    if _NUL_ESCAPE in raw:
        body = without_nul(body)
    if kind is Provider.DIALOG360:
        return parse_360dialog(body, max_unknown)
    return parse_meta(body, max_unknown)
