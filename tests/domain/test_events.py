"""docs/events.md documents exactly the event classes of domain/events.py, field for field."""

from __future__ import annotations

import json
import re
from dataclasses import FrozenInstanceError, fields
from pathlib import Path

import pytest

from wacoex.domain import events as ev

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def _documented() -> dict[str, list[dict[str, object]]]:
    """Each `### \\`type\\`` section of the doc and the JSON payloads of its example block."""
    text = DOC.read_text(encoding="utf-8")
    sections = re.split(r"^### `([a-z_.]+)`\s*$", text, flags=re.M)
    documented: dict[str, list[dict[str, object]]] = {}
    for name, body in zip(sections[1::2], sections[2::2], strict=True):
        block = re.search(r"```json\n(.*?)```", body, flags=re.S)
        assert block, f"{name}: no JSON example"
        decoder, raw, payloads = json.JSONDecoder(), block.group(1).strip(), []
        while raw:
            payload, end = decoder.raw_decode(raw)
            payloads.append(payload)
            raw = raw[end:].strip()
        documented[name] = payloads
    return documented


def test_every_event_type_is_documented_with_exactly_its_fields() -> None:
    documented = _documented()
    assert set(documented) == set(ev.EVENT_TYPES)
    for name, cls in ev.EVENT_TYPES.items():
        names = [f.name for f in fields(cls)]
        assert names[0] == "phone_number_id", name
        for payload in documented[name]:
            assert list(payload) == names, name


def test_the_payload_is_the_fields_in_order_and_events_are_frozen() -> None:
    event = ev.ContactUpdated(phone_number_id="1", wa_id="5511", action="add", full_name=None)
    assert event.TYPE == "contact.updated"
    assert event.payload() == {"phone_number_id": "1", "wa_id": "5511", "action": "add", "full_name": None}
    with pytest.raises(FrozenInstanceError):
        event.wa_id = "2"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ev.HistoryCompleted(phase=0)  # type: ignore[call-arg]  # phone_number_id is never missing
