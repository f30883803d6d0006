"""Over real sockets: the emulator and a webhook receiver served by uvicorn on 127.0.0.1, real time."""

from __future__ import annotations

import hashlib
import hmac

import httpx

from tests.emulator.conftest import AUTH, CUSTOMER, Receiver, serve, wait_for
from wacoex.emulator.app import create_app


def test_send_and_receive_webhooks_over_loopback_in_real_time() -> None:
    receiver = Receiver()
    with serve(receiver.app()) as receiver_url:
        app = create_app(webhook_url=f"{receiver_url}/hook", delivery_delay=0.2)
        with serve(app) as emulator_url, httpx.Client(base_url=emulator_url, timeout=10) as http:
            number = http.post(
                "/_emulator/numbers", json={"display_phone_number": "15550783881", "onboarded": True}
            ).json()
            pnid = number["phone_number_id"]
            http.post("/_emulator/customers", json={"wa_id": CUSTOMER, "name": "Sheena"})
            http.post(f"/_emulator/customers/{CUSTOMER}/send", json={"to": pnid, "text": {"body": "hi"}})
            body = {
                "messaging_product": "whatsapp",
                "to": CUSTOMER,
                "type": "text",
                "text": {"body": "hello"},
            }
            sent = http.post(f"/v23.0/{pnid}/messages", json=body, headers=AUTH)
            assert sent.status_code == 200
            wait_for(lambda: [s["status"] for s in receiver.statuses()] == ["sent", "delivered"])
    inbound = receiver.values("messages")[0]
    assert inbound["messages"][0]["text"]["body"] == "hi"
    for item in receiver.received:
        digest = hmac.new(b"emulator-app-secret", item.body, hashlib.sha256).hexdigest()
        assert item.headers["x-hub-signature-256"] == f"sha256={digest}"
