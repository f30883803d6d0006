"""The WhatsApp Business app on the owner's phone and its companion devices.

Chats (API-sent messages show too), sends/edits/revokes as the owner -> `smb_message_echoes` from the
primary or a supported companion (Windows and WearOS emit nothing and show a placeholder), the
address book -> `smb_app_state_sync` once the initial contact sync happened, app opens, up to four
companions, and every way the link to the Cloud API ends (`account_update`): disconnect in Settings,
~14 days without opening the app, ~30 days of companion inactivity, change number, re-register,
downgrade to the consumer app. App sends are free and never touch the 24-hour window.
"""

from __future__ import annotations

import weakref
from typing import Any

from wacoex.emulator.people.customers import (
    REVOKE_WINDOW,
    ActionError,
    api_connected,
    normalise_content,
    require_customer,
    require_number,
)
from wacoex.emulator.platform import account_payloads, payloads
from wacoex.emulator.platform.payloads import Json
from wacoex.emulator.platform.rules import check_onboarding_eligible
from wacoex.emulator.runtime import Runtime
from wacoex.emulator.world import ChatMessage, Contact, Device, Number, World

DAY = 86_400.0
PRIMARY_INACTIVITY = 14 * DAY
COMPANION_INACTIVITY = 30 * DAY
MAX_COMPANIONS = 4
EDIT_WINDOW = 15 * 60.0
COMPANION_KINDS = frozenset({"web", "mac", "windows", "wearos", "ipad", "android_companion"})
UNSUPPORTED_PLACEHOLDER = "This message can only be viewed on your primary device."
CONTACT_SYNC_CHUNK = 500

_installed: weakref.WeakSet[World] = weakref.WeakSet()


def install(rt: Runtime) -> None:
    """Register the inactivity check on the world's clock (idempotent)."""
    if rt.world in _installed:
        return
    _installed.add(rt.world)
    rt.world.clock.on_advance(lambda now: check_inactivity(rt, now))


# ---- devices --------------------------------------------------------------------------------------


def device_of(number: Number, kind: str) -> Device:
    for device in number.devices:
        if device.kind == kind and device.linked:
            return device
    raise ActionError(409, f"no linked {kind!r} device on {number.display_phone_number}")


def linked_companions(number: Number) -> list[Device]:
    return [d for d in number.devices if d.kind != "primary" and d.linked]


def link_device(rt: Runtime, number: Number, kind: str) -> Device:
    if kind not in COMPANION_KINDS:
        raise ActionError(422, f"unknown companion kind {kind!r} (one of {sorted(COMPANION_KINDS)})")
    if len(linked_companions(number)) >= MAX_COMPANIONS:
        raise ActionError(409, "at most four companion devices can be linked")
    now = rt.world.clock.now()
    for device in number.devices:
        if device.kind == kind and not device.linked:
            device.linked = True
            device.last_active_at = now
            return device
    device = Device(kind=kind, linked=True, last_active_at=now)
    number.devices.append(device)
    return device


def unlink_device(number: Number, kind: str) -> int:
    if kind == "primary":
        raise ActionError(422, "the primary device cannot be unlinked")
    unlinked = 0
    for device in number.devices:
        if device.kind == kind and device.linked:
            device.linked = False
            unlinked += 1
    return unlinked


def open_app(rt: Runtime, number: Number, device: str = "primary") -> None:
    """The owner opens the app (resets the ~14-day inactivity countdown) or uses a companion."""
    now = rt.world.clock.now()
    found = device_of(number, device)
    found.last_active_at = now
    if device == "primary":
        number.last_primary_open_at = now


# ---- chats as the phone shows them ----------------------------------------------------------------


def chat_list(rt: Runtime, number: Number) -> list[Json]:
    """Every chat of the number, newest activity first, with its last message."""
    rows: list[Json] = []
    for (pnid, wa_id), chat in rt.world.chats.items():
        if pnid != number.phone_number_id or not chat.messages:
            continue
        last = chat.messages[-1]
        customer = rt.world.customers.get(wa_id)
        contact = number.address_book.get(wa_id)
        rows.append(
            {
                "wa_id": wa_id,
                "name": contact.full_name if contact else (customer.name if customer else wa_id),
                "last_message": preview(last),
                "last_timestamp": last.timestamp,
                "message_count": len(chat.messages),
                "window_open": chat.last_customer_message_at is not None
                and rt.world.clock.now() - chat.last_customer_message_at < rt.world.config.csw_seconds,
            }
        )
    rows.sort(key=lambda r: r["last_timestamp"], reverse=True)
    return rows


