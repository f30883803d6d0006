"""A small server-rendered page per number: the Business app as the owner sees it.

GET /_emulator/ui lists the numbers; GET /_emulator/ui/numbers/{pnid}?chat=<wa_id>&device=<kind>
shows the chat list, one chat (as that device shows it) and a compose box that sends as the owner
through the same path as POST /_emulator/numbers/{pnid}/app/send.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from wacoex.emulator import phone
from wacoex.emulator.customers import ActionError, require_number
from wacoex.emulator.world import World

router = APIRouter(prefix="/_emulator/ui", tags=["ui"], include_in_schema=False)
_env = Environment(loader=FileSystemLoader(Path(__file__).parent), autoescape=select_autoescape(["html"]))
_env.filters["clock"] = lambda ts: datetime.datetime.fromtimestamp(float(ts), datetime.UTC).strftime(
    "%Y-%m-%d %H:%M"
)


def _world(request: Request) -> World:
    world: World = request.app.state.world
    phone.install(world)
    return world


def _render(name: str, status_code: int = 200, **context: object) -> HTMLResponse:
    return HTMLResponse(_env.get_template(name).render(**context), status_code=status_code)


@router.get("", response_class=HTMLResponse)
async def numbers_page(request: Request) -> HTMLResponse:
    world = _world(request)
    return _render("numbers.html", numbers=list(world.numbers.values()), now=world.clock.now())


@router.get("/numbers/{pnid}", response_class=HTMLResponse)
async def number_page(
    request: Request, pnid: str, chat: str | None = None, device: str = "primary", error: str | None = None
) -> HTMLResponse:
    world = _world(request)
    try:
        number = require_number(world, pnid)
    except ActionError as exc:
        return _render("error.html", exc.status_code, message=exc.message)
    chats = phone.chat_list(world, number)
    if chat is None and chats:
        chat = chats[0]["wa_id"]
    known = chat is not None and (number.phone_number_id, chat) in world.chats
    messages = phone.chat_view(world, number, chat, device) if known and chat else []
    return _render(
        "number.html",
        number=number,
        chats=chats,
        chat=chat,
        messages=messages,
        device=device,
        devices=[d for d in number.devices if d.linked],
        error=error,
        now=world.clock.now(),
    )


@router.post("/numbers/{pnid}/send")
async def send_as_owner(
    request: Request,
    pnid: str,
    to: str = Form(...),
    text: str = Form(...),
    device: str = Form("primary"),
    reply_to: str = Form(""),
) -> Response:
    world = _world(request)
    target = f"/_emulator/ui/numbers/{pnid}?chat={to}&device={device}"
    try:
        phone.app_send(
            world, pnid, to, type="text", content={"body": text}, device=device, context_id=reply_to or None
        )
    except ActionError as exc:
        return _render("error.html", exc.status_code, message=exc.message, back=target)
    await world.clock.settle()
    return RedirectResponse(target, status_code=303)
