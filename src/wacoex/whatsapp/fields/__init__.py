"""One parser per webhook field; `parse_change` dispatches a change value to its field's parser."""

from __future__ import annotations

from collections.abc import Callable

from wacoex.domain.facts import JSON, AnyFact, Source, Unknown
from wacoex.whatsapp.fields import account, echoes, history, messages, state_sync
from wacoex.whatsapp.fields._common import make_source

FieldParser = Callable[[JSON, Source], list[AnyFact]]

PARSERS: dict[str, FieldParser] = {
    "messages": messages.parse,
    "smb_message_echoes": echoes.parse,
    "history": history.parse,
    "smb_app_state_sync": state_sync.parse,
    "account_update": account.parse,
}


def parse_change(field: str, value: object, waba_id: str | None, entry_time: int | None) -> list[AnyFact]:
    """The facts of one change (Meta's `changes[]` item or a 360dialog partner event's data)."""
    if type(value) is not dict:
        source = Source(field=field, waba_id=waba_id, entry_time=entry_time)
        return [Unknown(source=source, reason=f"{field}: value is not an object", raw=value)]
    source = make_source(field, waba_id, value, entry_time)
    parser = PARSERS.get(field)
    if parser is None:
        return [Unknown(source=source, reason=f"unknown field {field}", raw=value)]
    return parser(value, source)
