"""Templates: parameter_format (POSITIONAL and NAMED), named parameters on send, Graph paging."""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulator.conftest import Emu, error_code
from wacoex.emulator.client import EmulatorError

pytestmark = pytest.mark.anyio
NAMED_BODY = [{"type": "BODY", "text": "Hi {{first_name}}, order {{order_id}} is ready"}]


def named_send(params: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "template",
        "template": {
            "name": "ready",
            "language": {"code": "en_US"},
            "components": [{"type": "body", "parameters": params}],
        },
    }


async def test_lists_carry_parameter_format_and_named_is_inferred_on_the_control_api(emu: Emu) -> None:
    pnid = await emu.coex_number()
    waba_id = emu.world.numbers[pnid].waba_id
    await emu.control.create_template(
        "ready", "en_US", "UTILITY", phone_number_id=pnid, components=NAMED_BODY
    )
    positional = [{"type": "BODY", "text": "Order {{1}}"}]
    await emu.control.create_template(
        "order", "en_US", "UTILITY", phone_number_id=pnid, components=positional
    )
    listed = (await emu.graph("GET", f"/{waba_id}/message_templates")).json()["data"]
    assert {t["name"]: t["parameter_format"] for t in listed} == {"ready": "NAMED", "order": "POSITIONAL"}
    named_only = await emu.graph("GET", f"/{waba_id}/message_templates", params={"parameter_format": "named"})
    assert [t["name"] for t in named_only.json()["data"]] == ["ready"]
    with pytest.raises(EmulatorError) as caught:
        await emu.control.create_template(
            "mixed",
            "en_US",
            "UTILITY",
            phone_number_id=pnid,
            components=NAMED_BODY,
            parameter_format="POSITIONAL",
        )
    assert caught.value.status_code == 422


async def test_graph_creates_named_templates_only_when_asked(emu: Emu) -> None:
    pnid = await emu.coex_number()
    waba_id = emu.world.numbers[pnid].waba_id
    body = {"name": "ready", "language": "en_US", "category": "UTILITY", "components": NAMED_BODY}
    refused = await emu.graph("POST", f"/{waba_id}/message_templates", json=body)
    assert error_code(refused) == 100
    created = await emu.graph(
        "POST", f"/{waba_id}/message_templates", json={**body, "parameter_format": "NAMED"}
    )
    assert created.json()["status"] == "APPROVED"
    [listed] = (await emu.graph("GET", f"/{waba_id}/message_templates", params={"name": "ready"})).json()[
        "data"
    ]
    assert listed["parameter_format"] == "NAMED"


async def test_named_parameters_must_match_the_template_by_name(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.control.create_customer("16505551234", "Sheena")
    await emu.control.create_template(
        "ready", "en_US", "UTILITY", phone_number_id=pnid, components=NAMED_BODY
    )
    good = [
        {"type": "text", "parameter_name": "order_id", "text": "A-17"},
        {"type": "text", "parameter_name": "first_name", "text": "Sheena"},
    ]
    sent = await emu.send(pnid, named_send(good))
    assert sent.status_code == 200, sent.text
    wamid = sent.json()["messages"][0]["id"]
    assert (await emu.control.get_message(wamid))["content"]["name"] == "ready"
    unnamed = [{"type": "text", "text": "Sheena"}, {"type": "text", "text": "A-17"}]
    assert error_code(await emu.send(pnid, named_send(unnamed))) == 132012
    wrong = [good[0], {"type": "text", "parameter_name": "last_name", "text": "Nelson"}]
    assert error_code(await emu.send(pnid, named_send(wrong))) == 132012
    assert error_code(await emu.send(pnid, named_send(good[:1]))) == 132000
    assert (await emu.control.refusals())["count_by_code"] == {"132012": 2, "132000": 1}


async def test_template_lists_page_with_cursors_and_next_links(emu: Emu) -> None:
    pnid = await emu.coex_number()
    waba_id = emu.world.numbers[pnid].waba_id
    for i in range(5):
        await emu.control.create_template(f"t{i}", "en_US", "MARKETING", phone_number_id=pnid)
    first = (await emu.graph("GET", f"/{waba_id}/message_templates", params={"limit": 2})).json()
    assert [t["name"] for t in first["data"]] == ["t0", "t1"]
    assert set(first["paging"]["cursors"]) == {"before", "after"}
    assert "previous" not in first["paging"]
    assert first["paging"]["next"].startswith(f"http://emulator/v23.0/{waba_id}/message_templates?")
    second = (
        await emu.http.get(first["paging"]["next"], headers={"Authorization": "Bearer emulator-token"})
    ).json()
    assert [t["name"] for t in second["data"]] == ["t2", "t3"]
    last = (
        await emu.http.get(second["paging"]["next"], headers={"Authorization": "Bearer emulator-token"})
    ).json()
    assert [t["name"] for t in last["data"]] == ["t4"]
    assert "next" not in last["paging"]
    back = (
        await emu.http.get(second["paging"]["previous"], headers={"Authorization": "Bearer emulator-token"})
    ).json()
    assert [t["name"] for t in back["data"]] == ["t0", "t1"]
    after = second["paging"]["cursors"]["after"]
    rest = await emu.graph("GET", f"/{waba_id}/message_templates", params={"after": after})
    assert [t["name"] for t in rest.json()["data"]] == ["t4"]
    everything = (await emu.graph("GET", f"/{waba_id}/message_templates")).json()
    assert len(everything["data"]) == 5
    assert "next" not in everything["paging"]
    assert error_code(await emu.graph("GET", f"/{waba_id}/message_templates", params={"limit": "0"})) == 100
    assert (
        error_code(await emu.graph("GET", f"/{waba_id}/message_templates", params={"after": "nope"})) == 100
    )


async def test_scenarios_take_parameter_format_and_refuse_a_wrong_one(emu: Emu) -> None:
    scenario = """
numbers: [{display_phone_number: "15550783881", onboarded: true}]
templates:
  - {name: pickup, language: en_US, category: UTILITY, components: [{type: BODY, text: "Hi {{first_name}}"}]}
"""
    await emu.control.load_scenario(scenario)
    assert [(t["name"], t["parameter_format"]) for t in await emu.control.list_templates()] == [
        ("pickup", "NAMED")
    ]
    with pytest.raises(EmulatorError) as caught:
        await emu.control.load_scenario(
            scenario.replace("category: UTILITY,", "category: UTILITY, parameter_format: POSITIONAL,")
        )
    assert caught.value.status_code == 422
