"""Meta's webhook envelope: every entry, every change, every item becomes a fact.

Peers read only `entry[0].changes[0]`; Meta batches, so we walk all of them. Nothing here raises on
well-formed JSON of any shape: what we cannot read becomes an `Unknown` fact holding the raw part.
"""

from __future__ import annotations

from wacoex.domain.facts import AnyFact, Source, Unknown
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
