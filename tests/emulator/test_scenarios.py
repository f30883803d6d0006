"""Scenario files: the bundled demo loads and plays, timelines run on the clock, bad files are 422."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.emulator import test_phone
from tests.emulator.test_phone import PNID, Emulator
from wacoex.emulator.control.scenarios import SCENARIO_DIR

pytestmark = pytest.mark.anyio
anyio_backend, emu = test_phone.anyio_backend, test_phone.emu


async def test_demo_scenario_plays_a_realistic_business(emu: Emulator) -> None:
    raw = (SCENARIO_DIR / "demo.yaml").read_bytes()
    response = await emu.client.post("/_emulator/scenarios?play=true", content=raw)
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["customers"] >= 30
    assert summary["past_messages"] > 300
    fields = [f for v in emu.received for e in v.json["entry"] for f in (c["field"] for c in e["changes"])]
    assert {"account_update", "messages", "smb_message_echoes"} <= set(fields)
    unsupported = [
        m for v in emu.values("messages") for m in v.get("messages", []) if m["type"] == "unsupported"
    ]
    assert unsupported[0]["errors"][0]["code"] == 131060
    echo_devices = [v["message_echoes"][0]["type"] for v in emu.values("smb_message_echoes")]
    assert echo_devices == ["text", "edit", "text"]  # the Windows send is silent
    chats = (await emu.client.get(f"/_emulator/numbers/{PNID}/app/chats")).json()["chats"]
    assert len(chats) >= 30


async def test_timeline_waits_for_the_clock(emu: Emulator) -> None:
    data = {
        **test_phone.BASIC,
        "timeline": [
            {"at": "1m", "do": "onboard"},
            {"at": "1h", "do": "customer_send", "customer": test_phone.PABLO, "text": "later", "label": "q"},
            {"at": "2h", "do": "app_send", "customer": test_phone.PABLO, "text": "answer", "reply_to": "q"},
        ],
    }
    summary = await emu.scenario(data)
    assert summary["timeline_events"] == 3
    assert emu.values("messages") == []
    await emu.advance("+90m")
    assert len(emu.values("messages")) == 1
    await emu.advance("+1h")
    [echo] = emu.values("smb_message_echoes")
    assert echo["message_echoes"][0]["context"]["id"] == emu.values("messages")[0]["messages"][0]["id"]


@pytest.mark.parametrize("path", sorted(SCENARIO_DIR.glob("*.yaml")))
def test_bundled_scenarios_are_valid_yaml(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert data["numbers"]
    assert data["customers"]


async def test_bad_scenarios_are_refused(emu: Emulator) -> None:
    unknown = await emu.post("/_emulator/scenarios", {"nonsense": 1})
    assert unknown.status_code == 422
    bad_action = await emu.post("/_emulator/scenarios", {**test_phone.BASIC, "timeline": [{"do": "fly"}]})
    assert bad_action.status_code == 422
    broken = await emu.client.post("/_emulator/scenarios", content=b"numbers: [unclosed")
    assert broken.status_code == 422
