"""Field `smb_message_echoes`: what the owner sent from the Business app or a supported companion.

`to` is kept as given ('+1650…' or '1650…') and may be missing in BSUID payloads; `contacts[]` is
optional (pywa requires it and crashes without). Edits and revokes are echoes of type edit/revoke.
"""

from __future__ import annotations

from typing import Any

from wacoex.domain import limits
from wacoex.domain.facts import JSON, AnyFact, Echo, Source, Unknown
from wacoex.domain.ids import digits
from wacoex.whatsapp.fields._common import (
    Contacts,
    bounded,
    identity_problem,
    item_head,
    item_profile,
    message_text,
    opt_dict,
    opt_str,
    to_str,
    value_errors,
)


def parse(value: JSON, source: Source) -> list[AnyFact]:
    """All facts of one `smb_message_echoes` change value."""
    facts: list[AnyFact] = []
    echoes = value.get("message_echoes")
    if echoes is not None:
        if type(echoes) is list:
            contacts = Contacts(value.get("contacts"))
            sole = len(echoes) == 1
            for index, item in enumerate(echoes):
                facts.append(parse_echo(item, index, source, contacts, sole))
        else:
            facts.append(Unknown(source=source, reason="message_echoes: not a list", raw=echoes))
    facts.extend(value_errors(value, source))
    if echoes is None and value.get("errors") is None:
        facts.append(
            Unknown(source=source, reason="smb_message_echoes change without message_echoes", raw=value)
        )
    return facts


def parse_echo(item: Any, index: int, source: Source, contacts: Contacts, sole: bool) -> AnyFact:
    """One item of `message_echoes[]` as an Echo, or Unknown when it has no id or type."""
    head = item_head(item, f"message_echoes[{index}]", source)
    if isinstance(head, Unknown):
        return head
    item, wamid, msg_type, timestamp = head
    to = to_str(item.get("to")) or None
    to_user_id = opt_str(item.get("to_user_id")) or None
    problem = identity_problem("to", to, "to_user_id", to_user_id)
    if problem is not None:
        return Unknown(source=source, reason=f"message_echoes[{index}]: {problem}", raw=item)
    parent_user_id = opt_str(item.get("to_parent_user_id") or item.get("parent_user_id")) or None
    profile = item_profile(contacts, digits(to) or None, to_user_id, parent_user_id, sole)
    if to_user_id is None and profile is not None:
        to_user_id = profile.user_id
    content = item.get(msg_type)
    context = opt_dict(item.get("context"))
    return Echo(
        source=source,
        wamid=wamid,
        from_number=to_str(item.get("from")) or None,
        to=to,
        to_user_id=to_user_id,
        profile=profile,
        type=msg_type,
        content=content,
        text=message_text(msg_type, content),
        timestamp=timestamp,
        reply_to=bounded(context.get("id"), limits.WAMID) if context is not None else None,
        context=context,
        raw=item,
    )
