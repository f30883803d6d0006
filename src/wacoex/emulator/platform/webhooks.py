"""Webhook dispatcher: envelope, route, sign, POST, retry on the virtual clock, and keep a delivery log.

Routing (var/EMULATOR_CONTRACT.md): Meta numbers go to the phone-number override, else the WABA
override, else the app's callback URL, signed ``X-Hub-Signature-256`` with the app secret. 360dialog
numbers send ``history`` to the partner URL in the ``{id, event, data}`` envelope (signed
``x-360dialog-signature`` when a partner secret is set), ``smb_app_state_sync`` to the partner URL and
the number's URL, everything else to the number's URL in the Meta envelope with its custom headers.
A non-200 answer is retried with exponential backoff until the retry window (7 days) has passed.
Faults (duplicates, batching, reordering, delays, drops) are applied here.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import httpx

from wacoex.emulator.control.faults import FaultSet
from wacoex.emulator.world import Number, World

USER_AGENT = "facebookexternalua"


@dataclass
class Attempt:
    at: float
    status_code: int | None
    error: str | None = None
    response_body: str | None = None
    duration_ms: float = 0.0


@dataclass
class Route:
    kind: str  # "meta" | "360dialog_partner"
    url: str | None
    headers: dict[str, str]
    state: str = "pending"  # "unrouted" when there is no URL, "unsubscribed" when the app is not subscribed


@dataclass
class Delivery:
    id: int
    kind: str
    url: str | None
    fields: list[str]
    phone_number_id: str
    waba_id: str
    body: bytes
    headers: dict[str, str]
    created_at: float
    state: str = "pending"
    attempts: list[Attempt] = field(default_factory=list)
    next_attempt_at: float | None = None
    duplicate_of: int | None = None

    def to_json(self, *, with_body: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "url": self.url,
            "fields": self.fields,
            "phone_number_id": self.phone_number_id,
            "waba_id": self.waba_id,
            "state": self.state,
            "created_at": self.created_at,
            "next_attempt_at": self.next_attempt_at,
            "duplicate_of": self.duplicate_of,
            "headers": self.headers,
            "attempts": [a.__dict__ for a in self.attempts],
        }
        if with_body:
            out["body"] = json.loads(self.body)
        return out


@dataclass
class _Pending:
    """A payload waiting in a batch or reorder buffer."""

    route: Route
    payload: dict[str, Any]
    fields: list[str]
    phone_number_id: str
    waba_id: str
    at: float


class Dispatcher:
    """Turns ``Runtime.emit`` calls into signed HTTP deliveries on the world's clock."""

    def __init__(self, world: World, faults: FaultSet) -> None:
        self.world = world
        self.faults = faults
        self.client: httpx.AsyncClient | None = None
        self.log: OrderedDict[int, Delivery] = OrderedDict()
        self._ids = itertools.count(1)
        self._batches: dict[tuple[str, str | None], list[_Pending]] = {}
        self._held: list[Delivery] = []
        self.emitted = 0

    # -- HTTP client --------------------------------------------------------------------------
    def http(self) -> httpx.AsyncClient:
        if self.client is None:
            self.client = httpx.AsyncClient(timeout=self.world.config.webhook_timeout)
        return self.client

    # -- routing ------------------------------------------------------------------------------
    def routes(self, number: Number, field: str) -> list[Route]:
        world = self.world
        waba = world.wabas[number.waba_id]
        if number.provider == "360dialog":
            partner = Route("360dialog_partner", world.config.d360_partner_webhook_url, {})
            phone = Route("meta", number.webhook_url, dict(number.webhook_headers))
            if field == "history":
                found = [partner]
            elif field == "smb_app_state_sync":
                found = [partner, phone]
            else:
                found = [phone]
        else:
            url = number.webhook_url or waba.override_callback_uri or world.config.webhook_url
            found = [Route("meta", url, {})]
            if not waba.subscribed:
                found[0].state = "unsubscribed"
        for route in found:
            if route.url is None and route.state == "pending":
                route.state = "unrouted"
        return found

    # -- emitting -----------------------------------------------------------------------------
    def emit(
        self, phone_number_id: str, field: str, value: dict[str, Any], *, at: float | None = None
    ) -> None:
        number = self.world.numbers[phone_number_id]
        when = self.world.clock.now() if at is None else at
        for route in self.routes(number, field):
            payload = self._envelope(route, number, field, value, when)
            self._submit(_Pending(route, payload, [field], phone_number_id, number.waba_id, when))

    def emit_partner(self, phone_number_id: str, event: str, data: dict[str, Any]) -> None:
        """A 360dialog Partner Hub event (``channel_created``...) to the partner webhook URL, as
        ``{id, event, data}``, signed like the partner's history webhooks."""
        number = self.world.numbers[phone_number_id]
        url = self.world.config.d360_partner_webhook_url
        route = Route("360dialog_partner", url, {}, "pending" if url else "unrouted")
        now = self.world.clock.now()
        payload = {"id": secrets.token_hex(16), "event": event, "data": data}
        self._submit(_Pending(route, payload, [event], phone_number_id, number.waba_id, now))

    def emit_waba(self, waba_id: str, field: str, value: dict[str, Any]) -> None:
        """WABA-level fields (template status updates) that belong to no single number."""
        waba = self.world.wabas[waba_id]
        url = waba.override_callback_uri or self.world.config.webhook_url
        route = Route("meta", url, {}, "pending" if url else "unrouted")
        now = self.world.clock.now()
        payload = {
            "object": "whatsapp_business_account",
            "entry": [{"id": waba_id, "time": int(now), "changes": [{"value": value, "field": field}]}],
        }
        self._submit(_Pending(route, payload, [field], "", waba_id, now))

    def _envelope(
        self, route: Route, number: Number, field: str, value: dict[str, Any], when: float
    ) -> dict[str, Any]:
        if route.kind == "360dialog_partner":
            return {"id": secrets.token_hex(16), "event": field, "data": {**value, "id": number.waba_id}}
        entry: dict[str, Any] = {"id": number.waba_id}
        if field == "account_update":
            entry["time"] = int(when)
        entry["changes"] = [{"value": value, "field": field}]
        return {"object": "whatsapp_business_account", "entry": [entry]}

    def _submit(self, pending: _Pending) -> None:
        self.emitted += 1
        faults = self.faults
        batch = None
        if pending.route.kind == "meta" and pending.route.state == "pending":
            batch = faults.take("batch", field=pending.fields[0], phone_number_id=pending.phone_number_id)
        if batch is None:
            self._enqueue(pending)
            return
        key = (pending.route.kind, pending.route.url)
        buffer = self._batches.setdefault(key, [])
        buffer.append(pending)
        size = int(batch.params.get("size", 2))
        if len(buffer) >= size:
            self._flush_batch(key, str(batch.params.get("mode", "entries")))
        elif len(buffer) == 1:
            mode = str(batch.params.get("mode", "entries"))
            wait = float(batch.params.get("max_wait", 1.0))
            self.world.clock.call_later(wait, lambda: self._flush_batch(key, mode))

    def _flush_batch(self, key: tuple[str, str | None], mode: str) -> None:
        items = self._batches.pop(key, [])
        if not items:
            return
        first = items[0]
        entries: list[dict[str, Any]] = []
        for item in items:
            for entry in item.payload["entry"]:
                same = entries and mode == "changes" and entries[-1]["id"] == entry["id"]
                if same and ("time" in entries[-1]) == ("time" in entry):
                    entries[-1]["changes"].extend(entry["changes"])
                else:
                    entries.append({**entry, "changes": list(entry["changes"])})
        payload = {"object": "whatsapp_business_account", "entry": entries}
        fields = [f for item in items for f in item.fields]
        self._enqueue(
            _Pending(
                first.route, payload, fields, first.phone_number_id, first.waba_id, max(i.at for i in items)
            )
        )

    def _enqueue(self, pending: _Pending) -> None:
        world = self.world
        body = json.dumps(
            pending.payload, ensure_ascii=world.config.escape_unicode, separators=(",", ":")
        ).encode()
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **pending.route.headers}
        if pending.route.kind == "360dialog_partner":
            secret = world.config.d360_partner_secret
            if secret:
                headers["x-360dialog-signature"] = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        elif (
            world.numbers.get(pending.phone_number_id) is None
            or world.numbers[pending.phone_number_id].provider == "meta"
        ):
            digest = hmac.new(world.config.app_secret.encode(), body, hashlib.sha256).hexdigest()
            headers["X-Hub-Signature-256"] = f"sha256={digest}"
        at = pending.at
        field = pending.fields[0]
        delay = self.faults.take("delay", field=field, phone_number_id=pending.phone_number_id)
        if delay is not None:
            at += float(delay.params.get("seconds", 5.0))
        delivery = self._record(pending, body, headers)
        if delivery.state != "pending":
            return
        copies = [delivery]
        duplicate = self.faults.take("duplicate", field=field, phone_number_id=pending.phone_number_id)
        if duplicate is not None:
            for _ in range(int(duplicate.params.get("count", 1))):
                copy = self._record(pending, body, headers)
                copy.duplicate_of = delivery.id
                copies.append(copy)
        reorder = self.faults.take("reorder", field=field, phone_number_id=pending.phone_number_id)
        if reorder is not None:
            self._held.extend(copies)
            window = int(reorder.params.get("window", 2))
            if len(self._held) >= window:
                self.release_held()
            elif len(self._held) == len(copies):
                world.clock.call_later(float(reorder.params.get("max_wait", 1.0)), self.release_held)
            return
        for item in copies:
            self._schedule(item, at)

    def release_held(self) -> None:
        """Send held deliveries newest first (the reorder fault)."""
        held, self._held = self._held, []
        now = self.world.clock.now()
        for delivery in reversed(held):
            self._schedule(delivery, now)

    def _record(self, pending: _Pending, body: bytes, headers: dict[str, str]) -> Delivery:
        delivery = Delivery(
            id=next(self._ids),
            kind=pending.route.kind,
            url=pending.route.url,
            fields=pending.fields,
            phone_number_id=pending.phone_number_id,
            waba_id=pending.waba_id,
            body=body,
            headers=headers,
            created_at=self.world.clock.now(),
            state=pending.route.state,
        )
        self.log[delivery.id] = delivery
        while len(self.log) > self.world.config.max_log:
            self.log.popitem(last=False)
        return delivery

    def _schedule(self, delivery: Delivery, at: float) -> None:
        delivery.next_attempt_at = at
        self.world.clock.call_at(at, lambda: self.attempt(delivery))

    # -- delivering ---------------------------------------------------------------------------
    async def attempt(self, delivery: Delivery) -> None:
        world = self.world
        now = world.clock.now()
        delivery.next_attempt_at = None
        drop = self.faults.take("drop", field=delivery.fields[0], phone_number_id=delivery.phone_number_id)
        if drop is not None:
            delivery.attempts.append(Attempt(now, None, "dropped by fault"))
            self._retry_or_fail(delivery)
            return
        assert delivery.url is not None
        timeout = (
            5.0
            if delivery.kind == "360dialog_partner" or self._is_360(delivery)
            else world.config.webhook_timeout
        )
        started = _monotonic()
        try:
            response = await self.http().post(
                delivery.url, content=delivery.body, headers=delivery.headers, timeout=timeout
            )
        except httpx.HTTPError as exc:
            delivery.attempts.append(Attempt(now, None, f"{type(exc).__name__}: {exc}", None, _ms(started)))
            self._retry_or_fail(delivery)
            return
        text = response.text[:2000]
        delivery.attempts.append(Attempt(now, response.status_code, None, text, _ms(started)))
        if response.status_code == 200:
            delivery.state = "delivered"
        else:
            self._retry_or_fail(delivery)

    def _is_360(self, delivery: Delivery) -> bool:
        number = self.world.numbers.get(delivery.phone_number_id)
        return number is not None and number.provider == "360dialog"

    def _retry_or_fail(self, delivery: Delivery) -> None:
        config = self.world.config
        now = self.world.clock.now()
        first = delivery.attempts[0].at
        n = len(delivery.attempts)
        wait = min(config.retry_base * (2 ** (n - 1)), config.retry_max_interval)
        if now + wait - first > config.retry_window:
            delivery.state = "failed"
            return
        delivery.state = "retrying"
        self._schedule(delivery, now + wait)

    # -- reading the log ----------------------------------------------------------------------
    def deliveries(
        self, *, field: str | None = None, phone_number_id: str | None = None, state: str | None = None
    ) -> list[Delivery]:
        return [
            d
            for d in self.log.values()
            if (field is None or field in d.fields)
            and (phone_number_id is None or d.phone_number_id == phone_number_id)
            and (state is None or d.state == state)
        ]

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()
            self.client = None


def sign(secret: str, body: bytes) -> str:
    """``X-Hub-Signature-256`` value for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _monotonic() -> float:
    import time

    return time.perf_counter()


def _ms(started: float) -> float:
    return round((_monotonic() - started) * 1000, 3)
