"""The Graph client and provider against the emulator over loopback, as Meta and as 360dialog."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from tests.emulator.conftest import serve
from wacoex.emulator.app import create_app as create_emulator
from wacoex.emulator.world import World, WorldConfig
from wacoex.errors import ProviderError
from wacoex.services.ports import NumberRef
from wacoex.services.provider_port import Upload
from wacoex.whatsapp.graph import GraphClient, GraphProvider

CUSTOMER = "16505551234"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))
KEYS = {"meta": "tok", "360dialog": "d360-key"}


def client_at(base: str, transport: httpx.BaseTransport | None = None, timeout: float = 10) -> GraphClient:
    return GraphClient(
        graph_base_url=f"{base}/v23.0",
        dialog360_base_url=base,
        connect_timeout=2,
        timeout=timeout,
        transport=transport,
    )


def ref(
    provider: str = "meta", *, pnid: str = "1001", waba_id: str = "2001", token: str = "tok"
) -> NumberRef:
    return NumberRef(
        id=1,
        phone_number_id=pnid,
        display_phone_number="15550783881",
        waba_id=waba_id,
        provider=provider,
        coexistence=True,
        state="connected",
        state_changed_at=None,
        access_token=token,
    )


class Emulated:
    def __init__(self, world: World, base: str, number: NumberRef) -> None:
        self.world = world
        self.base = base
        self.number = number
        self.provider = GraphProvider(client_at(base))

    def customer_writes(self, text: str = "hello") -> None:
        control = f"{self.base}/_emulator"
        httpx.post(f"{control}/customers", json={"wa_id": CUSTOMER, "name": "Sheena"}).raise_for_status()
        body = {"to": self.number.phone_number_id, "type": "text", "text": {"body": text}}
        httpx.post(f"{control}/customers/{CUSTOMER}/send", json=body).raise_for_status()


@pytest.fixture(params=["meta", "360dialog"])
def emulated(request: pytest.FixtureRequest) -> Iterator[Emulated]:
    provider = request.param
    world = World(WorldConfig(access_tokens=["tok"]))
    number = world.add_number(
        "15550783881", onboarded=True, access_token="tok", d360_api_key="d360-key", provider=provider
    )
    with serve(create_emulator(world, background=False)) as base:
        world.config.media_base_url = base
        emulated = Emulated(
            world,
            base,
            ref(provider, pnid=number.phone_number_id, waba_id=number.waba_id, token=KEYS[provider]),
        )
        yield emulated
        emulated.provider.close()


def text(body: str = "hi") -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": CUSTOMER, "type": "text", "text": {"body": body}}


def test_a_send_answers_the_wamid_and_the_emulator_holds_the_message(emulated: Emulated) -> None:
    emulated.customer_writes()
    accepted = emulated.provider.send_message(emulated.number, text("hello from the API"))
    assert accepted.wamid.startswith("wamid.")
    assert (accepted.wa_id, accepted.input) == (CUSTOMER, CUSTOMER)
    assert accepted.body["messages"][0]["id"] == accepted.wamid
    assert accepted.wamid in emulated.world.messages


def test_a_closed_window_is_refused_as_131047_with_the_graph_body_to_relay(emulated: Emulated) -> None:
    with pytest.raises(ProviderError) as caught:
        emulated.provider.send_message(emulated.number, text())
    err = caught.value
    assert (err.graph_code, err.http_status) == (131047, 400)
    assert not err.retryable
    assert not err.ambiguous
    assert err.details["error"] == "window_closed"
    assert err.details["body"]["error"]["code"] == 131047  # type: ignore[index]
    assert "template" in str(err.details["meaning"])


def test_mark_read_answers_success(emulated: Emulated) -> None:
    emulated.customer_writes()
    [inbound] = [w for w, m in emulated.world.messages.items() if m.direction == "inbound"]
    answer = emulated.provider.mark_read(
        emulated.number, {"messaging_product": "whatsapp", "status": "read", "message_id": inbound}
    )
    assert answer == {"success": True}


def test_uploaded_media_can_be_sent_and_downloaded_again(emulated: Emulated) -> None:
    media_id = emulated.provider.upload_media(
        emulated.number, Upload(data=PNG, mime_type="image/png", filename="a.png")
    )
    data, mime = emulated.provider.fetch_media(emulated.number, media_id)
    assert (data, mime) == (PNG, "image/png")
    emulated.customer_writes()
    accepted = emulated.provider.send_message(
        emulated.number,
        {"messaging_product": "whatsapp", "to": CUSTOMER, "type": "image", "image": {"id": media_id}},
    )
    assert accepted.wamid in emulated.world.messages


def test_templates_are_listed(emulated: Emulated) -> None:
    for i in range(3):
        emulated.world.add_template(emulated.number.waba_id, f"hello_{i}", "en_US", "UTILITY")
    names = sorted(t["name"] for t in emulated.provider.templates(emulated.number))
    assert names == ["hello_0", "hello_1", "hello_2"]


def test_wrong_credentials_are_unauthorized_and_final(emulated: Emulated) -> None:
    wrong = replace(emulated.number, access_token="wrong")
    with pytest.raises(ProviderError) as caught:
        emulated.provider.send_message(wrong, text())
    assert caught.value.details["error"] == "unauthorized"
    assert not caught.value.retryable
    assert not caught.value.ambiguous
    assert "wrong" not in caught.value.message  # a credential never appears in an error


def test_a_missing_media_object_is_a_final_error(emulated: Emulated) -> None:
    with pytest.raises(ProviderError) as caught:
        emulated.provider.fetch_media(emulated.number, "404404")
    assert not caught.value.retryable
    assert caught.value.http_status is not None
    assert caught.value.http_status >= 400


# -- the request as it leaves -----------------------------------------------------------------


def recording(answer: httpx.Response) -> tuple[list[httpx.Request], httpx.MockTransport]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return answer

    return seen, httpx.MockTransport(handle)


@pytest.mark.parametrize(
    ("provider", "url", "header", "value"),
    [
        ("meta", "http://p.test/v23.0/1001/messages", "authorization", "Bearer tok"),
        ("360dialog", "http://p.test/messages", "d360-api-key", "tok"),
    ],
)
def test_each_provider_gets_its_path_and_auth_header(
    provider: str, url: str, header: str, value: str
) -> None:
    answer = httpx.Response(200, json={"contacts": [], "messages": [{"id": "wamid.X"}]})
    seen, transport = recording(answer)
    GraphProvider(client_at("http://p.test", transport)).send_message(ref(provider), text())
    [request] = seen
    assert str(request.url) == url
    assert request.headers[header] == value
    other = "d360-api-key" if header == "authorization" else "authorization"
    assert other not in request.headers


def test_meta_templates_follow_paging_next_to_the_last_page() -> None:
    pages = {
        "/v23.0/2001/message_templates": {
            "data": [{"name": "a"}],
            "paging": {"next": "http://p.test/v23.0/2001/message_templates?after=X"},
        },
        "/v23.0/2001/message_templates?after=X": {
            "data": [{"name": "b"}],
            "paging": {"next": "http://p.test/v23.0/2001/message_templates?after=Y"},
        },
        "/v23.0/2001/message_templates?after=Y": {"data": [{"name": "c"}], "paging": {}},
    }
    asked: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        key = request.url.raw_path.decode()
        asked.append(key)
        return httpx.Response(200, json=pages[key.replace("?limit=100", "")])

    provider = GraphProvider(client_at("http://p.test", httpx.MockTransport(handle)))
    assert [t["name"] for t in provider.templates(ref())] == ["a", "b", "c"]
    assert len(asked) == 3


def test_360dialog_templates_page_by_offset_until_the_total() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        batch = [{"name": f"t{i}"} for i in range(offset, min(offset + 100, 250))]
        return httpx.Response(200, json={"count": len(batch), "total": 250, "waba_templates": batch})

    provider = GraphProvider(client_at("http://p.test", httpx.MockTransport(handle)))
    assert len(provider.templates(ref("360dialog"))) == 250


def test_a_200_without_a_message_id_is_ambiguous() -> None:
    _, transport = recording(httpx.Response(200, json={"messaging_product": "whatsapp"}))
    with pytest.raises(ProviderError) as caught:
        GraphProvider(client_at("http://p.test", transport)).send_message(ref(), text())
    assert caught.value.ambiguous
    assert not caught.value.retryable


def test_a_number_without_a_token_sends_nothing() -> None:
    seen, transport = recording(httpx.Response(200, json={"messages": [{"id": "wamid.X"}]}))
    with pytest.raises(ProviderError) as caught:
        GraphProvider(client_at("http://p.test", transport)).send_message(
            replace(ref(), access_token=None), text()
        )
    assert caught.value.details["error"] == "unauthorized"
    assert not caught.value.ambiguous
    assert seen == []
