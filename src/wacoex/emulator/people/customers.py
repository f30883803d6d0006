"""WhatsApp users talking to a business: send any inbound type, edit, revoke, react, read and play.

Each action mutates the world (the chat the phone shows) and, when the number is connected to the
Cloud API, emits the `messages` webhook Meta documents. Only messages after onboarding open the
24-hour window; a CTWA `referral` is kept on the message for the send path's free entry point.
Users on unsupported companions (and, when enabled per number, first contacts) surface as
`unsupported` with code 131060.
`ActionError` is the one error every people-side action raises (the routes map it to HTTP).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from wacoex.emulator.platform import payloads
from wacoex.emulator.platform.payloads import Json
from wacoex.emulator.runtime import Runtime
from wacoex.emulator.world import ChatMessage, Customer, MediaObject, Number

EDIT_WINDOW = 15 * 60.0
REVOKE_WINDOW = 2 * 86_400.0
INBOUND_TYPES = frozenset(
    {
        "text",
        "image",
        "audio",
        "video",
        "document",
        "sticker",
        "location",
        "contacts",
        "interactive",
        "button",
        "reaction",
        "order",
        "system",
        "unsupported",
    }
)
DEFAULT_MIME = {
    "image": "image/jpeg",
    "audio": "audio/ogg; codecs=opus",
    "video": "video/mp4",
    "document": "application/pdf",
    "sticker": "image/webp",
}
# Number.extra knob: emit 131060 for a customer's very first message to the number.
FIRST_CONTACT_UNSUPPORTED = "first_contact_unsupported"


class ActionError(Exception):
    """A people-side action the emulated world refuses (404 unknown, 409 conflict, 422 invalid)."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


def require_number(rt: Runtime, phone_number_id: str) -> Number:
    number = rt.world.numbers.get(phone_number_id) or rt.world.number_by_display(phone_number_id)
    if number is None:
        raise ActionError(404, f"unknown phone number {phone_number_id!r}")
    return number


def require_customer(rt: Runtime, wa_id: str, *, name: str | None = None) -> Customer:
    digits = "".join(ch for ch in wa_id if ch.isdigit())
    customer = rt.world.customers.get(digits)
    if customer is None:
        if name is None:
            raise ActionError(404, f"unknown customer {wa_id!r}; create it with POST /_emulator/customers")
        customer = rt.world.add_customer(digits, name)
    return customer


def api_connected(number: Number) -> bool:
    """Whether Meta delivers this number's webhooks at all (connected coexistence or API-only)."""
    return number.state in ("CONNECTED", "API_ONLY") and number.platform_type == "CLOUD_API"


def store_media(rt: Runtime, number: Number, kind: str, obj: Json) -> Json:
    """Complete a media object (id, mime_type, sha256) and register the bytes so GET /{media_id} works."""
    obj = dict(obj)
    if obj.get("id") and obj["id"] in rt.world.media:
        stored = rt.world.media[obj["id"]]
        obj.setdefault("mime_type", stored.mime_type)
        obj.setdefault("sha256", stored.sha256)
        return obj
    media_id = obj.get("id") or rt.world.new_id("8")
    mime = obj.get("mime_type") or DEFAULT_MIME[kind]
    data = f"emulator {kind} {media_id}".encode()
    sha = base64.b64encode(hashlib.sha256(data).digest()).decode()  # as Meta (and media.py) give it
    rt.world.media[media_id] = MediaObject(
        id=media_id,
        phone_number_id=number.phone_number_id,
        mime_type=mime,
        data=data,
        sha256=sha,
        created_at=rt.world.clock.now(),
        filename=obj.get("filename"),
    )
    obj.update({"id": media_id, "mime_type": mime, "sha256": obj.get("sha256") or sha})
    if kind == "audio":
        obj.setdefault("voice", False)
    if kind == "sticker":
        obj.setdefault("animated", False)
    return obj


def normalise_content(rt: Runtime, number: Number, type: str, content: Any) -> Any:
    """Accept shorthands (`"text": "hi"`) and fill media details."""
    if type == "text" and isinstance(content, str):
        return payloads.text(content)
    if type in payloads.MEDIA_TYPES:
        return store_media(rt, number, type, content or {})
    if content is None:
        raise ActionError(422, f"a {type} message needs a {type!r} object")
    return content


def _contact(customer: Customer) -> Json:
    return payloads.customer_contact(customer.wa_id, customer.name, customer.user_id)


def _emit_inbound(rt: Runtime, number: Number, customer: Customer | None, message: Json) -> None:
    value = payloads.messages_value(
        display_phone_number=number.display_phone_number,
        phone_number_id=number.phone_number_id,
        contact=_contact(customer) if customer is not None else None,
        messages=[message],
    )
    rt.emit(number.phone_number_id, "messages", value)


