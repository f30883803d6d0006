"""Control API for the people half: customers, the owner's phone, onboarding, past chats, scenarios.

Every action answers with what it did (`wamid`, and `webhooks`: how many webhooks it emitted) once
the webhooks that fell due are handed to the dispatcher. Refusals are `{"error": {...}}` with 404
(unknown), 409 (conflict with the world's state) or 422 (invalid request).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml
from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse

from wacoex.emulator.control import scenarios
from wacoex.emulator.people import customers, phone
from wacoex.emulator.people.customers import ActionError
from wacoex.emulator.platform import account_update, dialog360_partner, history_export, payloads
from wacoex.emulator.platform.graph_api import runtime_of
from wacoex.emulator.runtime import Runtime

router = APIRouter(prefix="/_emulator", tags=["people"])
Payload = dict[str, Any]


async def _act(request: Request, action: Callable[[Runtime], Payload]) -> JSONResponse:
    rt = runtime_of(request)
    before = rt.dispatcher.emitted
    try:
        result = action(rt)
    except ActionError as exc:
        return JSONResponse({"error": {"message": exc.message, "code": exc.status_code}}, exc.status_code)
    await rt.world.clock.settle()
    return JSONResponse({**result, "webhooks": rt.dispatcher.emitted - before})


def _message_parts(body: Payload) -> tuple[str, Any]:
    """`type` plus the type object; `"text": "hi"` alone means a text message."""
    kind = body.get("type") or ("text" if "text" in body else None)
    if kind is None:
        raise ActionError(
            422, "give 'type' and the type object (e.g. {'type': 'text', 'text': {'body': 'hi'}})"
        )
    return str(kind), body.get(kind)


def _reply_to(body: Payload) -> str | None:
    context = body.get("context")
    if isinstance(context, dict) and context.get("id"):
        return str(context["id"])
    reply = body.get("reply_to")
    return str(reply) if reply else None


# ---- customers ------------------------------------------------------------------------------------


@router.post("/customers/{wa_id}/send")
async def customer_send(request: Request, wa_id: str, body: Payload = Body(...)) -> JSONResponse:
    """The customer sends a message to a business number (`to`: phone_number_id or display number)."""

    def act(rt: Runtime) -> Payload:
        to = body.get("to") or body.get("phone_number_id")
        if not to:
            raise ActionError(422, "'to' (the business phone_number_id or number) is required")
        kind, content = _message_parts(body)
        referral = body.get("referral")
        if referral is True:
            referral = {}
        if isinstance(referral, dict):
            referral = payloads.referral_from(referral, rt.world.new_id("12"))
        msg = customers.send(
            rt,
            wa_id,
            str(to),
            type=kind,
            content=content,
            context_id=_reply_to(body),
            referral=referral or None,
            unsupported_code=body.get("unsupported"),
            name=body.get("name"),
        )
        return {"wamid": msg.wamid, "timestamp": msg.timestamp}

    return await _act(request, act)


@router.post("/customers/{wa_id}/read")
async def customer_read(request: Request, wa_id: str, body: Payload = Body(default={})) -> JSONResponse:
    """The customer reads one business message (`wamid`) or every unread one (optionally per number)."""
    return await _act(
        request,
        lambda w: {
            "read": customers.read(
                w, wa_id, wamid=body.get("wamid"), phone_number_id=body.get("phone_number_id")
            )
        },
    )


@router.post("/customers/{wa_id}/play")
async def customer_play(request: Request, wa_id: str, body: Payload = Body(...)) -> JSONResponse:
    return await _act(request, lambda w: {"played": customers.play(w, wa_id, _required(body, "wamid"))})


@router.post("/customers/{wa_id}/fail")
async def customer_fail(request: Request, wa_id: str, body: Payload = Body(...)) -> JSONResponse:
    """Delivery of a business message to this customer fails (status `failed`, default 131049)."""
    return await _act(
        request,
        lambda w: {
            "failed": customers.fail(
                w,
                wa_id,
                _required(body, "wamid"),
                code=int(body.get("code", 131049)),
                details=body.get("details"),
            )
        },
    )


@router.post("/customers/{wa_id}/edit")
async def customer_edit(request: Request, wa_id: str, body: Payload = Body(...)) -> JSONResponse:
    return await _act(
        request,
        lambda w: {
            "wamid": customers.edit(
                w, wa_id, _required(body, "wamid"), body=_text(body), caption=body.get("caption")
            )
        },
    )


@router.post("/customers/{wa_id}/revoke")
async def customer_revoke(request: Request, wa_id: str, body: Payload = Body(...)) -> JSONResponse:
    return await _act(request, lambda w: {"wamid": customers.revoke(w, wa_id, _required(body, "wamid"))})


@router.post("/customers/{wa_id}/react")
async def customer_react(request: Request, wa_id: str, body: Payload = Body(...)) -> JSONResponse:
    return await _act(
        request,
        lambda w: {
            "wamid": customers.react(w, wa_id, _required(body, "wamid"), str(body.get("emoji", ""))).wamid
        },
    )


def _required(body: Payload, key: str) -> str:
    if not body.get(key):
        raise ActionError(422, f"{key!r} is required")
    return str(body[key])


def _text(body: Payload) -> str | None:
    text = body.get("text")
    if isinstance(text, dict):
        return str(text.get("body", ""))
    return None if text is None else str(text)


# ---- the phone ------------------------------------------------------------------------------------


@router.post("/numbers/{pnid}/app/send")
async def app_send(request: Request, pnid: str, body: Payload = Body(...)) -> JSONResponse:
    """The owner sends from the Business app (`device`: primary, web, mac, windows, wearos, ...)."""

    def act(rt: Runtime) -> Payload:
        kind, content = _message_parts(body)
        msg = phone.app_send(
            rt,
            pnid,
            _required(body, "to"),
            type=kind,
            content=content,
            device=str(body.get("device", "primary")),
            context_id=_reply_to(body),
        )
        return {"wamid": msg.wamid, "timestamp": msg.timestamp}

    return await _act(request, act)


@router.post("/numbers/{pnid}/app/edit")
async def app_edit(request: Request, pnid: str, body: Payload = Body(...)) -> JSONResponse:
    return await _act(
        request,
        lambda w: {
            "wamid": phone.app_edit(
                w,
                pnid,
                _required(body, "wamid"),
                body=_text(body),
                caption=body.get("caption"),
                device=str(body.get("device", "primary")),
            )
        },
    )


@router.post("/numbers/{pnid}/app/revoke")
async def app_revoke(request: Request, pnid: str, body: Payload = Body(...)) -> JSONResponse:
    return await _act(
        request,
        lambda w: {
            "wamid": phone.app_revoke(
                w, pnid, _required(body, "wamid"), device=str(body.get("device", "primary"))
            )
        },
    )


@router.post("/numbers/{pnid}/app/contacts")
async def app_contacts(request: Request, pnid: str, body: Payload = Body(...)) -> JSONResponse:
    """Address book: `{"action": "add"|"edit"|"remove", "phone_number", "full_name", "first_name"}`."""

    def act(rt: Runtime) -> Payload:
        contact = phone.edit_contact(
            rt,
            pnid,
            action=str(body.get("action", "add")),
            phone_number=_required(body, "phone_number"),
            full_name=body.get("full_name"),
            first_name=body.get("first_name"),
        )
        return {"contact": None if contact is None else contact.__dict__}

    return await _act(request, act)


@router.get("/numbers/{pnid}/app/contacts")
async def app_contacts_list(request: Request, pnid: str) -> JSONResponse:
    return await _act(
        request,
        lambda w: {"contacts": [c.__dict__ for c in customers.require_number(w, pnid).address_book.values()]},
    )


@router.post("/numbers/{pnid}/app/open")
async def app_open(request: Request, pnid: str, body: Payload = Body(default={})) -> JSONResponse:
    def act(rt: Runtime) -> Payload:
        number = customers.require_number(rt, pnid)
        phone.open_app(rt, number, str(body.get("device", "primary")))
        return {"last_primary_open_at": number.last_primary_open_at}

    return await _act(request, act)


@router.post("/numbers/{pnid}/app/devices")
async def app_devices(request: Request, pnid: str, body: Payload = Body(...)) -> JSONResponse:
    """`{"action": "link"|"unlink", "kind": "web"|"mac"|"windows"|"wearos"|"ipad"|"android_companion"}`."""

    def act(rt: Runtime) -> Payload:
        number = customers.require_number(rt, pnid)
        kind = _required(body, "kind")
        if body.get("action", "link") == "link":
            phone.link_device(rt, number, kind)
        elif body.get("action") == "unlink":
            phone.unlink_device(number, kind)
        else:
            raise ActionError(422, "action must be link or unlink")
        return {"devices": _devices(number)}

    return await _act(request, act)


@router.get("/numbers/{pnid}/app/devices")
async def app_devices_list(request: Request, pnid: str) -> JSONResponse:
    return await _act(request, lambda w: {"devices": _devices(customers.require_number(w, pnid))})


def _devices(number: Any) -> list[Payload]:
    return [
        {"kind": d.kind, "linked": d.linked, "supported": d.supported, "last_active_at": d.last_active_at}
        for d in number.devices
    ]


@router.post("/numbers/{pnid}/app/disconnect")
async def app_disconnect(request: Request, pnid: str) -> JSONResponse:
    return await _act(request, lambda w: _state_after(w, pnid, phone.disconnect))


@router.post("/numbers/{pnid}/app/change-number")
async def app_change_number(request: Request, pnid: str, body: Payload = Body(default={})) -> JSONResponse:
    new = body.get("new_display_phone_number")
    return await _act(request, lambda w: _state_after(w, pnid, lambda w2, p: phone.change_number(w2, p, new)))


@router.post("/numbers/{pnid}/app/re-register")
async def app_re_register(request: Request, pnid: str) -> JSONResponse:
    return await _act(request, lambda w: _state_after(w, pnid, phone.re_register))


@router.post("/numbers/{pnid}/app/downgrade")
async def app_downgrade(request: Request, pnid: str) -> JSONResponse:
    return await _act(request, lambda w: _state_after(w, pnid, phone.downgrade))


def _state_after(rt: Runtime, pnid: str, action: Callable[[Runtime, str], None]) -> Payload:
    action(rt, pnid)
    number = customers.require_number(rt, pnid)
    return {"state": number.state, "platform_type": number.platform_type, "on_biz_app": number.on_biz_app}


@router.get("/numbers/{pnid}/app/chats")
async def app_chats(request: Request, pnid: str) -> JSONResponse:
    """The app's chat list: newest first, with the last message and whether the API window is open."""
    return await _act(request, lambda w: {"chats": phone.chat_list(w, customers.require_number(w, pnid))})


