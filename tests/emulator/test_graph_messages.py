"""POST /{phone_number_id}/messages: every message type, the response shape, statuses and errors."""

from __future__ import annotations

import pytest

from tests.emulator.conftest import BUSINESS_NUMBER, CUSTOMER, Emu, error_code

pytestmark = pytest.mark.anyio


async def test_text_inside_window_returns_the_documented_response_shape(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.customer_writes(pnid)
    response = await emu.send(pnid, {"to": "+1 (650) 555-1234", "type": "text", "text": {"body": "hi"}})
    assert response.status_code == 200
    body = response.json()
    assert body["messaging_product"] == "whatsapp"
    assert body["contacts"] == [{"input": "+1 (650) 555-1234", "wa_id": CUSTOMER}]
    assert body["messages"][0]["id"].startswith("wamid.")


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "image", "image": {"link": "https://example.com/a.png", "caption": "c"}},
        {"type": "document", "document": {"link": "https://example.com/a.pdf", "filename": "a.pdf"}},
        {"type": "location", "location": {"latitude": 37.75, "longitude": -122.42, "name": "HQ"}},
        {"type": "contacts", "contacts": [{"name": {"formatted_name": "Ana"}, "phones": [{"phone": "+1"}]}]},
        {
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": "Pick"},
                "action": {"buttons": [{"type": "reply", "reply": {"id": "a", "title": "A"}}]},
            },
        },
        {
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": {"text": "Pick"},
                "action": {
                    "button": "Menu",
                    "sections": [{"title": "S", "rows": [{"id": "r", "title": "R"}]}],
                },
            },
        },
    ],
)
async def test_every_service_message_type_is_accepted_in_the_window(emu: Emu, payload: dict) -> None:
    pnid = await emu.coex_number()
    await emu.customer_writes(pnid)
    response = await emu.send(pnid, payload)
    assert response.status_code == 200, response.text
    chat = await emu.control.app_chat(pnid, CUSTOMER)
    assert any(m.get("wamid") == response.json()["messages"][0]["id"] for m in chat)


async def test_reaction_to_the_customers_message_is_accepted(emu: Emu) -> None:
    pnid = await emu.coex_number()
    wamid = await emu.customer_writes(pnid)
    response = await emu.send(pnid, {"type": "reaction", "reaction": {"message_id": wamid, "emoji": "👍"}})
    assert response.status_code == 200


async def test_mark_as_read_answers_success(emu: Emu) -> None:
    pnid = await emu.coex_number()
    wamid = await emu.customer_writes(pnid)
    response = await emu.graph(
        "POST",
        f"/{pnid}/messages",
        json={
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": wamid,
            "typing_indicator": {"type": "text"},
        },
    )
    assert response.json() == {"success": True}
    assert emu.world.messages[wamid].status == "read"


async def test_mark_as_read_of_an_unknown_message_is_error_100(emu: Emu) -> None:
    pnid = await emu.coex_number()
    response = await emu.graph(
        "POST",
        f"/{pnid}/messages",
        json={"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.X"},
    )
    assert error_code(response) == 100


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"messaging_product": "sms", "type": "text", "text": {"body": "x"}}, 100),
        ({"to": "", "type": "text", "text": {"body": "x"}}, 100),
        ({"type": "text", "text": {"body": "x" * 4097}}, 100),
        ({"type": "image", "image": {"id": "404"}}, 131053),
        ({"type": "hologram", "hologram": {}}, 131051),
        (
            {
                "type": "interactive",
                "interactive": {"type": "button", "body": {"text": "b"}, "action": {"buttons": []}},
            },
            131009,
        ),
        ({"type": "interactive", "interactive": {"type": "wheel", "action": {}}}, 131009),
    ],
)
async def test_invalid_bodies_get_graph_errors(emu: Emu, payload: dict, code: int) -> None:
    pnid = await emu.coex_number()
    await emu.customer_writes(pnid)
    response = await emu.send(pnid, payload)
    assert response.status_code == 400
    assert error_code(response) == code


async def test_graph_error_has_the_documented_shape(emu: Emu) -> None:
    pnid = await emu.coex_number()
    error = (await emu.text(pnid)).json()["error"]
    assert set(error) >= {"message", "type", "code", "error_data", "fbtrace_id"}
    assert error["message"] == "(#131047) Re-engagement message"
    assert error["type"] == "OAuthException"
    assert error["error_data"]["messaging_product"] == "whatsapp"