def _open_window(rt: Runtime, number: Number, wa_id: str, now: float) -> None:
    # The window belongs to the API side: only customer messages after onboarding count.
    if number.onboarded_at is None and number.state != "API_ONLY":
        return
    if number.state not in ("CONNECTED", "API_ONLY"):
        return
    # The free entry point (72 h from the business's first reply to a CTWA message) is the send
    # path's business; it reads the `referral` stored on this message.
    rt.world.chat(number.phone_number_id, wa_id).last_customer_message_at = now


def send(
    rt: Runtime,
    wa_id: str,
    phone_number_id: str,
    *,
    type: str,
    content: Any = None,
    context_id: str | None = None,
    referral: Json | None = None,
    unsupported_code: int | None = None,
    name: str | None = None,
) -> ChatMessage:
    """The customer sends one message of any inbound type to the business."""
    if type not in INBOUND_TYPES:
        raise ActionError(422, f"unknown inbound message type {type!r}")
    number = require_number(rt, phone_number_id)
    customer = require_customer(rt, wa_id, name=name)
    if not customer.on_whatsapp:
        raise ActionError(409, f"{customer.wa_id} is not on WhatsApp")
    if type != "unsupported":
        content = normalise_content(rt, number, type, content)
    now = rt.world.clock.now()
    chat = rt.world.chat(number.phone_number_id, customer.wa_id)
    first_contact = not any(m.direction == "inbound" for m in chat.messages)
    wamid = rt.world.new_wamid(customer.wa_id)
    msg = ChatMessage(
        wamid=wamid,
        phone_number_id=number.phone_number_id,
        wa_id=customer.wa_id,
        direction="inbound",
        origin="customer",
        type=type,
        content=content,  # a list for `contacts` messages, as on the wire
        timestamp=now,
        device=customer.device,
        status="received",
        context_id=context_id,
        before_onboarding=number.onboarded_at is None and number.state != "API_ONLY",
        referral=referral,
    )
    chat.messages.append(msg)
    rt.world.messages[wamid] = msg
    if type != "reaction" or (content or {}).get("emoji"):
        _open_window(rt, number, customer.wa_id, now)
    if not api_connected(number):
        return msg
    first_unsupported = first_contact and number.extra.get(FIRST_CONTACT_UNSUPPORTED)
    if (
        unsupported_code is None
        and number.coexistence
        and (customer.unsupported_companion or first_unsupported)
    ):
        unsupported_code = 131060
    if type == "unsupported" and unsupported_code is None:
        unsupported_code = 131051
    if unsupported_code is not None:
        out = payloads.unsupported_message(
            sender=customer.wa_id, wamid=wamid, timestamp=now, code=unsupported_code
        )
    else:
        context = None
        if context_id is not None:
            original = rt.world.messages.get(context_id)
            sender = (
                number.display_phone_number
                if original is None or original.direction == "outbound"
                else original.wa_id
            )
            context = {"from": sender, "id": context_id}
        out = payloads.message(
            sender=customer.wa_id,
            wamid=wamid,
            timestamp=now,
            type=type,
            content=content,
            context=context,
            referral_obj=referral,
        )
    _emit_inbound(rt, number, None if type == "system" else customer, out)
    return msg


def _own_message(rt: Runtime, wa_id: str, wamid: str) -> ChatMessage:
    msg = rt.world.messages.get(wamid)
    if msg is None or msg.direction != "inbound" or msg.wa_id != wa_id:
        raise ActionError(404, f"{wamid!r} is not a message sent by {wa_id}")
    if msg.revoked:
        raise ActionError(409, f"{wamid!r} was deleted")
    return msg


def edit(rt: Runtime, wa_id: str, wamid: str, *, body: str | None = None, caption: str | None = None) -> str:
    """The customer edits one of their messages (text, or a media caption) within 15 minutes."""
    customer = require_customer(rt, wa_id)
    msg = _own_message(rt, customer.wa_id, wamid)
    now = rt.world.clock.now()
    if now - msg.timestamp > EDIT_WINDOW:
        raise ActionError(409, "messages can be edited only within 15 minutes of sending")
    if msg.type == "text":
        if body is None:
            raise ActionError(422, "editing a text message needs 'text'")
        msg.content = payloads.text(body)
    elif msg.type in ("image", "video", "document"):
        if caption is None:
            raise ActionError(422, "editing a media message needs 'caption'")
        msg.content = {**msg.content, "caption": caption}
    else:
        raise ActionError(409, f"{msg.type} messages cannot be edited")
    msg.edited = True
    number = rt.world.numbers[msg.phone_number_id]
    event_id = rt.world.new_wamid(customer.wa_id)
    if api_connected(number):
        nested = payloads.nested_message(msg.type, msg.content, msg.context_id)
        out = payloads.message(
            sender=customer.wa_id,
            wamid=event_id,
            timestamp=now,
            type="edit",
            content=payloads.edit_content(wamid, nested),
        )
        _emit_inbound(rt, number, customer, out)
    return event_id


