"""Small builders of Meta webhook bodies for gateway tests (the documented shapes, spec §2)."""

from __future__ import annotations

from typing import Any

PNID = "106540352242922"
BIZ = "15550783881"
WABA = "102290129340398"


def envelope(
    field: str,
    value: dict[str, Any],
    *,
    pnid: str = PNID,
    display: str = BIZ,
    waba: str = WABA,
    time: int | None = None,
) -> dict[str, Any]:
    if field != "account_update":
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": display, "phone_number_id": pnid},
            **value,
        }
    entry: dict[str, Any] = {"id": waba, "changes": [{"field": field, "value": value}]}
    if time is not None:
        entry["time"] = time
    return {"object": "whatsapp_business_account", "entry": [entry]}


def inbound(
    wamid: str,
    frm: str,
    ts: int,
    body: str = "hi",
    *,
    name: str | None = "Customer",
    type_: str = "text",
    content: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    msg: dict[str, Any] = {
        "from": frm,
        "id": wamid,
        "timestamp": str(ts),
        "type": type_,
        type_: content if content is not None else {"body": body},
        **extra,
    }
    value: dict[str, Any] = {"messages": [msg]}
    if name is not None:
        value["contacts"] = [{"profile": {"name": name}, "wa_id": frm}]
    return envelope("messages", value)


def status(wamid: str, status_: str, ts: int, recipient: str = "16505551234", **extra: Any) -> dict[str, Any]:
    return envelope(
        "messages",
        {
            "statuses": [
                {"id": wamid, "status": status_, "timestamp": str(ts), "recipient_id": recipient, **extra}
            ]
        },
    )


def echo(
    wamid: str,
    to: str,
    ts: int,
    body: str = "from the phone",
    *,
    type_: str = "text",
    content: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    item = {
        "from": BIZ,
        "to": to,
        "id": wamid,
        "timestamp": str(ts),
        "type": type_,
        type_: content if content is not None else {"body": body},
        **extra,
    }
    return envelope("smb_message_echoes", {"message_echoes": [item]})


def history(phase: int, chunk: int, progress: int, threads: list[dict[str, Any]]) -> dict[str, Any]:
    return envelope(
        "history",
        {
            "history": [
                {"metadata": {"phase": phase, "chunk_order": chunk, "progress": progress}, "threads": threads}
            ]
        },
    )


def hmsg(
    wamid: str, frm: str, ts: int, body: str | None = "old", *, status_: str = "READ", type_: str = "text"
) -> dict[str, Any]:
    m: dict[str, Any] = {
        "from": frm,
        "id": wamid,
        "timestamp": str(ts),
        "type": type_,
        "history_context": {"status": status_},
    }
    if type_ == "text":
        m["text"] = {"body": body}
    return m


def state_sync(*items: dict[str, Any]) -> dict[str, Any]:
    return envelope("smb_app_state_sync", {"state_sync": list(items)})


def book(
    phone: str,
    ts: int,
    action: str = "add",
    full_name: str | None = "Pablo Morales",
    first_name: str | None = "Pablo",
) -> dict[str, Any]:
    contact: dict[str, Any] = {"phone_number": phone}
    if action == "add":
        contact.update(full_name=full_name, first_name=first_name)
    return {"type": "contact", "contact": contact, "action": action, "metadata": {"timestamp": str(ts)}}
