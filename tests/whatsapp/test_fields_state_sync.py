"""Field `smb_app_state_sync`: address-book add (and edit) and remove."""

from __future__ import annotations

from typing import Any

import pytest

from tests.data import load
from wacoex.domain.enums import ContactAction
from wacoex.domain.facts import ContactChange, Unknown
from wacoex.whatsapp.envelope import parse_meta


def test_add_and_remove_become_contact_changes_in_order() -> None:
    add, remove = parse_meta(load("meta/smb_app_state_sync/add_and_remove"))
    assert isinstance(add, ContactChange)
    assert add == ContactChange(
        source=add.source,
        phone_number="16505551234",
        action=ContactAction.ADD,
        action_raw="add",
        full_name="Pablo Morales",
        first_name="Pablo",
        timestamp=1738346006,
        raw=add.raw,
    )
    assert isinstance(remove, ContactChange)
    assert remove.action is ContactAction.REMOVE
    assert remove.phone_number == "16505550000"
    assert (remove.full_name, remove.first_name) == (None, None)
    assert remove.timestamp == 1738346100
    assert add.source.field == "smb_app_state_sync"
    assert add.source.phone_number_id == "106540352242922"


def test_edit_is_an_add_with_the_new_name() -> None:
    [edit] = parse_meta(load("meta/smb_app_state_sync/edit"))
    assert isinstance(edit, ContactChange)
    assert edit.action is ContactAction.ADD
    assert edit.full_name == "Pablo M. Morales"
    assert edit.timestamp == 1738347000


def _sync(*items: Any) -> dict[str, Any]:
    value = {"metadata": {"phone_number_id": "1"}, "state_sync": list(items)}
    return {"entry": [{"id": "w", "changes": [{"field": "smb_app_state_sync", "value": value}]}]}


def test_unknown_action_is_kept_raw() -> None:
    item = {
        "type": "contact",
        "contact": {"phone_number": "1"},
        "action": "archive",
        "metadata": {"timestamp": 5},
    }
    [change] = parse_meta(_sync(item))
    assert isinstance(change, ContactChange)
    assert change.action is ContactAction.UNKNOWN
    assert change.action_raw == "archive"


def test_bsuid_on_the_contact_is_kept() -> None:
    contact = {"phone_number": "1", "user_id": "US.1234"}
    item = {"type": "contact", "contact": contact, "action": "add", "metadata": {"timestamp": "5"}}
    [change] = parse_meta(_sync(item))
    assert isinstance(change, ContactChange)
    assert change.user_id == "US.1234"


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({"type": "label", "label": {}}, "state_sync[0]: unsupported type label"),
        ({"type": "contact", "action": "add"}, "state_sync[0]: missing contact object"),
        ({"contact": {}, "action": "add"}, "state_sync[0]: missing or non-string contact.phone_number"),
        ({"contact": {"phone_number": "1"}}, "state_sync[0]: missing or non-string action"),
        (
            {"contact": {"phone_number": "1"}, "action": "add"},
            "state_sync[0]: missing or non-numeric metadata.timestamp",
        ),
        ([], "state_sync[0]: not an object"),
    ],
)
def test_unreadable_items_become_unknown(item: Any, reason: str) -> None:
    [fact] = parse_meta(_sync(item))
    assert isinstance(fact, Unknown)
    assert fact.reason == reason
    assert fact.raw == item
