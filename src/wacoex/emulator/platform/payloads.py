"""Builders of webhook `value` objects exactly as Meta documents them (coexistence-spec §1.13, §2).

Pure functions over plain values: no world, no I/O. Each returns the `changes[].value` object (or one
item inside it); `World.emit` wraps values in the envelope. Timestamps inside message objects are
strings of Unix seconds; `entry.time` (account_update) is the dispatcher's business. The
`account_update` values are built in account_payloads.py.
"""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]

MEDIA_TYPES = frozenset({"image", "audio", "video", "document", "sticker"})
# history_context.status is upper-case in history (spec §2.2); our statuses are lower-case.
HISTORY_STATUS = {
    "sent": "SENT",
    "delivered": "DELIVERED",
    "read": "READ",
    "played": "PLAYED",
    "failed": "ERROR",
    "pending": "PENDING",
    "received": "READ",
}
UNSUPPORTED_ERRORS: dict[int, Json] = {
    131051: {
        "code": 131051,
        "title": "Message type unknown",
        "message": "Message type unknown",
        "error_data": {"details": "Message type is currently not supported."},
    },
    131060: {
        "code": 131060,
        "title": "Message unavailable",
        "message": "Message unavailable",
        "error_data": {
            "details": "This message could not be shown here. Check the WhatsApp Business app on the "
            "primary device."
        },
    },
}
HISTORY_DECLINED_ERROR: Json = {
    "code": 2593109,
    "title": "History sync is turned off by the business from the WhatsApp Business App",
    "message": "History sync is turned off by the business from the WhatsApp Business App",
    "error_data": {"details": "History sharing is turned off by the business"},
}


def ts(seconds: float) -> str:
    """A webhook message timestamp: a string of whole Unix seconds."""
    return str(int(seconds))


def business_value(display_phone_number: str, phone_number_id: str) -> Json:
    """The `messaging_product` + `metadata` head every message-like value starts with."""
    return {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": display_phone_number, "phone_number_id": phone_number_id},
    }


# ---- content objects (the `<type>` object of a message) -------------------------------------------


def text(body: str) -> Json:
    return {"body": body}


def media(
    *,
    media_id: str,
    mime_type: str,
    sha256: str,
    caption: str | None = None,
    filename: str | None = None,
    voice: bool | None = None,
    animated: bool | None = None,
    url: str | None = None,
) -> Json:
    """An image/audio/video/document/sticker object; optional keys only when given."""
    obj: Json = {"mime_type": mime_type, "sha256": sha256, "id": media_id}
    if caption is not None:
        obj["caption"] = caption
    if filename is not None:
        obj["filename"] = filename
    if voice is not None:
        obj["voice"] = voice
    if animated is not None:
        obj["animated"] = animated
    if url is not None:
        obj["url"] = url
    return obj


def location(
    latitude: float,
    longitude: float,
    *,
    name: str | None = None,
    address: str | None = None,
    url: str | None = None,
) -> Json:
    obj: Json = {"latitude": latitude, "longitude": longitude}
    for key, val in (("name", name), ("address", address), ("url", url)):
        if val is not None:
            obj[key] = val
    return obj


def shared_contact(formatted_name: str, phone: str, *, wa_id: str | None = None) -> Json:
    """One element of a `contacts` message (a vCard-like card)."""
    first, _, last = formatted_name.partition(" ")
    name: Json = {"formatted_name": formatted_name, "first_name": first}
    if last:
        name["last_name"] = last
    phone_obj: Json = {"phone": phone, "type": "MOBILE"}
    if wa_id is not None:
        phone_obj["wa_id"] = wa_id
    return {"name": name, "phones": [phone_obj]}


def button_reply(button_id: str, title: str) -> Json:
    return {"type": "button_reply", "button_reply": {"id": button_id, "title": title}}


def list_reply(row_id: str, title: str, description: str | None = None) -> Json:
    reply: Json = {"id": row_id, "title": title}
    if description is not None:
        reply["description"] = description
    return {"type": "list_reply", "list_reply": reply}


