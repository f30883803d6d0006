"""Field `messages`: customer messages (`messages[]`), delivery statuses (`statuses[]`) and `errors[]`.

Every message type is kept, including ones we do not know: the fact carries the type string and the
object under that key. `contacts[]` is matched to items by wa_id or BSUID for names and user ids.
"""

from __future__ import annotations

from typing import Any

from wacoex.domain import limits
from wacoex.domain.enums import MessageStatus
from wacoex.domain.facts import JSON, AnyFact, InboundMessage, Source, StatusUpdate, Unknown
from wacoex.domain.ids import digits
from wacoex.whatsapp.fields._common import (
    Contacts,
    bounded,
    dicts,
    identity_problem,
    item_head,
    item_profile,
    message_text,
    opt_dict,
    opt_str,
    phone_or_none,
    to_int,
    to_str,
    value_errors,
)

# System messages that move a customer to a new number: Meta's current name and the older one
# (which also spelled the new number `new_wa_id`).
NUMBER_CHANGES = frozenset({"user_changed_number", "customer_changed_number"})


def parse(value: JSON, source: Source) -> list[AnyFact]:
    """All facts of one `messages` change value."""
    facts: list[AnyFact] = []
    messages = value.get("messages")
    statuses = value.get("statuses")
    contacts = Contacts(value.get("contacts"))
    if messages is not None:
        if type(messages) is list:
            sole = len(messages) == 1
            for index, item in enumerate(messages):
                facts.append(parse_message(item, index, source, contacts, sole))
        else:
            facts.append(Unknown(source=source, reason="messages: not a list", raw=messages))
    if statuses is not None:
        if type(statuses) is list:
            sole = len(statuses) == 1
            for index, item in enumerate(statuses):
                facts.append(parse_status(item, index, source, contacts, sole))
        else:
            facts.append(Unknown(source=source, reason="statuses: not a list", raw=statuses))
    errors = value_errors(value, source)
    facts.extend(errors)
    if messages is None and statuses is None and value.get("errors") is None:
        facts.append(
            Unknown(source=source, reason="messages change without messages, statuses or errors", raw=value)
        )
    return facts


def parse_message(item: Any, index: int, source: Source, contacts: Contacts, sole: bool) -> AnyFact:
    """One item of `messages[]` as an InboundMessage, or Unknown when it has no id or type."""
    head = item_head(item, f"messages[{index}]", source)
    if isinstance(head, Unknown):
        return head
    item, wamid, msg_type, timestamp = head
    from_wa_id = to_str(item.get("from")) or None
    from_user_id = opt_str(item.get("from_user_id")) or None
    problem = identity_problem("from", from_wa_id, "from_user_id", from_user_id)
    if problem is not None:
        return Unknown(source=source, reason=f"messages[{index}]: {problem}", raw=item)
    parent_user_id = opt_str(item.get("from_parent_user_id") or item.get("parent_user_id")) or None
    profile = item_profile(contacts, from_wa_id, from_user_id, parent_user_id, sole)
    if from_user_id is None and profile is not None:
        from_user_id = profile.user_id
    content = item.get(msg_type)
    context = opt_dict(item.get("context"))
    return InboundMessage(
        source=source,
        wamid=wamid,
        from_wa_id=from_wa_id,
        from_user_id=from_user_id,
        profile=profile,
        type=msg_type,
        content=content,
        text=message_text(msg_type, content),
        timestamp=timestamp,
        reply_to=bounded(context.get("id"), limits.WAMID) if context is not None else None,
        context=context,
        referral=opt_dict(item.get("referral")),
        errors=dicts(item.get("errors")),
        new_wa_id=_new_number(msg_type, content),
        raw=item,
    )


def _new_number(msg_type: str, content: Any) -> str | None:
    """The number a `system` user_changed_number (or older customer_changed_number) moves to."""
    if msg_type != "system" or type(content) is not dict or content.get("type") not in NUMBER_CHANGES:
        return None
    new = to_str(content.get("wa_id")) or to_str(content.get("new_wa_id"))
    return new if digits(new) else None  # a number, or nothing to move to


def parse_status(item: Any, index: int, source: Source, contacts: Contacts, sole: bool) -> AnyFact:
    """One item of `statuses[]` as a StatusUpdate, or Unknown when it has no id or status."""
    where = f"statuses[{index}]"
    if type(item) is not dict:
        return Unknown(source=source, reason=f"{where}: not an object", raw=item)
    wamid = item.get("id")
    if type(wamid) is not str or not wamid:
        return Unknown(source=source, reason=f"{where}: missing or non-string id", raw=item)
    if len(wamid) > limits.WAMID:
        return Unknown(source=source, reason=f"{where}: id longer than {limits.WAMID} characters", raw=item)
    status_raw = item.get("status")
    if type(status_raw) is not str:
        return Unknown(source=source, reason=f"{where}: missing or non-string status", raw=item)
    timestamp = to_int(item.get("timestamp"))  # None: applied at the receipt's time
    # The recipient only places the message in a conversation: one we cannot keep is left out.
    recipient_id = phone_or_none(item.get("recipient_id"))
    recipient_user_id = bounded(item.get("recipient_user_id"), limits.USER_ID) or None
    # Some statuses carry contacts[] too (BSUIDs, and the recipient's profile name).
    contact = contacts.match(recipient_id, recipient_user_id, sole)
    if recipient_user_id is None and contact is not None:
        recipient_user_id = contact.user_id
    return StatusUpdate(
        source=source,
        wamid=wamid,
        status=MessageStatus(status_raw),
        status_raw=status_raw,
        timestamp=timestamp,
        recipient_id=recipient_id,
        recipient_user_id=recipient_user_id,
        profile=contact,
        errors=dicts(item.get("errors")),
        pricing=opt_dict(item.get("pricing")),
        conversation=opt_dict(item.get("conversation")),
        biz_opaque_callback_data=opt_str(item.get("biz_opaque_callback_data")),
        raw=item,
    )
