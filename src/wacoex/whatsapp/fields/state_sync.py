"""Field `smb_app_state_sync`: the owner's address book changed (add covers edits; remove has no names).

Only `type: "contact"` is documented; any other type is surfaced as Unknown. Where a BSUID sits in
these items is undocumented (spec §8 C-17), so `user_id` is read from the contact and the item.
"""

from __future__ import annotations

from typing import Any

from wacoex.domain.enums import ContactAction
from wacoex.domain.facts import JSON, AnyFact, ContactChange, Source, Unknown
from wacoex.whatsapp.fields._common import identity_problem, opt_str, to_int, to_str, value_errors


def parse(value: JSON, source: Source) -> list[AnyFact]:
    """All facts of one `smb_app_state_sync` change value."""
    facts: list[AnyFact] = []
    items = value.get("state_sync")
    if items is not None:
        if type(items) is list:
            for index, item in enumerate(items):
                facts.append(parse_item(item, index, source))
        else:
            facts.append(Unknown(source=source, reason="state_sync: not a list", raw=items))
    facts.extend(value_errors(value, source))
    if items is None and value.get("errors") is None:
        facts.append(Unknown(source=source, reason="smb_app_state_sync change without state_sync", raw=value))
    return facts


def parse_item(item: Any, index: int, source: Source) -> AnyFact:
    """One item of `state_sync[]` as a ContactChange, or Unknown when it is not a readable contact."""
    where = f"state_sync[{index}]"
    if type(item) is not dict:
        return Unknown(source=source, reason=f"{where}: not an object", raw=item)
    kind = item.get("type", "contact")
    if kind != "contact":
        shown = kind if type(kind) is str else type(kind).__name__
        return Unknown(source=source, reason=f"{where}: unsupported type {shown}", raw=item)
    contact = item.get("contact")
    if type(contact) is not dict:
        return Unknown(source=source, reason=f"{where}: missing contact object", raw=item)
    phone_number = to_str(contact.get("phone_number"))
    if not phone_number:
        return Unknown(source=source, reason=f"{where}: missing or non-string contact.phone_number", raw=item)
    user_id = opt_str(contact.get("user_id")) or opt_str(item.get("user_id")) or None
    problem = identity_problem("contact.phone_number", phone_number, "user_id", user_id)
    if problem is not None:
        return Unknown(source=source, reason=f"{where}: {problem}", raw=item)
    action_raw = item.get("action")
    if type(action_raw) is not str:
        return Unknown(source=source, reason=f"{where}: missing or non-string action", raw=item)
    metadata = item.get("metadata")
    timestamp = to_int(metadata.get("timestamp")) if type(metadata) is dict else None
    if timestamp is None:
        return Unknown(source=source, reason=f"{where}: missing or non-numeric metadata.timestamp", raw=item)
    return ContactChange(
        source=source,
        phone_number=phone_number,
        action=ContactAction(action_raw),
        action_raw=action_raw,
        full_name=opt_str(contact.get("full_name")),
        first_name=opt_str(contact.get("first_name")),
        user_id=user_id,
        timestamp=timestamp,
        raw=item,
    )