def nfm_reply(response_json: str, *, body: str = "Sent", name: str = "flow") -> Json:
    """A WhatsApp Flow completion; `response_json` is a JSON *string*."""
    return {"type": "nfm_reply", "nfm_reply": {"response_json": response_json, "body": body, "name": name}}


def template_button(payload: str, button_text: str) -> Json:
    return {"payload": payload, "text": button_text}


def reaction(message_id: str, emoji: str) -> Json:
    return {"message_id": message_id, "emoji": emoji}


def order(catalog_id: str, product_items: list[Json], order_text: str = "") -> Json:
    return {"catalog_id": catalog_id, "text": order_text, "product_items": product_items}


def system_changed_number(name: str, old_wa_id: str, new_wa_id: str) -> Json:
    return {
        "body": f"User {name} changed from {old_wa_id} to {new_wa_id}",
        "wa_id": new_wa_id,
        "type": "user_changed_number",
    }


def referral(
    *,
    source_id: str,
    headline: str = "Chat with us",
    body: str = "",
    source_url: str = "https://fb.me/emulator",
    media_type: str = "image",
    image_url: str = "https://scontent.xx.fbcdn.net/emulator.jpg",
    ctwa_clid: str = "",
    welcome_text: str | None = None,
) -> Json:
    """A Click-to-WhatsApp `referral` object (on the first message from an ad)."""
    obj: Json = {
        "source_url": source_url,
        "source_id": source_id,
        "source_type": "ad",
        "body": body,
        "headline": headline,
        "media_type": media_type,
        "image_url": image_url,
        "ctwa_clid": ctwa_clid or f"ctwa-{source_id}",
    }
    if welcome_text is not None:
        obj["welcome_message"] = {"text": welcome_text}
    return obj


def referral_from(given: Json, source_id: str) -> Json:
    """A referral from caller-given documented keys, defaults filling the rest."""
    base = referral(source_id=str(given.get("source_id") or source_id))
    base.update({k: v for k, v in given.items() if v is not None})
    return base


# ---- inbound `messages` ---------------------------------------------------------------------------


def customer_contact(wa_id: str, name: str, user_id: str | None = None) -> Json:
    """A `contacts[]` element: profile name, wa_id and, in the BSUID era, user_id."""
    contact: Json = {"profile": {"name": name}, "wa_id": wa_id}
    if user_id is not None:
        contact["user_id"] = user_id
    return contact


def message(
    *,
    sender: str,
    wamid: str,
    timestamp: float,
    type: str,
    content: Any = None,
    context: Json | None = None,
    referral_obj: Json | None = None,
    errors: list[Json] | None = None,
) -> Json:
    """One `messages[]` object: from/id/timestamp/type, the type object, optional context/referral."""
    msg: Json = {}
    if context is not None:
        msg["context"] = context
    if referral_obj is not None:
        msg["referral"] = referral_obj
    msg["from"] = sender
    msg["id"] = wamid
    msg["timestamp"] = ts(timestamp)
    msg["type"] = type
    if content is not None:
        msg[type] = content
    if errors is not None:
        msg["errors"] = errors
    return msg


def unsupported_message(*, sender: str, wamid: str, timestamp: float, code: int = 131051) -> Json:
    """`type: unsupported` with 131051 (unknown type) or 131060 (coexistence: check the app)."""
    return message(
        sender=sender, wamid=wamid, timestamp=timestamp, type="unsupported", errors=[unsupported_error(code)]
    )


def unsupported_error(code: int) -> Json:
    return dict(UNSUPPORTED_ERRORS[code])


def nested_message(type: str, content: Any, context_id: str | None = None) -> Json:
    """The `message` object inside an `edit`: type + type object, optional context."""
    nested: Json = {}
    if context_id is not None:
        nested["context"] = {"id": context_id}
    nested["type"] = type
    nested[type] = content
    return nested


def edit_content(original_message_id: str, nested: Json) -> Json:
    return {"original_message_id": original_message_id, "message": nested}


def revoke_content(original_message_id: str) -> Json:
    return {"original_message_id": original_message_id}


