"""The platform half of the control API under ``/_emulator``: world setup, clock, faults, ledger, log.

People-side routes (customers acting, the phone, onboarding, scenarios) live in control_people.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Body, FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse

from wacoex.emulator.clock import parse_duration
from wacoex.emulator.control.faults import FaultError
from wacoex.emulator.platform.graph_api import runtime_of, world_of
from wacoex.emulator.platform.rules import GraphError
from wacoex.emulator.platform.templates import TemplateError, new_template, template_json
from wacoex.emulator.runtime import Runtime
from wacoex.emulator.world import ChatMessage, Customer, Device, Number, World, WorldConfig

router = APIRouter(prefix="/_emulator", tags=["emulator control"])

_NUMBER_FIELDS = {f.name for f in dataclasses.fields(Number)} - {
    "devices",
    "address_book",
    "sync_done",
    "extra",
    "business_profile",
}
_NUMBER_CREATE = _NUMBER_FIELDS | {"business_id", "business_name", "onboarded", "devices", "messaging_limit"}
_CUSTOMER_FIELDS = {f.name for f in dataclasses.fields(Customer)}
_CONFIG_FIELDS = {f.name for f in dataclasses.fields(WorldConfig)}


def number_json(world: World, number: Number) -> dict[str, Any]:
    out = {name: getattr(number, name) for name in sorted(_NUMBER_FIELDS)}
    business = world.business_of(number)
    out |= {
        "business_id": business.id,
        "messaging_limit": business.messaging_limit,
        "coexistence": number.coexistence,
        "sync_done": sorted(number.sync_done),
        "devices": [dataclasses.asdict(d) | {"supported": d.supported} for d in number.devices],
        "address_book": {k: dataclasses.asdict(v) for k, v in number.address_book.items()},
        "business_profile": dataclasses.asdict(number.business_profile),
    }
    return out


def message_json(msg: ChatMessage) -> dict[str, Any]:
    return dataclasses.asdict(msg)


def _unknown(body: dict[str, Any], allowed: set[str]) -> None:
    extra = set(body) - allowed
    if extra:
        raise HTTPException(422, f"unknown fields: {', '.join(sorted(extra))}")


def _number(world: World, phone_number_id: str) -> Number:
    number = world.numbers.get(phone_number_id)
    if number is None:
        raise HTTPException(404, f"no number {phone_number_id}")
    return number


# -- numbers, customers, templates ---------------------------------------------------------------
@router.post("/numbers", status_code=201)
async def create_number(request: Request, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
    """Create a number (and its business/WABA unless ``waba_id``/``business_id`` name existing ones)."""
    world = world_of(request)
    _unknown(body, _NUMBER_CREATE)
    body = dict(body)
    display = body.pop("display_phone_number", None)
    if not isinstance(display, str) or not any(ch.isdigit() for ch in display):
        raise HTTPException(422, "display_phone_number is required")
    if body.get("phone_number_id") in world.numbers:
        raise HTTPException(409, "phone_number_id already exists")
    business_name = body.pop("business_name", None)
    limit = body.pop("messaging_limit", "unset")
    devices = body.pop("devices", None)
    if business_name and body.get("business_id") and body["business_id"] not in world.businesses:
        world.add_business(business_name, id=body["business_id"])
    elif business_name and not body.get("business_id") and not body.get("waba_id"):
        body["business_id"] = world.add_business(business_name).id
    if devices is not None:
        body["devices"] = [Device(d) if isinstance(d, str) else Device(**d) for d in devices]
        if not body["devices"] or body["devices"][0].kind != "primary":
            body["devices"].insert(0, Device("primary"))
    body.setdefault("access_token", None)
    if body.get("sync_done") is not None:
        body["sync_done"] = set(body["sync_done"])
    try:
        number = world.add_number(display, **body)
    except TypeError as exc:
        raise HTTPException(422, str(exc)) from exc
    if limit != "unset":
        world.business_of(number).messaging_limit = limit
    return number_json(world, number)


@router.get("/numbers")
async def list_numbers(request: Request) -> dict[str, Any]:
    world = world_of(request)
    return {"data": [number_json(world, n) for n in world.numbers.values()]}


@router.get("/numbers/{phone_number_id}")
async def get_number(request: Request, phone_number_id: str) -> dict[str, Any]:
    world = world_of(request)
    return number_json(world, _number(world, phone_number_id))


@router.patch("/numbers/{phone_number_id}")
async def patch_number(
    request: Request, phone_number_id: str, body: dict[str, Any] = Body(...)
) -> dict[str, Any]:
    """Change a number's attributes (quality, app_version, age_days, state, webhook_url, ...)."""
    world = world_of(request)
    number = _number(world, phone_number_id)
    _unknown(body, (_NUMBER_FIELDS - {"phone_number_id", "waba_id"}) | {"messaging_limit"})
    for key, value in body.items():
        if key == "messaging_limit":
            world.business_of(number).messaging_limit = value
        else:
            setattr(number, key, value)
    return number_json(world, number)


