"""pywa 4.5.0, unmodified, against the emulator: it sends through an httpx transport and its own
FastAPI webhook handler (signature checked with the app secret) receives the emulator's webhooks."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pywa import WhatsApp
from pywa import errors as pywa_errors
from pywa import types as pywa_types

from tests.emulator.conftest import CUSTOMER, free_port, serve, wait_for
from wacoex.emulator.app import create_app

PNID = "106540352242922"
APP_SECRET = "emulator-app-secret"


class ToEmulator(httpx.BaseTransport):
    """peers-and-users.md §3.1: route graph.facebook.com to the emulator, public httpx API only."""

    def __init__(self, target: str) -> None:
        self._target = httpx.URL(target)
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(
            scheme=self._target.scheme, host=self._target.host, port=self._target.port
        )
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def test_pywa_sends_through_the_emulator_and_parses_its_signed_webhooks() -> None:
    emulator_port = free_port()
    session = httpx.Client(
        mounts={"https://graph.facebook.com": ToEmulator(f"http://127.0.0.1:{emulator_port}")}
    )
    server = FastAPI()
    wa = WhatsApp(
        phone_id=PNID,
        token="emulator-token",
        api_version="23.0",
        session=session,
        server=server,
        webhook_endpoint="/wa",
        verify_token="vt",
        app_secret=APP_SECRET,
    )
    received: list[Any] = []

    @wa.on_message
    def on_message(_: WhatsApp, msg: pywa_types.Message) -> None:
        received.append(msg)

    @wa.on_message_status
    def on_status(_: WhatsApp, status: pywa_types.MessageStatus) -> None:
        received.append(status)

    with serve(server) as receiver_url:
        app = create_app(webhook_url=f"{receiver_url}/wa", app_secret=APP_SECRET, delivery_delay=0.2)
        with serve(app, port=emulator_port) as emulator_url, httpx.Client(base_url=emulator_url) as control:
            control.post(
                "/_emulator/numbers",
                json={"display_phone_number": "15550783881", "onboarded": True, "phone_number_id": PNID},
            ).raise_for_status()
            control.post(
                "/_emulator/customers",
                json={"wa_id": CUSTOMER, "name": "Sheena", "user_id": "US.13491208655302741"},
            ).raise_for_status()

            with pytest.raises(pywa_errors.ReEngagementMessage):
                wa.send_message(to=CUSTOMER, text="too early")

            control.post(
                f"/_emulator/customers/{CUSTOMER}/send", json={"to": PNID, "text": {"body": "hi there"}}
            )
            wait_for(lambda: any(isinstance(u, pywa_types.Message) for u in received))
            inbound = next(u for u in received if isinstance(u, pywa_types.Message))
            assert inbound.text == "hi there"
            assert inbound.from_user.wa_id == CUSTOMER

            sent = wa.send_message(to=CUSTOMER, text="hello from pywa")
            wait_for(
                lambda: (
                    {s.status.value for s in received if isinstance(s, pywa_types.MessageStatus)}
                    >= {"sent", "delivered"}
                )
            )
    statuses = [s for s in received if isinstance(s, pywa_types.MessageStatus)]
    assert {s.id for s in statuses} == {sent.id}
    assert statuses[0].pricing is not None
    session.close()
