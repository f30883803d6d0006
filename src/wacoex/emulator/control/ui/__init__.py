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

from wacoex.emulator.people import phone
from wacoex.emulator.people.customers import ActionError, require_number
from wacoex.emulator.platform.graph_api import runtime_of

router = APIRouter(prefix="/_emulator/ui", tags=["ui"], include_in_schema=False)
_env = Environment(loader=FileSystemLoader(Path(__file__).parent), autoescape=select_autoescape(["html"]))
_env.filters["clock"] = lambda ts: datetime.datetime.fromtimestamp(float(ts), datetime.UTC).strftime(
    "%Y-%m-%d %H:%M"
)


def _render(name: str, status_code: int = 200, **context: object) -> HTMLResponse:
    return HTMLResponse(_env.get_template(name).render(**context), status_code=status_code)


@router.get("", response_class=HTMLResponse)
async def numbers_page(request: Request) -> HTMLResponse:
    rt = runtime_of(request)
    return _render("numbers.html", numbers=list(rt.world.numbers.values()), now=rt.world.clock.now())


@router.get("/numbers/{pnid}", response_class=HTMLResponse)
async def number_page(
    request: Request, pnid: str, chat: str | None = None, device: str = "primary", error: str | None = None
) -> HTMLResponse:
    rt = runtime_of(request)
    try:
        number = require_number(rt, pnid)
    except ActionError as exc:
        return _render("error.html", exc.status_code, message=exc.message)
    chats = phone.chat_list(rt, number)
    if chat is None and chats:
        chat = chats[0]["wa_id"]
    known = chat is not None and (number.phone_number_id, chat) in rt.world.chats
    messages = phone.chat_view(rt, number, chat, device) if known and chat else []
    return _render(
        "number.html",
        number=number,
        chats=chats,
        chat=chat,
        messages=messages,
        device=device,
        devices=[d for d in number.devices if d.linked],
        error=error,
        now=rt.world.clock.now(),
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
    rt = runtime_of(request)
    target = f"/_emulator/ui/numbers/{pnid}?chat={to}&device={device}"
    try:
        phone.app_send(
            rt, pnid, to, type="text", content={"body": text}, device=device, context_id=reply_to or None
        )
    except ActionError as exc:
        return _render("error.html", exc.status_code, message=exc.message, back=target)
    await rt.world.clock.settle()
    return RedirectResponse(target, status_code=303)