def preview(msg: ChatMessage) -> str:
    if msg.revoked:
        return "This message was deleted"
    content = msg.content
    if msg.type == "text":
        return str(content.get("body", ""))
    if msg.type in payloads.MEDIA_TYPES:
        caption = content.get("caption") if isinstance(content, dict) else None
        return f"[{msg.type}] {caption}" if caption else f"[{msg.type}]"
    if msg.type == "reaction":
        return f"reacted {content.get('emoji', '')}"
    return f"[{msg.type}]"


def chat_view(rt: Runtime, number: Number, wa_id: str, device: str = "primary") -> list[Json]:
    """The messages of one chat as `device` shows them (unsupported companions hide the business's)."""
    chat = rt.world.chats.get((number.phone_number_id, wa_id))
    if chat is None:
        raise ActionError(404, f"no chat with {wa_id} on {number.display_phone_number}")
    hide = device in ("windows", "wearos")
    rows: list[Json] = []
    for m in chat.messages:
        placeholder = hide and m.direction == "outbound"
        rows.append(
            {
                "wamid": m.wamid,
                "direction": m.direction,
                "origin": m.origin,
                "device": m.device,
                "type": m.type,
                "content": {"body": UNSUPPORTED_PLACEHOLDER} if placeholder else m.content,
                "text": UNSUPPORTED_PLACEHOLDER if placeholder else preview(m),
                "placeholder": placeholder,
                "timestamp": m.timestamp,
                "status": m.status,
                "context_id": m.context_id,
                "edited": m.edited,
                "revoked": m.revoked,
            }
        )
    return rows


# ---- sending as the owner -------------------------------------------------------------------------


def _emits_echo(number: Number, device: Device) -> bool:
    return api_connected(number) and number.coexistence and device.supported


def _emit_echo(rt: Runtime, number: Number, wa_id: str, echo: Json) -> None:
    customer = rt.world.customers.get(wa_id)
    contact = payloads.customer_contact(
        wa_id, customer.name if customer else wa_id, customer.user_id if customer else None
    )
    value = payloads.echoes_value(
        display_phone_number=number.display_phone_number,
        phone_number_id=number.phone_number_id,
        contact=contact,
        echoes=[echo],
    )
    rt.emit(number.phone_number_id, "smb_message_echoes", value)


def app_send(
    rt: Runtime,
    phone_number_id: str,
    wa_id: str,
    *,
    type: str,
    content: Any,
    device: str = "primary",
    context_id: str | None = None,
) -> ChatMessage:
    """The owner sends from the app or a companion. Free, no window change, no statuses."""
    number = require_number(rt, phone_number_id)
    customer = require_customer(rt, wa_id, name=wa_id)
    dev = device_of(number, device)
    content = normalise_content(rt, number, type, content)
    now = rt.world.clock.now()
    dev.last_active_at = now
    if device == "primary":
        number.last_primary_open_at = now
    chat = rt.world.chat(number.phone_number_id, customer.wa_id)
    if context_id is not None and rt.world.messages.get(context_id) is None:
        raise ActionError(404, f"cannot reply to unknown message {context_id!r}")
    msg = ChatMessage(
        wamid=rt.world.new_wamid(customer.wa_id),
        phone_number_id=number.phone_number_id,
        wa_id=customer.wa_id,
        direction="outbound",
        origin="business_app",
        type=type,
        content=content,
        timestamp=now,
        device=device,
        status="sent",
        context_id=context_id,
        before_onboarding=number.onboarded_at is None,
    )
    chat.messages.append(msg)
    rt.world.messages[msg.wamid] = msg
    if _emits_echo(number, dev):
        context = None
        if context_id is not None:
            quoted = rt.world.messages[context_id]
            sender = number.display_phone_number if quoted.direction == "outbound" else quoted.wa_id
            context = {"from": sender, "id": context_id}
        echo = payloads.echo(
            business=number.display_phone_number,
            to=customer.wa_id,
            wamid=msg.wamid,
            timestamp=now,
            type=type,
            content=content,
            context=context,
        )
        _emit_echo(rt, number, customer.wa_id, echo)
    return msg


def _business_message(rt: Runtime, number: Number, wamid: str) -> ChatMessage:
    msg = rt.world.messages.get(wamid)
    if msg is None or msg.phone_number_id != number.phone_number_id or msg.direction != "outbound":
        raise ActionError(404, f"{wamid!r} is not a message this business sent")
    if msg.revoked:
        raise ActionError(409, f"{wamid!r} was deleted")
    return msg