def revoke(rt: Runtime, wa_id: str, wamid: str) -> str:
    """The customer deletes one of their messages for everyone, within two days."""
    customer = require_customer(rt, wa_id)
    msg = _own_message(rt, customer.wa_id, wamid)
    now = rt.world.clock.now()
    if now - msg.timestamp > REVOKE_WINDOW:
        raise ActionError(409, "messages can be deleted only within 2 days of sending")
    msg.revoked = True
    number = rt.world.numbers[msg.phone_number_id]
    event_id = rt.world.new_wamid(customer.wa_id)
    # Meta: the revoke webhook exists only for coexistence numbers.
    if api_connected(number) and number.coexistence:
        out = payloads.message(
            sender=customer.wa_id,
            wamid=event_id,
            timestamp=now,
            type="revoke",
            content=payloads.revoke_content(wamid),
        )
        _emit_inbound(rt, number, customer, out)
    return event_id


def react(rt: Runtime, wa_id: str, wamid: str, emoji: str) -> ChatMessage:
    """The customer reacts to a message in the chat (empty emoji removes the reaction)."""
    target = rt.world.messages.get(wamid)
    if target is None or target.wa_id != "".join(ch for ch in wa_id if ch.isdigit()):
        raise ActionError(404, f"{wamid!r} is not in a chat with {wa_id}")
    return send(
        rt,
        wa_id,
        target.phone_number_id,
        type="reaction",
        content=payloads.reaction(wamid, emoji),
    )


def _business_messages(rt: Runtime, wa_id: str, phone_number_id: str | None) -> list[ChatMessage]:
    digits = "".join(ch for ch in wa_id if ch.isdigit())
    found: list[ChatMessage] = []
    for (pnid, chat_wa_id), chat in rt.world.chats.items():
        if chat_wa_id != digits or (phone_number_id is not None and pnid != phone_number_id):
            continue
        found.extend(m for m in chat.messages if m.direction == "outbound" and not m.revoked)
    return found


def _targets(rt: Runtime, wa_id: str, wamid: str | None, phone_number_id: str | None) -> list[ChatMessage]:
    if wamid is not None:
        msg = rt.world.messages.get(wamid)
        if (
            msg is None
            or msg.direction != "outbound"
            or msg.wa_id != "".join(c for c in wa_id if c.isdigit())
        ):
            raise ActionError(404, f"{wamid!r} is not a business message to {wa_id}")
        return [msg]
    if phone_number_id is not None:
        phone_number_id = require_number(rt, phone_number_id).phone_number_id
    return _business_messages(rt, wa_id, phone_number_id)


def read(
    rt: Runtime, wa_id: str, *, wamid: str | None = None, phone_number_id: str | None = None
) -> list[str]:
    """The customer opens the chat: business messages become `read` (API ones emit statuses).

    `read` may skip `delivered`; the platform then sends no `delivered` webhook.
    """
    require_customer(rt, wa_id)
    changed = []
    for msg in _targets(rt, wa_id, wamid, phone_number_id):
        if msg.status in ("read", "played", "failed"):
            continue
        if rt.update_status(msg.wamid, "read"):
            changed.append(msg.wamid)
    return changed


def play(rt: Runtime, wa_id: str, wamid: str) -> bool:
    """The customer plays a voice message the business sent: status `played`."""
    require_customer(rt, wa_id)
    [msg] = _targets(rt, wa_id, wamid, None)
    if msg.type != "audio":
        raise ActionError(409, "only audio messages can be played")
    return rt.update_status(msg.wamid, "played")


def fail(rt: Runtime, wa_id: str, wamid: str, *, code: int = 131049, details: str | None = None) -> bool:
    """Delivery to the customer fails: a `failed` status with the given error code."""
    require_customer(rt, wa_id)
    [msg] = _targets(rt, wa_id, wamid, None)
    title = FAILURE_TITLES.get(code, "Message failed to send")
    error: Json = {
        "code": code,
        "title": title,
        "message": title,
        "error_data": {"details": details or title},
        "href": "/documentation/business-messaging/whatsapp/support/error-codes",
    }
    return rt.update_status(msg.wamid, "failed", errors=[error])


FAILURE_TITLES = {
    131049: "This message was not delivered to maintain healthy ecosystem engagement.",
    131026: "Message undeliverable",
    131050: "Unable to deliver the message. This recipient has chosen to stop receiving marketing messages "
    "on WhatsApp from your business",
    131053: "Media upload error",
}
