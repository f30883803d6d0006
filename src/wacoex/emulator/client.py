"""Python client for the emulator's control API (``/_emulator``): one method per route.

Async, over any ``httpx.AsyncClient`` — a real base URL, or an ``httpx.ASGITransport`` into
``create_app(...)`` in-process::

    async with httpx.AsyncClient(base_url="http://127.0.0.1:8081") as http:
        emu = EmulatorClient(http)
        number = await emu.create_number(display_phone_number="15550783881", onboarded=True)
        await emu.customer_send("16505551234", to=number["phone_number_id"], text="hi")
        await emu.advance("+24h")

Errors raise ``EmulatorError`` with the HTTP status and the JSON answer.
"""

from __future__ import annotations

from typing import Any

import httpx

Json = dict[str, Any]


class EmulatorError(Exception):
    """A control route refused the request."""

    def __init__(self, status_code: int, body: Any) -> None:
        super().__init__(f"{status_code}: {body}")
        self.status_code = status_code
        self.body = body


class EmulatorClient:
    """Drives a running emulator (platform routes and people routes)."""

    def __init__(self, http: httpx.AsyncClient, prefix: str = "/_emulator") -> None:
        self.http = http
        self.prefix = prefix

    async def _call(
        self, method: str, path: str, json: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        response = await self.http.request(method, self.prefix + path, json=json, params=clean or None)
        try:
            body = response.json()
        except ValueError:
            body = response.text
        if response.status_code >= 400:
            raise EmulatorError(response.status_code, body)
        return body

    # -- numbers, customers, templates, codes -------------------------------------------------------
    async def create_number(self, **fields: Any) -> Json:
        """Fields of a number; ``onboarded=True`` for a connected coexistence number."""
        result: Json = await self._call("POST", "/numbers", fields)
        return result

    async def list_numbers(self) -> list[Json]:
        return list((await self._call("GET", "/numbers"))["data"])

    async def get_number(self, phone_number_id: str) -> Json:
        result: Json = await self._call("GET", f"/numbers/{phone_number_id}")
        return result

    async def patch_number(self, phone_number_id: str, **fields: Any) -> Json:
        result: Json = await self._call("PATCH", f"/numbers/{phone_number_id}", fields)
        return result

    async def create_customer(self, wa_id: str, name: str = "", **fields: Any) -> Json:
        result: Json = await self._call("POST", "/customers", {"wa_id": wa_id, "name": name, **fields})
        return result

    async def list_customers(self) -> list[Json]:
        return list((await self._call("GET", "/customers"))["data"])

    async def create_template(self, name: str, language: str, category: str, **fields: Any) -> Json:
        """``waba_id`` or ``phone_number_id``; ``status`` (default APPROVED); ``components``."""
        body = {"name": name, "language": language, "category": category, **fields}
        result: Json = await self._call("POST", "/templates", body)
        return result

    async def list_templates(self) -> list[Json]:
        return list((await self._call("GET", "/templates"))["data"])

    async def create_oauth_code(self, **owner: Any) -> Json:
        """``business_id``, ``waba_id`` or ``phone_number_id``: a 30-second Embedded Signup code."""
        result: Json = await self._call("POST", "/oauth/codes", owner)
        return result

    async def messages(
        self,
        *,
        phone_number_id: str | None = None,
        wa_id: str | None = None,
        origin: str | None = None,
        direction: str | None = None,
    ) -> list[Json]:
        """Every message the world holds (oldest first); ``origin`` api / business_app / customer."""
        params = {
            "phone_number_id": phone_number_id,
            "wa_id": wa_id,
            "origin": origin,
            "direction": direction,
        }
        return list((await self._call("GET", "/messages", params=params))["data"])

    async def get_message(self, wamid: str) -> Json:
        result: Json = await self._call("GET", f"/messages/{wamid}")
        return result

    # -- clock -------------------------------------------------------------------------------------
    async def clock(self) -> Json:
        result: Json = await self._call("GET", "/clock")
        return result

    async def advance(self, by: str | float) -> Json:
        """``"+24h"``, ``"+14d"``, ``"90s"`` or seconds; runs everything that falls due."""
        body = {"by": by} if isinstance(by, str) else {"seconds": by}
        result: Json = await self._call("POST", "/clock/advance", body)
        return result

    async def flush(self) -> Json:
        result: Json = await self._call("POST", "/flush")
        return result

    # -- faults, ledger, webhook log, config -------------------------------------------------------
    async def add_faults(self, *specs: Json) -> Json:
        result: Json = await self._call("POST", "/faults", list(specs))
        return result

    async def list_faults(self) -> list[Json]:
        return list((await self._call("GET", "/faults"))["faults"])

    async def clear_faults(self, fault_id: int | None = None) -> Json:
        path = "/faults" if fault_id is None else f"/faults/{fault_id}"
        result: Json = await self._call("DELETE", path)
        return result

    async def ledger(self, phone_number_id: str | None = None, *, wa_id: str | None = None) -> Json:
        """``{entries: [{wamid, phone_number_id, wa_id, category, billable, pricing_type, amount,
        currency, at, charged, ...}], totals, count_by_category}``."""
        params = {"phone_number_id": phone_number_id, "wa_id": wa_id}
        result: Json = await self._call("GET", "/ledger", params=params)
        return result

    async def refusals(self, *, phone_number_id: str | None = None, code: int | None = None) -> Json:
        """Sends refused with a Graph error: ``{data: [{at, phone_number_id, to, code, title}],
        count_by_code: {"130429": n, ...}}``."""
        params = {"phone_number_id": phone_number_id, "code": code}
        result: Json = await self._call("GET", "/refusals", params=params)
        return result

    async def webhooks(
        self,
        *,
        field: str | None = None,
        phone_number_id: str | None = None,
        state: str | None = None,
        since_id: int = 0,
        body: bool = True,
    ) -> list[Json]:
        params = {
            "field": field,
            "phone_number_id": phone_number_id,
            "state": state,
            "since_id": since_id,
            "body": str(body).lower(),
        }
        return list((await self._call("GET", "/webhooks", params=params))["data"])

    async def config(self) -> Json:
        result: Json = await self._call("GET", "/config")
        return result

    async def patch_config(self, **fields: Any) -> Json:
        result: Json = await self._call("PATCH", "/config", fields)
        return result

    async def reset(self) -> Json:
        result: Json = await self._call("POST", "/reset")
        return result

    # -- customers (people routes) -----------------------------------------------------------------
    async def customer_send(
        self, wa_id: str, *, to: str, type: str | None = None, content: Any = None, **extra: Any
    ) -> Json:
        """A customer message: ``text="hi"``, or ``type`` + ``content``; ``referral``, ``context``..."""
        body: Json = {"to": to, **extra}
        if type is not None:
            body["type"] = type
            body[type] = content
        result: Json = await self._call("POST", f"/customers/{wa_id}/send", body)
        return result

    async def customer_read(
        self, wa_id: str, *, wamid: str | None = None, phone_number_id: str | None = None
    ) -> Json:
        body = {k: v for k, v in {"wamid": wamid, "phone_number_id": phone_number_id}.items() if v}
        result: Json = await self._call("POST", f"/customers/{wa_id}/read", body)
        return result

    async def customer_play(self, wa_id: str, wamid: str) -> Json:
        result: Json = await self._call("POST", f"/customers/{wa_id}/play", {"wamid": wamid})
        return result

    async def customer_fail(
        self, wa_id: str, wamid: str, *, code: int = 131049, details: str | None = None
    ) -> Json:
        body = {"wamid": wamid, "code": code, "details": details}
        result: Json = await self._call("POST", f"/customers/{wa_id}/fail", body)
        return result

    async def customer_edit(
        self, wa_id: str, wamid: str, *, text: str | None = None, caption: str | None = None
    ) -> Json:
        body = {"wamid": wamid, "text": text, "caption": caption}
        result: Json = await self._call("POST", f"/customers/{wa_id}/edit", body)
        return result

    async def customer_revoke(self, wa_id: str, wamid: str) -> Json:
        result: Json = await self._call("POST", f"/customers/{wa_id}/revoke", {"wamid": wamid})
        return result

    async def customer_react(self, wa_id: str, wamid: str, emoji: str) -> Json:
        result: Json = await self._call("POST", f"/customers/{wa_id}/react", {"wamid": wamid, "emoji": emoji})
        return result

    # -- the phone (people routes) -----------------------------------------------------------------
    async def app_send(
        self,
        phone_number_id: str,
        *,
        to: str,
        type: str | None = None,
        content: Any = None,
        device: str = "primary",
        **extra: Any,
    ) -> Json:
        """The owner sends from the Business app or a companion (``device``)."""
        body: Json = {"to": to, "device": device, **extra}
        if type is not None:
            body["type"] = type
            body[type] = content
        result: Json = await self._call("POST", f"/numbers/{phone_number_id}/app/send", body)
        return result

    async def app_edit(
        self,
        phone_number_id: str,
        wamid: str,
        *,
        text: str | None = None,
        caption: str | None = None,
        device: str = "primary",
    ) -> Json:
        body = {"wamid": wamid, "text": text, "caption": caption, "device": device}
        result: Json = await self._call("POST", f"/numbers/{phone_number_id}/app/edit", body)
        return result

    async def app_revoke(self, phone_number_id: str, wamid: str, *, device: str = "primary") -> Json:
        body = {"wamid": wamid, "device": device}
        result: Json = await self._call("POST", f"/numbers/{phone_number_id}/app/revoke", body)
        return result

    async def app_contact(
        self,
        phone_number_id: str,
        phone_number: str,
        *,
        action: str = "add",
        full_name: str | None = None,
        first_name: str | None = None,
    ) -> Json:
        body = {
            "action": action,
            "phone_number": phone_number,
            "full_name": full_name,
            "first_name": first_name,
        }
        result: Json = await self._call("POST", f"/numbers/{phone_number_id}/app/contacts", body)
        return result

    async def app_contacts(self, phone_number_id: str) -> list[Json]:
        return list((await self._call("GET", f"/numbers/{phone_number_id}/app/contacts"))["contacts"])

    async def app_open(self, phone_number_id: str, device: str = "primary") -> Json:
        result: Json = await self._call("POST", f"/numbers/{phone_number_id}/app/open", {"device": device})
        return result

    async def app_device(self, phone_number_id: str, kind: str, *, action: str = "link") -> Json:
        body = {"kind": kind, "action": action}
        result: Json = await self._call("POST", f"/numbers/{phone_number_id}/app/devices", body)
        return result

    async def app_devices(self, phone_number_id: str) -> list[Json]:
        return list((await self._call("GET", f"/numbers/{phone_number_id}/app/devices"))["devices"])

    async def app_disconnect(self, phone_number_id: str) -> Json:
        result: Json = await self._call("POST", f"/numbers/{phone_number_id}/app/disconnect")
        return result

    async def app_change_number(
        self, phone_number_id: str, new_display_phone_number: str | None = None
    ) -> Json:
        body = {"new_display_phone_number": new_display_phone_number}
        result: Json = await self._call("POST", f"/numbers/{phone_number_id}/app/change-number", body)
        return result

    async def app_re_register(self, phone_number_id: str) -> Json:
        result: Json = await self._call("POST", f"/numbers/{phone_number_id}/app/re-register")
        return result

    async def app_downgrade(self, phone_number_id: str) -> Json:
        result: Json = await self._call("POST", f"/numbers/{phone_number_id}/app/downgrade")
        return result

    async def app_chats(self, phone_number_id: str) -> list[Json]:
        return list((await self._call("GET", f"/numbers/{phone_number_id}/app/chats"))["chats"])

    async def app_chat(self, phone_number_id: str, wa_id: str, *, device: str = "primary") -> list[Json]:
        path = f"/numbers/{phone_number_id}/app/chats/{wa_id}"
        return list((await self._call("GET", path, params={"device": device}))["messages"])

    async def app_history(
        self, phone_number_id: str, chats: list[Json] | None = None, *, generate: Json | None = None
    ) -> Json:
        body = {"chats": chats or [], "generate": generate}
        result: Json = await self._call("POST", f"/numbers/{phone_number_id}/app/history", body)
        return result

    async def onboard(self, phone_number_id: str, *, share_history: bool = True) -> Json:
        body = {"share_history": share_history}
        result: Json = await self._call("POST", f"/numbers/{phone_number_id}/onboard", body)
        return result

    async def sync_history(self, phone_number_id: str) -> Json:
        result: Json = await self._call("POST", f"/numbers/{phone_number_id}/sync/history")
        return result

    async def load_scenario(self, yaml_text: str, *, play: bool = False) -> Json:
        response = await self.http.post(
            self.prefix + "/scenarios",
            content=yaml_text.encode(),
            params={"play": str(play).lower()},
            headers={"content-type": "application/yaml"},
        )
        body = response.json()
        if response.status_code >= 400:
            raise EmulatorError(response.status_code, body)
        return dict(body)
