"""360dialog's Integrated Onboarding page: the owner connects a Business app number "through 360dialog".

``GET /_emulator/360dialog/connect?partner_id=&redirect_url=`` shows the page (``#phone``,
``#share-history``, ``#connect``); Connect posts ``POST /_emulator/360dialog/connect {phone,
share_history, partner_id, redirect_url}``, which onboards the number through 360dialog
(dialog360_partner.onboard) and answers ``{redirect, client_id, channel_id}``; the page then sends the
browser to ``redirect_url?client=<client_id>&channels=[<channel_id>]`` as 360dialog does.
"""

from __future__ import annotations

import html
import json
from typing import Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from wacoex.emulator.people.customers import ActionError
from wacoex.emulator.platform import dialog360_partner
from wacoex.emulator.platform.graph_api import runtime_of
from wacoex.emulator.world import World

router = APIRouter(prefix="/_emulator/360dialog", tags=["360dialog onboarding"])
Payload = dict[str, Any]

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Connect your number · 360dialog (wacoex emulator)</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 32rem; margin: 2rem auto; padding: 0 1rem; }
  label { display: block; margin: 0.8rem 0; }
  #error { color: #b00020; }
  .hidden { display: none; }
</style>
</head>
<body>
<h1>Connect your WhatsApp Business app number</h1>
<p>Integrated Onboarding for partner <strong>__PARTNER__</strong> (emulator).</p>
<div class="__FORM_CLASS__">
  <label>Business phone number <input id="phone" type="tel" placeholder="+1 555 078 3881"></label>
  <label><input id="share-history" type="checkbox" checked> Share chats</label>
  <button id="connect" type="button">Connect</button>
</div>
<p id="error" role="alert">__ERROR__</p>
<script>
(function () {
  "use strict";
  var CONTEXT = __CONTEXT__;
  document.getElementById("connect").addEventListener("click", function () {
    document.getElementById("error").textContent = "";
    var body = {phone: document.getElementById("phone").value,
      share_history: document.getElementById("share-history").checked,
      partner_id: CONTEXT.partner_id, redirect_url: CONTEXT.redirect_url};
    fetch("/_emulator/360dialog/connect", {method: "POST", headers: {"content-type": "application/json"},
      body: JSON.stringify(body)})
      .then(function (response) {
        return response.json().then(function (answer) { return {ok: response.ok, answer: answer}; });
      })
      .then(function (result) {
        if (!result.ok) {
          document.getElementById("error").textContent = result.answer.error.message;
          return;
        }
        window.location.assign(result.answer.redirect);
      });
  });
}());
</script>
</body>
</html>
"""


def _problem(world: World, partner_id: str, redirect_url: str) -> str | None:
    if partner_id != world.config.d360_partner_id:
        return f"Unknown partner {partner_id or '(none)'}."
    if not redirect_url.startswith(("http://", "https://")):
        return "redirect_url must be the partner's http(s) redirect URL."
    return None


@router.get("/connect")
async def connect_page(
    request: Request, partner_id: str = Query(""), redirect_url: str = Query("")
) -> HTMLResponse:
    world = runtime_of(request).world
    problem = _problem(world, partner_id, redirect_url)
    context = {"partner_id": partner_id, "redirect_url": redirect_url}
    page = (
        PAGE.replace("__PARTNER__", html.escape(partner_id))
        .replace("__FORM_CLASS__", "hidden" if problem else "")
        .replace("__ERROR__", html.escape(problem or ""))
        .replace("__CONTEXT__", json.dumps(context).replace("<", "\\u003c"))
    )
    return HTMLResponse(page)


@router.post("/connect")
async def connect(request: Request, body: Payload = Body(...)) -> JSONResponse:
    rt = runtime_of(request)
    world = rt.world
    redirect_url = str(body.get("redirect_url", ""))
    problem = _problem(world, str(body.get("partner_id", "")), redirect_url)
    if problem is not None:
        return JSONResponse({"error": {"message": problem, "code": 422}}, 422)
    digits = "".join(ch for ch in str(body.get("phone", "")) if ch.isdigit())
    number = world.number_by_display(digits) if digits else None
    if number is None:
        return JSONResponse(
            {"error": {"message": f"No WhatsApp Business app uses +{digits}.", "code": 404}}, 404
        )
    try:
        result = dialog360_partner.onboard(
            rt, number.phone_number_id, share_history=bool(body.get("share_history", True))
        )
    except ActionError as exc:
        return JSONResponse({"error": {"message": exc.message, "code": exc.status_code}}, exc.status_code)
    await world.clock.settle()
    return JSONResponse(
        {
            "redirect": dialog360_partner.connect_redirect(redirect_url, number),
            "client_id": result["client_id"],
            "channel_id": result["channel_id"],
        }
    )
