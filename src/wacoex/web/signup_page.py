"""The HTML of the signup link's pages: the business owner's page, its error pages, "switching back".

Plain HTML, inline JavaScript and a little CSS; the one external asset is Meta's JavaScript SDK
(WACOEX_ES_SDK_URL). Server text is HTML-escaped; the page's settings reach the script as JSON with
`<` escaped, and the script writes what the gateway answers with `textContent` only.

The script: "Check" posts the number to `/onboarding/signup/check`; "Connect" runs `FB.login` for the
WhatsApp Business app onboarding. Session events are read from the allowed origins only
(WACOEX_ES_ORIGINS), as JSON strings; FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING gives the WABA id, the
login callback the code (in either order), and with both the page posts `/onboarding/signup/complete`.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from wacoex.domain.eligibility import COEXISTENCE_LIMITS


@dataclass(frozen=True, slots=True)
class PageConfig:
    token: str
    app_id: str
    config_id: str
    graph_version: str
    sdk_url: str
    origins: tuple[str, ...]
    expires_at: float  # epoch seconds


_STYLE = """
  body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem;
         line-height: 1.45; color: #1c1c1c; }
  h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 1.8rem; }
  input { font-size: 1rem; padding: 0.35rem; width: 14rem; }
  button { font-size: 1rem; padding: 0.4rem 0.9rem; }
  .good { color: #0a6b2d; } .bad { color: #b00020; } .muted { color: #555; font-size: 0.9rem; }
  li { margin: 0.3rem 0; }
"""

_SWITCH_BACK = """
<p>You can stop this connection at any time and keep only the WhatsApp Business app: in the app, open
<strong>Settings › Account › Business Platform</strong>, tap <strong>Disconnect Account</strong> and
confirm. The app, your number and the chats on your phone stay as they are, including the messages
the business's systems sent.</p>
<p><strong>What is kept:</strong> every conversation and message recorded while the number was
connected stays in wacoex. <strong>What is not:</strong> messages written after you disconnect never
reach it, and the one-time imports of your contacts and chat history (within 24 hours of connecting)
can be had again only by connecting the number again, which is a new onboarding.</p>
"""

_SCRIPT = """
(function () {
  "use strict";
  var C = __CONFIG__;
  var state = {phone: null, code: null, wabaId: null, sent: false, cancelled: false};
  var SYNC_NAMES = {smb_app_state_sync: "Contacts", history: "Chat history"};

  function el(id) { return document.getElementById(id); }
  function say(id, text, kind) { var e = el(id); e.textContent = text; e.className = kind || ""; }

  function post(url, payload) {
    return fetch(url, {method: "POST", headers: {"content-type": "application/json"},
                       body: JSON.stringify(payload), credentials: "omit"})
      .then(function (r) {
        return r.json().catch(function () { return null; })
          .then(function (data) { return {ok: r.ok, status: r.status, data: data}; });
      })
      .catch(function () { return {ok: false, status: 0, data: null}; });
  }

  function problem(r) {
    if (r.data && r.data.error && r.data.error.message) { return r.data.error.message; }
    if (r.status === 0) { return "The gateway could not be reached: check your connection and try again."; }
    return "The gateway answered with an error (HTTP " + r.status + "); try again later.";
  }

  el("check-form").addEventListener("submit", function (event) {
    event.preventDefault();
    state.phone = null;
    el("connect-step").hidden = true;
    say("eligibility", "Checking…");
    post(C.check, {t: C.token, phone: el("phone").value}).then(function (r) {
      if (!r.ok) { say("eligibility", problem(r), "bad"); return; }
      var d = r.data;
      if (!d.eligible) { say("eligibility", d.refusal, "bad"); return; }
      state.phone = d.phone;
      var where = d.country ? " (" + d.country + ")" : "";
      say("eligibility", "+" + d.phone + where + " can be connected.", "good");
      el("connect-step").hidden = false;
    });
  });

  window.addEventListener("message", function (event) {
    if (C.origins.indexOf(event.origin) < 0 || typeof event.data !== "string") { return; }
    var info;
    try { info = JSON.parse(event.data); } catch (e) { return; }
    if (!info || info.type !== "WA_EMBEDDED_SIGNUP") { return; }
    var data = info.data || {};
    if (info.event === "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING" && data.waba_id) {
      state.wabaId = String(data.waba_id);
      say("status", "Meta has set up your business account (" + state.wabaId + "). Connecting…");
      complete();
    } else if (info.event === "CANCEL") {
      state.cancelled = true;
      var why = data.error_message ? ": " + data.error_message : "";
      var step = data.current_step ? " at step " + data.current_step : "";
      say("status", "The connection was cancelled" + step + why + ". You can try again.", "bad");
    }
  });

  window.fbAsyncInit = function () {
    FB.init({appId: C.appId, autoLogAppEvents: true, xfbml: false, version: C.graphVersion});
  };

  el("connect").addEventListener("click", function () {
    if (typeof FB === "undefined") {
      say("status", "Meta's sign-in could not be loaded: allow this page to load it and reload.", "bad");
      return;
    }
    state.code = null; state.wabaId = null; state.sent = false; state.cancelled = false;
    el("result").hidden = true;
    say("status", "Follow the steps in Meta's window…");
    FB.login(function (response) {
      if (response && response.authResponse && response.authResponse.code) {
        state.code = response.authResponse.code;
        complete();
      } else if (!state.cancelled) {
        say("status", "The connection was not finished (Meta's window was closed). Try again.", "bad");
      }
    }, {
      config_id: C.configId, response_type: "code", override_default_response_type: true,
      extras: {setup: {}, featureType: "whatsapp_business_app_onboarding", sessionInfoVersion: "3"}
    });
  });

  function complete() {
    if (!state.code || !state.wabaId || state.sent) { return; }
    state.sent = true;
    var payload = {t: C.token, code: state.code, waba_id: state.wabaId};
    if (state.phone) { payload.phone = state.phone; }
    post(C.complete, payload).then(function (r) {
      if (!r.ok) { say("status", problem(r), "bad"); return; }
      show(r.data);
    });
  }

  function show(d) {
    var again = d.created ? "" : " (it was connected before: connected again)";
    var name = d.verified_name ? " · " + d.verified_name : "";
    say("status", "Connected: +" + d.display_phone_number + name + again + ".", "good");
    var list = el("syncs");
    list.textContent = "";
    (d.onboarding && d.onboarding.syncs || []).forEach(function (s) {
      var item = document.createElement("li");
      item.textContent = (SYNC_NAMES[s.kind] || s.kind) + ": " + s.state + " — " + s.explained;
      list.appendChild(item);
    });
    el("result").hidden = false;
  }
}());
"""


def _script_json(value: object) -> str:
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _layout(title: str, body: str, *, head: str = "") -> str:
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n{head}</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n{body}\n</body>\n</html>\n"
    )


def _limits(limits: Sequence[str]) -> str:
    return "\n".join(f"<li>{html.escape(limit)}</li>" for limit in limits)


def signup_page(config: PageConfig, limits: Sequence[str] = COEXISTENCE_LIMITS) -> str:
    """The business owner's page: what coexistence is, its limits, check, connect, the outcome."""
    until = datetime.fromtimestamp(config.expires_at, tz=UTC).strftime("%d %B %Y, %H:%M UTC")
    script_config = {
        "token": config.token,
        "appId": config.app_id,
        "configId": config.config_id,
        "graphVersion": config.graph_version,
        "origins": list(config.origins),
        "check": "/onboarding/signup/check",
        "complete": "/onboarding/signup/complete",
    }
    body = f"""
<p>This page connects the number of your <strong>WhatsApp Business app</strong> to this business's
messaging gateway. It is called <em>coexistence</em>: you keep using the app on your phone as today,
and the business's systems can also send and receive messages on the same number through Meta's
WhatsApp Cloud API. Every message, from the app or from the systems, is recorded in one place.</p>

<h2>Before you start: what changes</h2>
<ul id="limits">
{_limits(limits)}
</ul>

<h2>1. Check your number</h2>
<form id="check-form">
  <label for="phone">Your WhatsApp Business app number, with its country code</label><br>
  <input id="phone" name="phone" type="tel" autocomplete="tel" placeholder="+44 7700 900123" required>
  <button id="check" type="submit">Check</button>
</form>
<p id="eligibility" role="status"></p>

<div id="connect-step" hidden>
<h2>2. Connect</h2>
<p>Meta opens a window: sign in with Facebook, pick your business, enter the same number, and confirm
on your phone in the WhatsApp Business app. You can choose whether to share your chat history.</p>
<button id="connect" type="button">Connect WhatsApp Business app</button>
</div>
<p id="status" role="status"></p>

<div id="result" hidden>
<h2>Your one-time imports</h2>
<ul id="syncs"></ul>
<p>Keep opening the WhatsApp Business app regularly (see the limits above).</p>
</div>

<h2>Switching back</h2>
<p>You can go back to the app alone whenever you like.
<a id="switch-back" href="/onboarding/switch-back">How to switch back, and what is kept</a>.</p>
<p class="muted">This link works until {html.escape(until)}.</p>
<script>{_SCRIPT.replace("__CONFIG__", _script_json(script_config))}</script>
<script async defer src="{html.escape(config.sdk_url, quote=True)}"></script>
"""
    return _layout("Connect your WhatsApp Business app", body)


def error_page(title: str, sentence: str) -> str:
    """A bad or expired link: what happened, and to ask for a new link."""
    return _layout(title, f'<p id="error" class="bad">{html.escape(sentence)}</p>')


def not_configured_page(missing: Sequence[str]) -> str:
    names = ", ".join(missing)
    sentence = (
        "Onboarding is not configured on this gateway yet, so the number cannot be connected from "
        f"here. Its administrator must set {names}; then open this link again."
    )
    return error_page("Onboarding is not available", sentence)


def switch_back_page() -> str:
    return _layout("Switching back to the WhatsApp Business app alone", _SWITCH_BACK)
