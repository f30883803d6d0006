"""The send path shared by Graph ``POST /{phone_number_id}/messages`` and 360dialog ``POST /messages``.

Validates the body, applies the rules in Meta's order (registration, throughput, shape, recipient,
template, window, pair rate, messaging limit), stores the message in the chat (so the phone shows it),
prices it, and schedules its status webhooks. Undeliverable recipients and marketing opt-outs are
accepted and then fail asynchronously (``failed`` status with 131026 / 131050), as on the real API.
"""

from __future__ import annotations

from typing import Any

from wacoex.emulator.platform import billing, rules, templates
from wacoex.emulator.platform.rules import GraphError, invalid_parameter
from wacoex.emulator.runtime import Runtime
from wacoex.emulator.world import ChatMessage, Number, Refusal

MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")
MESSAGE_TYPES = frozenset(
    {"text", "template", "interactive", "reaction", "location", "contacts", *MEDIA_TYPES}
)
INTERACTIVE_TYPES = frozenset(
    {
        "button",
        "list",
        "cta_url",
        "product",
        "product_list",
        "flow",
        "location_request_message",
        "address_message",
    }
)


def _missing(what: str) -> GraphError:
    return GraphError(131008, "Required parameter is missing", f"The parameter {what} is required.")


def _invalid(details: str) -> GraphError:
    return GraphError(131009, "Parameter value is not valid", details)