def app_edit(
    rt: Runtime,
    phone_number_id: str,
    wamid: str,
    *,
    body: str | None = None,
    caption: str | None = None,
    device: str = "primary",
) -> str:
    """The owner edits a message (text, or a media caption) within 15 minutes -> echo `edit`."""
    number = require_number(rt, phone_number_id)
    dev = device_of(number, device)
    msg = _business_message(rt, number, wamid)
    now = rt.world.clock.now()
    if now - msg.timestamp > EDIT_WINDOW:
        raise ActionError(409, "messages can be edited only within 15 minutes of sending")
    if msg.type == "text" and body is not None:
        msg.content = payloads.text(body)
    elif msg.type in ("image", "video", "document") and caption is not None:
        msg.content = {**msg.content, "caption": caption}
    else:
        raise ActionError(422, "edit a text with 'text' or a media caption with 'caption'")
    msg.edited = True
    dev.last_active_at = now
    event_id = rt.world.new_wamid(msg.wa_id)
    if _emits_echo(number, dev):
        nested = payloads.nested_message(msg.type, msg.content, msg.context_id)
        echo = payloads.echo(
            business=number.display_phone_number,
            to=msg.wa_id,
            wamid=event_id,
            timestamp=now,
            type="edit",
            content=payloads.edit_content(wamid, nested),
        )
        _emit_echo(rt, number, msg.wa_id, echo)
    return event_id


def app_revoke(rt: Runtime, phone_number_id: str, wamid: str, *, device: str = "primary") -> str:
    """The owner deletes a message for everyone (within two days) -> echo `revoke`."""
    number = require_number(rt, phone_number_id)
    dev = device_of(number, device)
    msg = _business_message(rt, number, wamid)
    now = rt.world.clock.now()
    if now - msg.timestamp > REVOKE_WINDOW:
        raise ActionError(409, "messages can be deleted only within 2 days of sending")
    msg.revoked = True
    dev.last_active_at = now
    event_id = rt.world.new_wamid(msg.wa_id)
    if _emits_echo(number, dev):
        echo = payloads.echo(
            business=number.display_phone_number,
            to=msg.wa_id,
            wamid=event_id,
            timestamp=now,
            type="revoke",
            content=payloads.revoke_content(wamid),
        )
        _emit_echo(rt, number, msg.wa_id, echo)
    return event_id


# ---- the address book -----------------------------------------------------------------------------


def _contact_value(number: Number, changes: list[Json]) -> Json:
    return payloads.state_sync_value(
        display_phone_number=number.display_phone_number,
        phone_number_id=number.phone_number_id,
        changes=changes,
    )


def edit_contact(
    rt: Runtime,
    phone_number_id: str,
    *,
    action: str,
    phone_number: str,
    full_name: str | None = None,
    first_name: str | None = None,
) -> Contact | None:
    """Add, edit or remove an address-book entry; after the initial sync each change is a webhook."""
    number = require_number(rt, phone_number_id)
    digits = "".join(ch for ch in phone_number if ch.isdigit())
    now = rt.world.clock.now()
    contact: Contact | None
    if action in ("add", "edit"):
        if not full_name:
            raise ActionError(422, f"{action} needs full_name")
        if action == "edit" and digits not in number.address_book:
            raise ActionError(404, f"{digits} is not in the address book")
        contact = Contact(digits, full_name, first_name or full_name.split(" ")[0], now)
        number.address_book[digits] = contact
        change = payloads.contact_change(
            action="add",
            phone_number=digits,
            timestamp=now,
            full_name=contact.full_name,
            first_name=contact.first_name,
        )
    elif action == "remove":
        if number.address_book.pop(digits, None) is None:
            raise ActionError(404, f"{digits} is not in the address book")
        contact = None
        change = payloads.contact_change(action="remove", phone_number=digits, timestamp=now)
    else:
        raise ActionError(422, "action must be add, edit or remove")
    if api_connected(number) and number.coexistence and "smb_app_state_sync" in number.sync_done:
        rt.emit(number.phone_number_id, "smb_app_state_sync", _contact_value(number, [change]))
    return contact


def start_contact_sync(rt: Runtime, number: Number, *, chunk: int = CONTACT_SYNC_CHUNK) -> int:
    """The initial contact sync: the whole address book as `add`s, `chunk` contacts per webhook."""
    contacts = sorted(number.address_book.values(), key=lambda c: c.phone_number)
    sent = 0
    for start in range(0, len(contacts), max(1, chunk)):
        changes = [
            payloads.contact_change(
                action="add",
                phone_number=c.phone_number,
                timestamp=c.updated_at or rt.world.clock.now(),
                full_name=c.full_name,
                first_name=c.first_name,
            )
            for c in contacts[start : start + chunk]
        ]
        rt.emit(number.phone_number_id, "smb_app_state_sync", _contact_value(number, changes))
        sent += 1
    return sent


# ---- the link to the Cloud API --------------------------------------------------------------------


def _partner_removed(rt: Runtime, number: Number, reason: str, initiated_by: str) -> None:
    waba = rt.world.wabas[number.waba_id]
    value = account_payloads.partner_removed(
        phone_number=number.display_phone_number,
        waba_id=waba.id,
        owner_business_id=waba.business_id,
        reason=reason,
        initiated_by=initiated_by,
    )
    rt.emit(number.phone_number_id, "account_update", value)