@router.get("/numbers/{pnid}/app/chats/{wa_id}")
async def app_chat(request: Request, pnid: str, wa_id: str, device: str = Query("primary")) -> JSONResponse:
    """One chat as a device shows it (API-sent messages included; placeholders on Windows/WearOS)."""
    return await _act(
        request,
        lambda w: {"messages": phone.chat_view(w, customers.require_number(w, pnid), wa_id, device)},
    )


@router.post("/numbers/{pnid}/app/history")
async def app_history(request: Request, pnid: str, body: Payload = Body(...)) -> JSONResponse:
    """Seed past chats on the phone: `{"chats": [{"wa_id", "messages": [{"ago": "3d", "from": ...}]}]}`."""

    def act(rt: Runtime) -> Payload:
        number = customers.require_number(rt, pnid)
        try:
            count = scenarios.seed_history(rt, number, body.get("chats", []), generate=body.get("generate"))
        except (KeyError, ValueError, TypeError) as exc:
            raise ActionError(422, f"invalid history: {exc}") from exc
        return {"messages": count}

    return await _act(request, act)


@router.post("/numbers/{pnid}/onboard")
async def onboard(request: Request, pnid: str, body: Payload = Body(default={})) -> JSONResponse:
    """Embedded Signup from the Business app; returns the ES `code` for `/oauth/access_token`.
    `"provider": "360dialog"` onboards through 360dialog's Integrated Onboarding instead."""

    def act(rt: Runtime) -> Payload:
        share = bool(body.get("share_history", True))
        provider = body.get("provider", "meta")
        if provider == "360dialog":
            return dialog360_partner.onboard(rt, pnid, share_history=share)
        if provider != "meta":
            raise ActionError(422, "provider must be meta or 360dialog")
        return phone.onboard(rt, pnid, share_history=share)

    return await _act(request, act)