def digits_of(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def resolve_recipient(rt: Runtime, number: Number, raw: str) -> str:
    """The recipient's wa_id: known customers first, with Brazil's ninth digit and Mexico's 521 quirks."""
    digits = digits_of(raw)
    if not digits:
        raise invalid_parameter(f"The parameter to ({raw!r}) is not a valid phone number.")
    candidates = [digits]
    if not raw.strip().startswith("+"):
        candidates.append(number.country_calling_code + digits)
    for candidate in list(candidates):
        if candidate.startswith("55") and len(candidate) == 13 and candidate[4] == "9":
            candidates.append(candidate[:4] + candidate[5:])
        if candidate.startswith("55") and len(candidate) == 12:
            candidates.append(candidate[:4] + "9" + candidate[4:])
        if candidate.startswith("521") and len(candidate) == 13:
            candidates.append("52" + candidate[3:])
    for candidate in candidates:
        if candidate in rt.world.customers:
            return candidate
    return digits


def _validate_type(rt: Runtime, msg_type: str, content: Any) -> None:
    if not isinstance(content, dict) and msg_type != "contacts":
        raise _missing(f"{msg_type} object")
    if msg_type == "text":
        body = content.get("body")
        if not isinstance(body, str) or not body:
            raise invalid_parameter("The parameter text['body'] is required.")
        if len(body) > 4096:
            raise invalid_parameter("Param text['body'] must be at most 4096 characters long.")
    elif msg_type in MEDIA_TYPES:
        media_id, link = content.get("id"), content.get("link")
        if not media_id and not link:
            raise invalid_parameter(f"The parameter {msg_type}['id'] or {msg_type}['link'] is required.")
        if media_id:
            media = rt.world.media.get(str(media_id))
            if (
                media is None
                or media.expired
                or rt.world.clock.now() > media.created_at + rt.world.config.media_ttl
            ):
                raise GraphError(
                    131053, "Media upload error", f"Unable to retrieve media with id {media_id}."
                )
        elif not str(link).startswith(("http://", "https://")):
            raise invalid_parameter(f"The parameter {msg_type}['link'] must be an http(s) URL.")
    elif msg_type == "reaction":
        if not content.get("message_id"):
            raise invalid_parameter("The parameter reaction['message_id'] is required.")
        if "emoji" not in content:
            raise invalid_parameter("The parameter reaction['emoji'] is required.")
    elif msg_type == "location":
        for key in ("latitude", "longitude"):
            if not isinstance(content.get(key), int | float | str) or content.get(key) == "":
                raise invalid_parameter(f"The parameter location['{key}'] is required.")
    elif msg_type == "contacts":
        if not isinstance(content, list) or not content:
            raise invalid_parameter("The parameter contacts must be a non-empty list.")
        for card in content:
            if not isinstance(card, dict) or not (card.get("name") or {}).get("formatted_name"):
                raise invalid_parameter("The parameter contacts[]['name']['formatted_name'] is required.")
    elif msg_type == "interactive":
        _validate_interactive(content)


def _validate_interactive(content: dict[str, Any]) -> None:
    kind = content.get("type")
    if kind not in INTERACTIVE_TYPES:
        raise _invalid(f"interactive['type'] must be one of {', '.join(sorted(INTERACTIVE_TYPES))}.")
    action = content.get("action")
    if kind != "location_request_message" and not isinstance(action, dict):
        raise _missing("interactive['action']")
    body = content.get("body") or {}
    if len(str(body.get("text", ""))) > 1024:
        raise _invalid("interactive['body']['text'] must be at most 1024 characters.")
    if kind == "button":
        assert isinstance(action, dict)
        buttons = action.get("buttons") or []
        if not 1 <= len(buttons) <= 3:
            raise _invalid("interactive['action']['buttons'] must have 1 to 3 buttons.")
        for button in buttons:
            reply = button.get("reply") or {}
            if not reply.get("id") or not reply.get("title"):
                raise _missing("interactive['action']['buttons'][]['reply']['id'/'title']")
            if len(reply["title"]) > 20:
                raise _invalid("Button title must be at most 20 characters.")
    if kind == "list":
        assert isinstance(action, dict)
        sections = action.get("sections") or []
        if not action.get("button") or len(str(action.get("button"))) > 20:
            raise _invalid("interactive['action']['button'] is required and at most 20 characters.")
        if not 1 <= len(sections) <= 10:
            raise _invalid("interactive['action']['sections'] must have 1 to 10 sections.")
        rows = [row for section in sections for row in section.get("rows") or []]
        if not 1 <= len(rows) <= 10:
            raise _invalid("A list message has 1 to 10 rows in total.")
        for row in rows:
            if not row.get("id") or not row.get("title") or len(row["title"]) > 24:
                raise _invalid("Each row needs an id and a title of at most 24 characters.")


def mark_read(rt: Runtime, number: Number, body: dict[str, Any]) -> dict[str, Any]:
    """``{"status": "read", "message_id": ...}``: the inbound message (and earlier ones) become read."""
    wamid = body.get("message_id")
    msg = rt.world.messages.get(str(wamid))
    if msg is None or msg.phone_number_id != number.phone_number_id or msg.direction != "inbound":
        raise invalid_parameter(f"Invalid message_id {wamid!r}: no such inbound message for this number.")
    for earlier in rt.world.chat(number.phone_number_id, msg.wa_id).messages:
        if earlier.direction == "inbound" and earlier.timestamp <= msg.timestamp:
            earlier.status = "read"
    return {"success": True}


def send_message(rt: Runtime, number: Number, body: dict[str, Any]) -> dict[str, Any]:
    """Accept one Cloud API message or raise the Graph error the real API would return.

    Every refusal is kept in ``rt.world.refusals`` (``GET /_emulator/refusals``), so a test can tell
    that a client never hit 130429 or never tried a free-form send outside the window.
    """
    try:
        return _send(rt, number, body)
    except GraphError as exc:
        to = body.get("to")
        rt.world.refusals.append(
            Refusal(
                at=rt.world.clock.now(),
                phone_number_id=number.phone_number_id,
                to=None if to is None else str(to),
                code=exc.code,
                title=exc.title,
            )
        )
        raise


def _send(rt: Runtime, number: Number, body: dict[str, Any]) -> dict[str, Any]:
    if body.get("status") == "read":
        if body.get("messaging_product") != "whatsapp":
            raise invalid_parameter("The parameter messaging_product is required and must be 'whatsapp'.")
        return mark_read(rt, number, body)
    if not number.can_send_via_api:
        raise rules.not_registered()
    if number.disabled:
        raise rules.account_locked()
    rules.check_throughput(rt.world, number)
    if body.get("messaging_product") != "whatsapp":
        raise invalid_parameter("The parameter messaging_product is required and must be 'whatsapp'.")
    if body.get("recipient_type", "individual") != "individual":
        raise invalid_parameter(
            "recipient_type must be 'individual' (groups are not supported on coexistence)."
        )
    raw_to = body.get("to")
    if not isinstance(raw_to, str | int) or not str(raw_to).strip():
        raise invalid_parameter("The parameter to is required.")
    raw_to = str(raw_to)
    msg_type = body.get("type", "text")
    if msg_type not in MESSAGE_TYPES:
        raise GraphError(131051, "Unsupported message type", f"Message type {msg_type!r} is not supported.")
    content = body.get(msg_type)
    _validate_type(rt, msg_type, content)
    wa_id = resolve_recipient(rt, number, raw_to)
    if wa_id == number.display_phone_number:
        raise rules.recipient_is_sender()
    template_category: str | None = None
    if msg_type == "template":
        assert isinstance(content, dict)
        template_category = templates.check_send(rt.world, number, content).category
    chat = rt.world.chat(number.phone_number_id, wa_id)
    window = rules.window_open(rt.world, number, chat)
    if template_category is None and not window:
        raise rules.window_closed()
    rules.check_pair_rate(rt.world, number, wa_id)
    rules.check_messaging_limit(
        rt.world, number, wa_id, business_initiated=template_category is not None and not window
    )

    now = rt.world.clock.now()
    fep = rules.fep_open(rt.world, number, chat, commit=True)
    business = rt.world.business_of(number)
    decision = billing.decide(
        rt.world.rate_card,
        recipient=wa_id,
        template_category=template_category,
        window_open=window,
        fep_open=fep,
        sender_calling_code=number.display_phone_number,
        auth_international_eligible=business.auth_international_eligible,
    )
    wamid = rt.world.new_wamid(wa_id)
    context = body.get("context") if isinstance(body.get("context"), dict) else None
    msg = ChatMessage(
        wamid=wamid,
        phone_number_id=number.phone_number_id,
        wa_id=wa_id,
        direction="outbound",
        origin="api",
        type=msg_type,
        content=content if isinstance(content, dict) else {"contacts": content},
        timestamp=now,
        status="sent",
        context_id=(context or {}).get("message_id"),
        pricing=decision.pricing(),
        biz_opaque_callback_data=body.get("biz_opaque_callback_data"),
    )
    msg.conversation = billing.conversation_object(
        decision,
        api_version=rt.world.config.api_version,
        sent_at=now,
        window_until=chat.fep_until
        if fep and chat.fep_until
        else rules.window_until(rt.world, chat)
        if window
        else now + 86400,
        fep_key=f"{chat.fep_source_wamid}" if fep else None,
    )
    chat.messages.append(msg)
    rt.world.messages[wamid] = msg
    rt.ledger.record(
        billing.LedgerEntry(
            wamid=wamid,
            phone_number_id=number.phone_number_id,
            waba_id=number.waba_id,
            business_id=business.id,
            wa_id=wa_id,
            market=decision.market,
            category=decision.category,
            pricing_type=decision.pricing_type,
            billable=decision.billable,
            price=decision.price,
            currency=decision.currency,
            sent_at=now,
        )
    )
    customer = rt.world.customers.get(wa_id)
    failure: GraphError | None = None
    if customer is None or not customer.on_whatsapp:
        failure = rules.undeliverable()
    elif template_category == "MARKETING" and customer.marketing_opt_out:
        failure = rules.marketing_opted_out()
    if failure is not None:
        errors = [failure.status_error()]
        msg.status = "failed"
        rt.world.clock.call_later(0.0, lambda: rt.update_status(wamid, "failed", errors))
    else:
        rt.schedule_progression(wamid)
    return {
        "messaging_product": "whatsapp",
        "contacts": [{"input": raw_to, "wa_id": wa_id}],
        "messages": [{"id": wamid}],
    }
