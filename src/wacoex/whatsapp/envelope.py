"""Meta's webhook envelope: every entry, every change, every item becomes a fact.

Peers read only `entry[0].changes[0]`; Meta batches, so we walk all of them. Nothing here raises on
well-formed JSON of any shape: what we cannot read becomes an `Unknown` fact holding the raw part.
"""

from __future__ import annotations

from typing import Any

import orjson

from wacoex.domain.enums import Provider
from wacoex.domain.facts import AnyFact, Source, Unknown
from wacoex.errors import InvalidInput, PayloadError
from wacoex.whatsapp.fields import parse_change
from wacoex.whatsapp.fields._common import to_int, to_str

ENVELOPE = ""
"""`Source.field` of an Unknown for a body whose envelope (not a change) could not be read."""

MAX_UNKNOWN = 100
"""Unknown facts kept per body by default; the rest are counted in one summary fact (the raw body is kept)."""


class FactList(list[AnyFact]):
    """The facts of one body, keeping at most `max_unknown` Unknown facts and counting the rest.

    A signed body of 3.5 MB can hold a million unreadable parts (`{"entry": [{}, {}, ...]}`); one row
    each would hold the write lock for minutes and add nothing the stored raw body does not say.
    """

    def __init__(self, max_unknown: int) -> None:
        super().__init__()
        self.max_unknown = max_unknown
        self.unknown = 0

    @property
    def full(self) -> bool:
        """No more Unknown facts are kept: callers count one (`skip`) instead of building it."""
        return self.unknown >= self.max_unknown

    def skip(self) -> None:
        self.unknown += 1

    def add(self, fact: AnyFact) -> None:
        if type(fact) is Unknown:
            self.unknown += 1
            if self.unknown > self.max_unknown:
                return
        self.append(fact)

    def close(self) -> list[AnyFact]:
        skipped = self.unknown - self.max_unknown
        if skipped > 0:
            reason = (
                f"{skipped} more unreadable parts of this body were counted, not stored one by one "
                f"(at most {self.max_unknown} per receipt); the raw body is kept in the receipt"
            )
            self.append(Unknown(source=Source(field=ENVELOPE), reason=reason, raw={"not_stored": skipped}))
        return self


def parse_meta(body: object, max_unknown: int = MAX_UNKNOWN) -> list[AnyFact]:
    """All facts of a Meta-envelope body `{"object": ..., "entry": [{"id", "time"?, "changes": [...]}]}`."""
    if type(body) is not dict:
        return [Unknown(source=Source(field=ENVELOPE), reason="body is not a JSON object", raw=body)]
    entries = body.get("entry")
    if type(entries) is not list:
        return [Unknown(source=Source(field=ENVELOPE), reason="entry: missing or not a list", raw=body)]
    facts = FactList(max_unknown)
    for e_index, entry in enumerate(entries):
        if facts.full and (type(entry) is not dict or type(entry.get("changes")) is not list):
            facts.skip()
            continue
        if type(entry) is not dict:
            reason = f"entry[{e_index}]: not an object"
            facts.add(Unknown(source=Source(field=ENVELOPE), reason=reason, raw=entry))
            continue
        waba_id = to_str(entry.get("id")) or None
        entry_time = to_int(entry.get("time"))
        changes = entry.get("changes")
        if type(changes) is not list:
            source = Source(field=ENVELOPE, waba_id=waba_id, entry_time=entry_time)
            reason = f"entry[{e_index}].changes: missing or not a list"
            facts.add(Unknown(source=source, reason=reason, raw=entry))
            continue
        for c_index, change in enumerate(changes):
            field = change.get("field") if type(change) is dict else None
            if type(field) is not str and facts.full:
                facts.skip()
                continue
            if type(field) is not str:
                source = Source(field=ENVELOPE, waba_id=waba_id, entry_time=entry_time)
                reason = f"entry[{e_index}].changes[{c_index}]: not an object with a string field"
                facts.add(Unknown(source=source, reason=reason, raw=change))
                continue
            for fact in parse_change(field, change.get("value"), waba_id, entry_time):
                facts.add(fact)
    return facts.close()


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

    At most `max_unknown` Unknown facts are returned one by one (FactList). Raises PayloadError only
    when the bytes are not JSON; any JSON yields facts (Unknown at worst).
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
        # Imported here because dialog360 delegates Meta-envelope bodies back to parse_meta.
        from wacoex.whatsapp.dialog360 import parse_360dialog

        return parse_360dialog(body, max_unknown)
    return parse_meta(body, max_unknown)