def offboard(rt: Runtime, number: Number, reason: str, initiated_by: str = "USER") -> None:
    """End coexistence: PARTNER_REMOVED with `disconnection_info`; the API stops serving the number."""
    if number.state != "CONNECTED":
        raise ActionError(409, f"{number.display_phone_number} is not connected to the Cloud API")
    _partner_removed(rt, number, reason, initiated_by)
    number.state = "OFFBOARDED"
    number.platform_type = "NOT_APPLICABLE"


def disconnect(rt: Runtime, phone_number_id: str) -> None:
    """Settings > Account > Business Platform > Disconnect Account."""
    offboard(rt, require_number(rt, phone_number_id), "ACCOUNT_DISCONNECTED", "USER")


def change_number(rt: Runtime, phone_number_id: str, new_display_phone_number: str | None = None) -> None:
    number = require_number(rt, phone_number_id)
    offboard(rt, number, "CHANGE_NUMBER", "USER")
    if new_display_phone_number:
        number.display_phone_number = "".join(ch for ch in new_display_phone_number if ch.isdigit())


def re_register(rt: Runtime, phone_number_id: str) -> None:
    """The owner registers the number on a new device: PARTNER_REMOVED then ACCOUNT_OFFBOARDED."""
    number = require_number(rt, phone_number_id)
    offboard(rt, number, "USER_RE_REGISTERED", "USER")
    rt.emit(number.phone_number_id, "account_update", account_payloads.account_event("ACCOUNT_OFFBOARDED"))
    for device in number.devices:
        device.linked = device.kind == "primary"


def downgrade(rt: Runtime, phone_number_id: str) -> None:
    """The number moves to the consumer WhatsApp app."""
    number = require_number(rt, phone_number_id)
    offboard(rt, number, "BUSINESS_DOWNGRADE", "USER")
    number.on_biz_app = False


def onboard(rt: Runtime, phone_number_id: str, *, share_history: bool = True) -> Json:
    """Embedded Signup for a Business app number ("Connect to the Business Platform").

    Eligibility comes from the platform's rules; on success all companions are unlinked, the number is
    CONNECTED with `onboarded_at = now`, an ES code is issued for `/oauth/access_token` and
    PARTNER_APP_INSTALLED is emitted (plus ACCOUNT_RECONNECTED, with sync counters reset, when the
    number had been offboarded before).
    """
    install(rt)
    number = require_number(rt, phone_number_id)
    if number.state == "CONNECTED":
        raise ActionError(409, f"{number.display_phone_number} is already connected")
    problem = check_onboarding_eligible(rt.world, number)
    if problem is not None:
        raise ActionError(422, f"not eligible for coexistence: {problem.reason} ({problem.code})")
    reconnect = number.state == "OFFBOARDED"
    now = rt.world.clock.now()
    number.state = "CONNECTED"
    number.platform_type = "CLOUD_API"
    number.onboarded_at = now
    number.history_shared = share_history
    number.sync_done = set()
    number.last_primary_open_at = now
    for device in number.devices:
        device.linked = device.kind == "primary"
        if device.linked:
            device.last_active_at = now
    waba = rt.world.wabas[number.waba_id]
    code = rt.world.create_oauth_code(waba.business_id)
    if reconnect:
        rt.emit(
            number.phone_number_id, "account_update", account_payloads.account_event("ACCOUNT_RECONNECTED")
        )
    rt.emit(
        number.phone_number_id,
        "account_update",
        account_payloads.partner_app_installed(
            waba_id=waba.id, owner_business_id=waba.business_id, partner_app_id=rt.world.config.app_id
        ),
    )
    return {
        "event": "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING",
        "code": code.code,
        "waba_id": waba.id,
        "phone_number_id": number.phone_number_id,
        "business_id": waba.business_id,
        "onboarded_at": now,
        "share_history": share_history,
        "reconnected": reconnect,
    }


def check_inactivity(rt: Runtime, now: float) -> None:
    """Clock hook: ~14 days without opening the app, or a companion idle ~30 days, ends coexistence."""
    for number in list(rt.world.numbers.values()):
        if number.state != "CONNECTED" or not number.coexistence:
            continue
        if now - number.last_primary_open_at >= PRIMARY_INACTIVITY:
            offboard(rt, number, "PRIMARY_INACTIVITY", "SYSTEM")
            continue
        for device in linked_companions(number):
            if now - device.last_active_at >= COMPANION_INACTIVITY:
                device.linked = False
                offboard(rt, number, "COMPANION_INACTIVITY", "SYSTEM")
                break
