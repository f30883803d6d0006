"""360dialog's webhooks: phone-number webhooks in Meta's envelope, partner webhooks in `{id, event, data}`.

A partner event's `data` is Meta's `changes[].value` plus `id` = the WABA id, and `event` is Meta's
field name, so both forms yield the same facts (spec §2.1). Phase and progress may be strings.
"""

from __future__ import annotations

from wacoex.domain.facts import AnyFact, Source, Unknown
from wacoex.whatsapp.envelope import ENVELOPE, MAX_UNKNOWN, FactList, parse_meta
from wacoex.whatsapp.fields import parse_change
from wacoex.whatsapp.fields._common import to_str


def parse_360dialog(body: object, max_unknown: int = MAX_UNKNOWN) -> list[AnyFact]:
    """All facts of a 360dialog webhook body, whichever of its two envelopes it uses."""
    if type(body) is not dict:
        return [Unknown(source=Source(field=ENVELOPE), reason="body is not a JSON object", raw=body)]
    if "entry" in body:
        return parse_meta(body, max_unknown)
    event = body.get("event")
    data = body.get("data")
    if type(event) is not str or not event or "data" not in body:
        reason = "neither a Meta envelope (entry) nor a 360dialog partner event (event, data)"
        return [Unknown(source=Source(field=ENVELOPE), reason=reason, raw=body)]
    waba_id = None
    if type(data) is dict:
        waba_id = to_str(data.get("id")) or None
    facts = FactList(max_unknown)
    for fact in parse_change(event, data, waba_id, None):
        facts.add(fact)
    return facts.close()