def messages_value(
    *, display_phone_number: str, phone_number_id: str, contact: Json | None, messages: list[Json]
) -> Json:
    """A `messages` field value with inbound messages (`system` messages carry no contacts)."""
    value = business_value(display_phone_number, phone_number_id)
    if contact is not None:
        value["contacts"] = [contact]
    value["messages"] = messages
    return value


# ---- smb_message_echoes ---------------------------------------------------------------------------


def echo(
    *,
    business: str,
    to: str,
    wamid: str,
    timestamp: float,
    type: str,
    content: Any,
    context: Json | None = None,
) -> Json:
    """One `message_echoes[]` object; `timestamp` is the webhook trigger time."""
    obj: Json = {}
    if context is not None:
        obj["context"] = context
    obj.update({"from": business, "to": to, "id": wamid, "timestamp": ts(timestamp), "type": type})
    obj[type] = content
    return obj


def echoes_value(
    *, display_phone_number: str, phone_number_id: str, contact: Json, echoes: list[Json]
) -> Json:
    """An `smb_message_echoes` value. `contacts[]` names the recipient (pywa requires it)."""
    value = business_value(display_phone_number, phone_number_id)
    value["contacts"] = [contact]
    value["message_echoes"] = echoes
    return value


# ---- history --------------------------------------------------------------------------------------


def history_message(
    *,
    sender: str,
    wamid: str,
    timestamp: float,
    type: str,
    content: Any,
    status: str,
    to: str | None = None,
) -> Json:
    """A `threads[].messages[]` object; media are `media_placeholder` without content."""
    msg: Json = {"from": sender}
    if to is not None:
        msg["to"] = to
    msg["id"] = wamid
    msg["timestamp"] = ts(timestamp)
    if type in MEDIA_TYPES:
        msg["type"] = "media_placeholder"
    else:
        msg["type"] = type
        if content is not None:
            msg[type] = content
    msg["history_context"] = {"status": HISTORY_STATUS.get(status, status.upper())}
    return msg


def history_thread(wa_id: str, messages: list[Json]) -> Json:
    return {"id": wa_id, "messages": messages}


def history_chunk(*, phase: int, chunk_order: int, progress: int, threads: list[Json]) -> Json:
    return {
        "metadata": {"phase": phase, "chunk_order": chunk_order, "progress": progress},
        "threads": threads,
    }


def history_value(*, display_phone_number: str, phone_number_id: str, chunks: list[Json]) -> Json:
    value = business_value(display_phone_number, phone_number_id)
    value["history"] = chunks
    return value


def history_media_value(*, display_phone_number: str, phone_number_id: str, messages: list[Json]) -> Json:
    """The media follow-up: field `history` but `value.messages[]`, ids equal the placeholders'."""
    value = business_value(display_phone_number, phone_number_id)
    value["messages"] = messages
    return value


def history_declined_value(*, display_phone_number: str, phone_number_id: str) -> Json:
    """The one webhook sent when the business declined to share history (2593109)."""
    value = business_value(display_phone_number, phone_number_id)
    value["history"] = [{"errors": [dict(HISTORY_DECLINED_ERROR)]}]
    return value


# ---- smb_app_state_sync ---------------------------------------------------------------------------


def contact_change(
    *,
    action: str,
    phone_number: str,
    timestamp: float,
    full_name: str | None = None,
    first_name: str | None = None,
) -> Json:
    """One `state_sync[]` element. Edits are `add`; `remove` omits the names."""
    if action not in ("add", "remove"):
        raise ValueError(f"state_sync action must be add or remove, not {action!r}")
    contact: Json = {}
    if action == "add":
        contact["full_name"] = full_name or ""
        contact["first_name"] = first_name or (full_name or "").split(" ")[0]
    contact["phone_number"] = phone_number
    return {"type": "contact", "contact": contact, "action": action, "metadata": {"timestamp": ts(timestamp)}}


def state_sync_value(*, display_phone_number: str, phone_number_id: str, changes: list[Json]) -> Json:
    value = business_value(display_phone_number, phone_number_id)
    value["state_sync"] = changes
    return value