@router.post("/numbers/{pnid}/account-update")
async def account_update_event(request: Request, pnid: str, body: Payload = Body(...)) -> JSONResponse:
    """Emit any documented `account_update` event: `{"event", ...event keys, "value": {merged}}`."""

    def act(rt: Runtime) -> Payload:
        number = customers.require_number(rt, pnid)
        try:
            value = account_update.emit_event(rt, number, body)
        except account_update.AccountUpdateError as exc:
            raise ActionError(422, str(exc)) from exc
        return {"value": value, "state": number.state, "disabled": number.disabled}

    return await _act(request, act)


@router.post("/numbers/{pnid}/sync/history")
async def sync_history(request: Request, pnid: str) -> JSONResponse:
    """Run the history export now, bypassing `smb_app_data` rules (for demos and benchmarks)."""

    def act(rt: Runtime) -> Payload:
        number = customers.require_number(rt, pnid)
        if number.onboarded_at is None:
            raise ActionError(409, "the number was never onboarded")
        return {"exported": history_export.start_history_sync(rt, number)}

    return await _act(request, act)


# ---- scenarios ------------------------------------------------------------------------------------


@router.post("/scenarios")
async def load_scenario(request: Request, play: bool = Query(False)) -> JSONResponse:
    """Load a scenario (YAML or JSON body); `?play=true` also runs its timeline on the clock now."""
    raw = await request.body()
    try:
        data = yaml.safe_load(raw.decode() or "{}")
    except yaml.YAMLError as exc:
        return JSONResponse({"error": {"message": f"invalid YAML: {exc}", "code": 422}}, 422)
    rt = runtime_of(request)
    before = rt.dispatcher.emitted
    try:
        summary = scenarios.load_scenario(rt, data)
        if play:
            summary["played"] = await scenarios.play(rt)
    except scenarios.ScenarioError as exc:
        return JSONResponse({"error": {"message": str(exc), "code": 422}}, 422)
    except ActionError as exc:
        return JSONResponse({"error": {"message": exc.message, "code": exc.status_code}}, exc.status_code)
    await rt.world.clock.settle()
    return JSONResponse({**summary, "webhooks": rt.dispatcher.emitted - before})