async def test_sending_to_the_business_itself_is_131021(emu: Emu) -> None:
    pnid = await emu.coex_number()
    response = await emu.send(pnid, {"to": BUSINESS_NUMBER, "type": "text", "text": {"body": "me"}})
    assert error_code(response) == 131021


async def test_bad_token_is_190_with_401(emu: Emu) -> None:
    pnid = await emu.coex_number()
    response = await emu.graph("POST", f"/{pnid}/messages", json={}, headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert error_code(response) == 190


async def test_unknown_number_is_error_100_subcode_33(emu: Emu) -> None:
    response = await emu.graph("POST", "/999/messages", json={})
    assert error_code(response) == 100
    assert response.json()["error"]["error_subcode"] == 33


async def test_unknown_path_is_error_2500(emu: Emu) -> None:
    response = await emu.graph("GET", "/a/b/c")
    assert error_code(response) == 2500


async def test_app_only_number_cannot_send_before_onboarding(emu: Emu) -> None:
    number = await emu.control.create_number(display_phone_number=BUSINESS_NUMBER)
    response = await emu.text(number["phone_number_id"])
    assert error_code(response) == 133010


async def test_statuses_go_sent_then_delivered_with_pricing_on_both(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.customer_writes(pnid)
    wamid = (await emu.text(pnid)).json()["messages"][0]["id"]
    await emu.control.advance("+2s")
    statuses = [s for s in emu.receiver.statuses() if s["id"] == wamid]
    assert [s["status"] for s in statuses] == ["sent", "delivered"]
    for status in statuses:
        assert status["recipient_id"] == CUSTOMER
        assert isinstance(status["timestamp"], str)
        assert status["pricing"] == {
            "billable": False,
            "pricing_model": "PMP",
            "type": "free_customer_service",
            "category": "service",
        }
    assert "expiration_timestamp" in statuses[0]["conversation"]
    assert "expiration_timestamp" not in statuses[1]["conversation"]


async def test_read_may_skip_delivered_and_then_carries_pricing(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.customer_writes(pnid)
    wamid = (await emu.text(pnid)).json()["messages"][0]["id"]
    await emu.control.flush()
    await emu.control.customer_read(CUSTOMER, wamid=wamid)
    await emu.control.advance("+5s")
    statuses = [s for s in emu.receiver.statuses() if s["id"] == wamid]
    assert [s["status"] for s in statuses] == ["sent", "read"]
    assert "pricing" in statuses[1]


async def test_v24_statuses_omit_conversation_outside_free_entry_point(emu: Emu) -> None:
    await emu.control.patch_config(api_version="v24.0")
    pnid = await emu.coex_number()
    await emu.customer_writes(pnid)
    await emu.text(pnid)
    await emu.control.advance("+2s")
    assert all("conversation" not in s and "pricing" in s for s in emu.receiver.statuses())


async def test_non_whatsapp_recipient_fails_asynchronously_with_131026(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.control.create_template("hello", "en_US", "UTILITY", phone_number_id=pnid)
    template = {"name": "hello", "language": {"code": "en_US"}}
    response = await emu.send(pnid, {"to": "15559990000", "type": "template", "template": template})
    assert response.status_code == 200
    await emu.control.advance("+5s")
    (failed,) = emu.receiver.statuses()
    assert failed["status"] == "failed"
    assert failed["errors"][0]["code"] == 131026
    assert set(failed["errors"][0]) == {"code", "title", "message", "error_data", "href"}


async def test_marketing_opt_out_fails_with_131050_but_utility_goes_through(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.control.create_customer(CUSTOMER, "Sheena", marketing_opt_out=True)
    await emu.control.create_template("promo", "en_US", "MARKETING", phone_number_id=pnid)
    await emu.control.create_template("receipt", "en_US", "UTILITY", phone_number_id=pnid)
    for name in ("promo", "receipt"):
        await emu.send(pnid, {"type": "template", "template": {"name": name, "language": {"code": "en_US"}}})
    await emu.control.advance("+5s")
    by_status = [(s["status"], s.get("errors", [{}])[0].get("code")) for s in emu.receiver.statuses()]
    assert ("failed", 131050) in by_status
    assert ("delivered", None) in by_status


async def test_api_sent_messages_appear_in_the_phones_chat(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.customer_writes(pnid)
    wamid = (await emu.text(pnid, "from the API")).json()["messages"][0]["id"]
    stored = await emu.control.get_message(wamid)
    assert stored["origin"] == "api"
    assert stored["direction"] == "outbound"