@router.post("/customers", status_code=201)
async def create_customer(request: Request, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
    world = world_of(request)
    _unknown(body, _CUSTOMER_FIELDS)
    wa_id = body.get("wa_id")
    if not isinstance(wa_id, str) or not any(ch.isdigit() for ch in wa_id):
        raise HTTPException(422, "wa_id is required")
    fields = {k: v for k, v in body.items() if k not in ("wa_id", "name")}
    return dataclasses.asdict(world.add_customer(wa_id, str(body.get("name") or ""), **fields))


@router.get("/customers")
async def list_customers(request: Request) -> dict[str, Any]:
    return {"data": [dataclasses.asdict(c) for c in world_of(request).customers.values()]}


@router.post("/templates", status_code=201)
async def create_template(request: Request, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
    """``{waba_id | phone_number_id, name, language, category, status?, components?,
    parameter_format?}`` (the format is inferred from the placeholders when not given)."""
    world = world_of(request)
    _unknown(
        body,
        {
            "waba_id",
            "phone_number_id",
            "name",
            "language",
            "category",
            "status",
            "components",
            "parameter_format",
        },
    )
    waba_id = body.get("waba_id")
    if waba_id is None and body.get("phone_number_id"):
        waba_id = _number(world, str(body["phone_number_id"])).waba_id
    if waba_id not in world.wabas:
        raise HTTPException(404, "waba_id (or phone_number_id) must name an existing WABA")
    for key in ("name", "language", "category"):
        if not isinstance(body.get(key), str):
            raise HTTPException(422, f"{key} is required")
    try:
        template = new_template(
            world,
            str(waba_id),
            body["name"],
            body["language"],
            body["category"],
            status=str(body.get("status", "APPROVED")),
            components=list(body.get("components") or []),
            parameter_format=body.get("parameter_format"),
        )
    except TemplateError as exc:
        raise HTTPException(422, str(exc)) from exc
    return template_json(template) | {"waba_id": template.waba_id}


@router.get("/templates")
async def list_templates(request: Request) -> dict[str, Any]:
    return {"data": [template_json(t) | {"waba_id": t.waba_id} for t in world_of(request).templates.values()]}


@router.post("/oauth/codes", status_code=201)
async def create_code(request: Request, body: dict[str, Any] = Body(default={})) -> dict[str, Any]:
    """An Embedded Signup code for ``business_id`` (or the business of ``waba_id``/``phone_number_id``)."""
    world = world_of(request)
    business_id = body.get("business_id")
    if business_id is None and body.get("waba_id") in world.wabas:
        business_id = world.wabas[body["waba_id"]].business_id
    if business_id is None and body.get("phone_number_id"):
        business_id = world.business_of(_number(world, body["phone_number_id"])).id
    code = world.create_oauth_code(business_id)
    return {
        "code": code.code,
        "business_id": business_id,
        "expires_at": code.created_at + world.config.oauth_code_ttl,
    }


@router.get("/messages")
async def list_messages(
    request: Request,
    phone_number_id: str | None = None,
    wa_id: str | None = None,
    origin: str | None = None,
    direction: str | None = None,
) -> dict[str, Any]:
    """Every message the world holds, oldest first: ``origin`` is who wrote it (``api``,
    ``business_app`` for the owner on the phone or a companion, ``customer``), ``direction``
    ``inbound``/``outbound`` from the business's side; history from before onboarding included."""
    world = world_of(request)
    found = [
        m
        for m in world.messages.values()
        if phone_number_id in (None, m.phone_number_id)
        and wa_id in (None, m.wa_id)
        and origin in (None, m.origin)
        and direction in (None, m.direction)
    ]
    found.sort(key=lambda m: m.timestamp)
    return {"data": [message_json(m) for m in found]}


@router.get("/messages/{wamid}")
async def get_message(request: Request, wamid: str) -> dict[str, Any]:
    msg = world_of(request).messages.get(wamid)
    if msg is None:
        raise HTTPException(404, f"no message {wamid}")
    return message_json(msg)


# -- clock ---------------------------------------------------------------------------------------
@router.get("/clock")
async def get_clock(request: Request) -> dict[str, Any]:
    clock = world_of(request).clock
    return {
        "now": clock.now(),
        "frozen": clock.frozen,
        "pending": clock.pending,
        "next_due": clock.next_due(),
    }


@router.post("/clock/advance")
async def advance_clock(request: Request, body: dict[str, Any] = Body(default={})) -> dict[str, Any]:
    """``{"seconds": 90}`` or ``{"by": "+24h"}``: run everything that falls due on the way."""
    world = world_of(request)
    try:
        seconds = parse_duration(body["by"]) if "by" in body else float(body.get("seconds", 0))
    except (ValueError, TypeError) as exc:
        raise HTTPException(422, str(exc)) from exc
    if seconds < 0:
        raise HTTPException(422, "the clock only moves forward")
    ran = await world.clock.advance_by(seconds)
    return {"now": world.clock.now(), "ran": ran}


@router.post("/flush")
async def flush(request: Request) -> dict[str, Any]:
    """Run everything already due (deliveries, statuses) without moving the clock."""
    world = world_of(request)
    ran = await world.clock.settle()
    return {"now": world.clock.now(), "ran": ran}


# -- faults, ledger, webhooks, config, reset ----------------------------------------------------
@router.post("/faults", status_code=201)
async def add_faults(
    request: Request, body: dict[str, Any] | list[dict[str, Any]] = Body(...)
) -> dict[str, Any]:
    runtime = runtime_of(request)
    specs = body if isinstance(body, list) else [body]
    added = []
    try:
        for spec in specs:
            fault = runtime.faults.add(spec)
            if fault is not None:
                added.append(fault.to_json())
    except FaultError as exc:
        raise HTTPException(422, str(exc)) from exc
    return {"added": added, "faults": runtime.faults.to_json()}


@router.get("/faults")
async def list_faults(request: Request) -> dict[str, Any]:
    return {"faults": runtime_of(request).faults.to_json()}


@router.delete("/faults")
async def clear_faults(request: Request) -> dict[str, Any]:
    runtime_of(request).faults.clear()
    return {"faults": []}


@router.delete("/faults/{fault_id}")
async def clear_fault(request: Request, fault_id: int) -> dict[str, Any]:
    runtime = runtime_of(request)
    runtime.faults.clear(fault_id)
    return {"faults": runtime.faults.to_json()}


@router.get("/ledger")
async def ledger(
    request: Request, phone_number_id: str | None = None, wa_id: str | None = None
) -> dict[str, Any]:
    """The billing ledger: one entry per API-sent message, charged on delivery."""
    return runtime_of(request).ledger.to_json(phone_number_id, wa_id)


@router.get("/refusals")
async def refusals(
    request: Request, phone_number_id: str | None = None, code: int | None = None
) -> dict[str, Any]:
    """Every send the platform refused with a Graph error, oldest first, and the count per code."""
    found = [
        r
        for r in world_of(request).refusals
        if phone_number_id in (None, r.phone_number_id) and code in (None, r.code)
    ]
    counts: dict[str, int] = {}
    for refusal in found:
        counts[str(refusal.code)] = counts.get(str(refusal.code), 0) + 1
    return {"data": [dataclasses.asdict(r) for r in found], "count_by_code": counts}


@router.get("/webhooks")
async def webhook_log(
    request: Request,
    field: str | None = None,
    phone_number_id: str | None = None,
    state: str | None = None,
    since_id: int = 0,
    body: bool = True,
) -> dict[str, Any]:
    """The delivery log: every emitted webhook, its route, attempts, status codes and body."""
    runtime = runtime_of(request)
    found = runtime.dispatcher.deliveries(field=field, phone_number_id=phone_number_id, state=state)
    return {
        "data": [d.to_json(with_body=body) for d in found if d.id > since_id],
        "emitted": runtime.dispatcher.emitted,
    }


@router.get("/config")
async def get_config(request: Request) -> dict[str, Any]:
    return dataclasses.asdict(world_of(request).config)


@router.patch("/config")
async def patch_config(request: Request, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
    """Change settings at run time (webhook_url, app_secret, delivery_delay, blocked_country_codes...)."""
    world = world_of(request)
    _unknown(body, _CONFIG_FIELDS)
    for key, value in body.items():
        setattr(world.config, key, value)
    if "access_tokens" in body:
        for token in body["access_tokens"]:
            world.tokens.setdefault(token, None)
    return dataclasses.asdict(world.config)


@router.post("/reset")
async def reset(request: Request) -> dict[str, Any]:
    runtime_of(request).reset()
    return {"reset": True}


# -- API faults as middleware --------------------------------------------------------------------
_API_ERRORS = {
    500: (1, "An unknown error occurred"),
    503: (2, "Service temporarily unavailable"),
    429: (4, "Application request limit reached"),
}


def install_fault_middleware(app: FastAPI) -> None:
    """``api_error``, ``slow_api`` and ``lost_response`` faults act on every non-control request."""

    @app.middleware("http")
    async def api_faults(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        path = request.url.path
        if path.startswith("/_emulator"):
            return await call_next(request)
        runtime: Runtime = request.app.state.runtime
        parts = path.strip("/").split("/")
        pnid = parts[1] if len(parts) > 1 else None
        slow = runtime.faults.take("slow_api", path=path, phone_number_id=pnid)
        if slow is not None:
            await asyncio.sleep(float(slow.params.get("seconds", 1.0)))
        failure = runtime.faults.take("api_error", path=path, phone_number_id=pnid)
        if failure is not None:
            status = int(failure.params.get("status", 500))
            code, title = _API_ERRORS.get(status, (1, "An unknown error occurred"))
            error = GraphError(
                int(failure.params.get("code", code)),
                str(failure.params.get("title", title)),
                str(failure.params.get("details", "Injected by the emulator's api_error fault.")),
                http_status=status,
            )
            headers = (
                {"retry-after": str(failure.params["retry_after"])}
                if "retry_after" in failure.params
                else None
            )
            return JSONResponse(error.to_json(), status_code=status, headers=headers)
        lost = runtime.faults.take("lost_response", path=path, phone_number_id=pnid)
        response = await call_next(request)
        if lost is not None:
            await asyncio.sleep(float(lost.params.get("seconds", 30.0)))
        return response
