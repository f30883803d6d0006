"""The browser half of the Embedded Signup stand-in: sdk.js (window.FB) and the dialog page.

Plain JavaScript and HTML with no external assets; embedded_signup.py fills the ``__CONFIG__`` /
``__CONTEXT__`` placeholders with JSON (``<`` escaped) and the page's texts with escaped HTML.

Messages to ``window.opener`` (target origin ``"*"``), from the emulator's own origin:

- the session-info event as a JSON *string*, exactly as Meta posts it:
  ``{"data": {"waba_id"}, "type": "WA_EMBEDDED_SIGNUP", "event": "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING",
  "version": "3"}`` or ``{"type": "WA_EMBEDDED_SIGNUP", "event": "CANCEL", "data": {"current_step",
  "error_message"?}, "version": "3"}``;
- then a private object for sdk.js, ``{"wacoexEmulator": "fb_login", "authResponse": {code, userID,
  expiresIn} | null, "status": "connected" | "unknown"}``, upon which sdk.js calls the FB.login callback.
"""

from __future__ import annotations

SDK_JS = """/* wacoex emulator: a stand-in for Meta's JavaScript SDK (FB.init, FB.login). */
(function () {
  "use strict";
  var CONFIG = __CONFIG__;
  var state = {appId: null, version: null, callback: null, popup: null, timer: null};

  function finish(response) {
    var callback = state.callback;
    state.callback = null;
    if (state.timer !== null) {
      clearInterval(state.timer);
      state.timer = null;
    }
    if (typeof callback === "function") {
      callback(response);
    }
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== CONFIG.origin) {
      return;
    }
    var data = event.data;
    if (!data || typeof data !== "object" || data.wacoexEmulator !== "fb_login") {
      return;
    }
    if (data.authResponse) {
      finish({authResponse: data.authResponse, status: "connected"});
    } else {
      finish({authResponse: null, status: "unknown"});
    }
  });

  function watchPopup() {
    state.timer = setInterval(function () {
      if (state.popup && state.popup.closed && state.callback) {
        clearInterval(state.timer);
        state.timer = null;
        setTimeout(function () {
          if (state.callback) {
            finish({authResponse: null, status: "unknown"});
          }
        }, 500);
      }
    }, 250);
  }

  window.FB = {
    init: function (params) {
      params = params || {};
      state.appId = params.appId === undefined || params.appId === null ? null : String(params.appId);
      state.version = params.version || null;
      if (state.appId !== CONFIG.appId) {
        console.error("FB.init: appId " + state.appId + " is not the emulator's app (" + CONFIG.appId + ")");
      }
    },
    login: function (callback, options) {
      options = options || {};
      if (state.appId === null) {
        console.error("FB.login() called before FB.init().");
        if (typeof callback === "function") {
          callback({authResponse: null, status: "unknown"});
        }
        return;
      }
      state.callback = callback;
      var url = CONFIG.origin + "/_emulator/es/dialog?app_id=" + encodeURIComponent(state.appId) +
        "&config_id=" + encodeURIComponent(options.config_id || "") +
        "&options=" + encodeURIComponent(JSON.stringify(options));
      state.popup = window.open(url, "wacoex_embedded_signup", "width=600,height=720");
      if (!state.popup) {
        finish({authResponse: null, status: "unknown"});
        return;
      }
      watchPopup();
    },
    getLoginStatus: function (callback) {
      callback({authResponse: null, status: "unknown"});
    },
    getAuthResponse: function () {
      return null;
    },
    AppEvents: {logPageView: function () {}}
  };

  if (typeof window.fbAsyncInit === "function") {
    window.fbAsyncInit();
  }
}());
"""

DIALOG_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Connect your WhatsApp Business app · wacoex emulator</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 32rem; margin: 2rem auto; padding: 0 1rem; }
  label { display: block; margin: 0.8rem 0; }
  #error { color: #b00020; }
  .hidden { display: none; }
</style>
</head>
<body>
<h1>Connect your WhatsApp Business app</h1>
<p>Embedded Signup for <strong>__APP_NAME__</strong> (emulator). Enter the number of the WhatsApp
Business app to connect it to the platform.</p>
<div id="form" class="__FORM_CLASS__">
  <label>Business phone number
    <input id="phone" name="phone" type="tel" autocomplete="tel" placeholder="+1 555 078 3881"></label>
  <label><input id="share-history" name="share_history" type="checkbox" checked> Share chats</label>
</div>
<p id="error" role="alert">__ERROR__</p>
<p id="done"></p>
<button id="connect" type="button" class="__FORM_CLASS__">Connect</button>
<button id="cancel" type="button">Cancel</button>
<script>
(function () {
  "use strict";
  var CONTEXT = __CONTEXT__;
  var settled = false;

  function post(message) {
    if (window.opener && !window.opener.closed) {
      window.opener.postMessage(message, "*");
    }
  }
  function finished(wabaId) {
    post(JSON.stringify({data: {waba_id: wabaId}, type: "WA_EMBEDDED_SIGNUP",
      event: "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING", version: CONTEXT.version}));
  }
  function cancelled(errorMessage) {
    var data = {current_step: CONTEXT.step};
    if (errorMessage) {
      data.error_message = errorMessage;
    }
    post(JSON.stringify({type: "WA_EMBEDDED_SIGNUP", event: "CANCEL", data: data, version: CONTEXT.version}));
  }
  function login(authResponse) {
    post({wacoexEmulator: "fb_login", authResponse: authResponse,
      status: authResponse ? "connected" : "unknown"});
  }
  function say(id, text) {
    document.getElementById(id).textContent = text;
  }
  function closeSoon() {
    setTimeout(function () { window.close(); }, 50);
  }

  if (CONTEXT.error) {
    settled = true;
    login(null);
  }

  document.getElementById("connect").addEventListener("click", function () {
    if (settled) {
      return;
    }
    say("error", "");
    var body = {
      phone: document.getElementById("phone").value,
      share_history: document.getElementById("share-history").checked,
      app_id: CONTEXT.app_id,
      config_id: CONTEXT.config_id
    };
    fetch("/_emulator/es/complete", {method: "POST", headers: {"content-type": "application/json"},
      body: JSON.stringify(body)})
      .then(function (response) {
        return response.json().then(function (answer) { return {ok: response.ok, answer: answer}; });
      })
      .then(function (result) {
        if (settled) {
          return;
        }
        if (!result.ok) {
          var error = result.answer.error || {message: "Something went wrong."};
          say("error", error.message);
          if (!error.retry) {
            settled = true;
            document.getElementById("connect").disabled = true;
            cancelled(error.message);
            login(null);
          }
          return;
        }
        settled = true;
        say("done", "Connected. You can go back to the app.");
        finished(result.answer.waba_id);
        login({code: result.answer.code, userID: result.answer.user_id,
          expiresIn: result.answer.expires_in});
        closeSoon();
      })
      .catch(function (exc) {
        say("error", "Could not reach the emulator: " + exc);
      });
  });

  document.getElementById("cancel").addEventListener("click", function () {
    if (!settled) {
      settled = true;
      cancelled(null);
      login(null);
    }
    closeSoon();
  });
}());
</script>
</body>
</html>
"""
