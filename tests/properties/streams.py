"""Hypothesis strategies: streams of Meta webhook bodies over small pools, so that facts collide.

A few numbers, customers and wamids are shared by every kind of item: a status names a wamid an echo
or a history chunk also names, an edit or a reaction arrives before or after its message, a history
media follow-up before or after its chunk, a customer changes number to one another customer uses.
Bodies are repeated (Meta redelivers) and the order is whatever was drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from hypothesis import strategies as st

from tests import payloads as p

TS = 1_760_000_000
"""Meta's timestamps are drawn from a handful of seconds after this, so ties happen."""

# Two registered numbers and one never registered (its webhooks are held).
NUMBERS = ((p.PNID, p.BIZ), ("206540352242922", "15550783882"))
UNREGISTERED = ("306540352242922", "15550783883")
CUSTOMERS = ("16505550001", "16505550002", "16505550003")
NEW_NUMBER = "16505550009"  # no one writes from it: only number changes and the address book name it
USER_IDS = {c: f"US.1349120865530274{i}" for i, c in enumerate(CUSTOMERS)}

# Customers write C*, the business (phone, API) sends B*; mutations and system notices have their own.
CUSTOMER_WAMIDS = tuple(f"wamid.C{i}" for i in range(4))
BUSINESS_WAMIDS = tuple(f"wamid.B{i}" for i in range(4))
MUTATION_WAMIDS = tuple(f"wamid.M{i}" for i in range(3))
SYSTEM_WAMIDS = ("wamid.S0", "wamid.S1")

Change = tuple[str, dict[str, Any]]  # (field, value without metadata)

times = st.integers(0, 4).map(lambda k: TS + 60 * k)
customers = st.sampled_from(CUSTOMERS)
NAMES = ("Ana", "Bea")


@dataclass(frozen=True)
class Mix:
    """Which collisions a stream may hold besides the ones every stream has."""

    merges: bool = True  # a number change to a number another contact has: two contacts merge
    renames: bool = True  # a customer's profile name changes (else each customer keeps one name)


def _name(draw: st.DrawFn, customer: str, mix: Mix) -> str | None:
    """The profile name in contacts[] (or none): any of NAMES, or the customer's own one."""
    own = NAMES[CUSTOMERS.index(customer) % len(NAMES)]
    return draw(st.sampled_from([*NAMES, None] if mix.renames else [own, None]))


any_wamid = st.sampled_from(CUSTOMER_WAMIDS + BUSINESS_WAMIDS)


@st.composite
def _content(draw: st.DrawFn, wamid: str) -> tuple[str, dict[str, Any]]:
    if draw(st.booleans()):
        return "text", {"body": f"text of {wamid} #{draw(st.integers(0, 2))}"}
    return "image", {"id": f"media-{wamid}", "mime_type": "image/jpeg", "caption": "a photo"}


@st.composite
def inbound(draw: st.DrawFn, mix: Mix) -> Change:
    frm = draw(customers)
    wamid = draw(st.sampled_from(CUSTOMER_WAMIDS))
    type_, content = draw(_content(wamid))
    msg: dict[str, Any] = {
        "from": frm,
        "id": wamid,
        "timestamp": str(draw(times)),
        "type": type_,
        type_: content,
    }
    contact: dict[str, Any] = {"wa_id": frm}
    if draw(st.booleans()):
        msg["from_user_id"] = contact["user_id"] = USER_IDS[frm]
    if draw(st.booleans()):
        msg["context"] = {"from": frm, "id": draw(any_wamid)}
    value: dict[str, Any] = {"messages": [msg]}
    name = _name(draw, frm, mix)
    if name is not None:
        value["contacts"] = [{**contact, "profile": {"name": name}}]
    return "messages", value


@st.composite
def status(draw: st.DrawFn, mix: Mix) -> Change:
    wamid = draw(st.sampled_from(BUSINESS_WAMIDS))
    recipient = draw(customers)
    state = draw(st.sampled_from(["sent", "delivered", "read", "failed"]))
    item: dict[str, Any] = {
        "id": wamid,
        "status": state,
        "timestamp": str(draw(times)),
        "recipient_id": recipient,
    }
    if state == "failed":
        item["errors"] = [{"code": 131049, "title": "not delivered", "message": "not delivered"}]
    elif draw(st.booleans()):
        item["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "utility"}
    value: dict[str, Any] = {"statuses": [item]}
    name = _name(draw, recipient, mix)
    if name is not None:
        value["contacts"] = [{"profile": {"name": name}, "wa_id": recipient}]
    return "messages", value


@st.composite
def echo(draw: st.DrawFn, display: str) -> Change:
    wamid = draw(st.sampled_from(BUSINESS_WAMIDS))
    to = draw(customers)
    type_, content = draw(_content(wamid))
    item: dict[str, Any] = {
        "from": display,
        "to": to,
        "id": wamid,
        "timestamp": str(draw(times)),
        "type": type_,
        type_: content,
    }
    if draw(st.booleans()):
        item["to_user_id"] = USER_IDS[to]
    return "smb_message_echoes", {"message_echoes": [item]}


@st.composite
def mutation(draw: st.DrawFn, display: str) -> Change:
    """An edit, revoke or reaction by a customer (messages) or the business (echoes)."""
    kind = draw(st.sampled_from(["edit", "revoke", "reaction"]))
    target = draw(any_wamid)
    if kind == "edit":
        body = f"edited #{draw(st.integers(0, 2))}"
        content: dict[str, Any] = {
            "original_message_id": target,
            "message": {"type": "text", "text": {"body": body}},
        }
    elif kind == "revoke":
        content = {"original_message_id": target}
    else:
        content = {"message_id": target, "emoji": draw(st.sampled_from(["👍", "❤️", ""]))}
    item: dict[str, Any] = {
        "id": draw(st.sampled_from(MUTATION_WAMIDS)),
        "timestamp": str(draw(times)),
        "type": kind,
        kind: content,
    }
    customer = draw(customers)
    if draw(st.booleans()):
        return "messages", {"messages": [{"from": customer, **item}]}
    return "smb_message_echoes", {"message_echoes": [{"from": display, "to": customer, **item}]}


@st.composite
def number_change(draw: st.DrawFn, mix: Mix) -> Change:
    """A system notice: the customer moved to another number.

    With `mix.merges`, the new number may be one another contact has (another customer's, or one the
    address book names): two contacts become one. Without, it is a number nothing else names.
    """
    old = draw(customers)
    wamid = draw(st.sampled_from(SYSTEM_WAMIDS))
    if mix.merges:
        new = draw(st.sampled_from((NEW_NUMBER, *CUSTOMERS)))
    else:
        new = f"165055590{CUSTOMERS.index(old)}{SYSTEM_WAMIDS.index(wamid)}"
    system = {"body": f"User changed from {old} to {new}", "wa_id": new, "type": "user_changed_number"}
    msg = {
        "from": old,
        "id": wamid,
        "timestamp": str(draw(times)),
        "type": "system",
        "system": system,
    }
    return "messages", {"messages": [msg]}


@st.composite
def _history_message(draw: st.DrawFn, display: str) -> dict[str, Any]:
    from_business = draw(st.booleans())
    wamid = draw(st.sampled_from(BUSINESS_WAMIDS if from_business else CUSTOMER_WAMIDS))
    msg: dict[str, Any] = {
        "from": display if from_business else "",
        "id": wamid,
        "timestamp": str(draw(times)),
    }
    if draw(st.booleans()):
        msg.update(type="text", text={"body": f"history text of {wamid}"})
    else:
        msg["type"] = "media_placeholder"
    device_status = draw(st.sampled_from(["DELIVERED", "READ", "PLAYED", None]))
    if device_status is not None:
        msg["history_context"] = {"status": device_status}
    return msg


@st.composite
def history_chunk(draw: st.DrawFn, display: str) -> Change:
    threads = []
    for customer in draw(st.lists(customers, max_size=2, unique=True)):
        messages = draw(st.lists(_history_message(display), min_size=1, max_size=3))
        for m in messages:
            m["from"] = m["from"] or customer
        threads.append({"id": customer, "messages": messages})
    metadata = {
        "phase": draw(st.integers(0, 1)),
        "chunk_order": draw(st.integers(1, 3)),
        "progress": draw(st.sampled_from([10, 50, 100])),
    }
    return "history", {"history": [{"metadata": metadata, "threads": threads}]}


@st.composite
def history_media(draw: st.DrawFn, display: str) -> Change:
    """The content of an earlier media_placeholder, sent after (or before) the chunk that names it."""
    from_business = draw(st.booleans())
    wamid = draw(st.sampled_from(BUSINESS_WAMIDS if from_business else CUSTOMER_WAMIDS))
    msg = {
        "from": display if from_business else draw(customers),
        "id": wamid,
        "timestamp": str(draw(times)),
        "type": "image",
        "image": {"id": f"media-h-{wamid}", "mime_type": "image/jpeg"},
    }
    return "history", {"messages": [msg]}


history_declined: st.SearchStrategy[Change] = st.just(
    ("history", {"history": [{"errors": [{"code": 2593109, "title": "History sync is turned off"}]}]})
)


@st.composite
def contact_change(draw: st.DrawFn) -> Change:
    phone = draw(st.sampled_from((*CUSTOMERS, NEW_NUMBER)))
    action = draw(st.sampled_from(["add", "remove"]))
    contact: dict[str, Any] = {"phone_number": phone}
    if action == "add":
        first = draw(st.sampled_from(["Pablo", "Rosa"]))
        contact.update(full_name=f"{first} Morales", first_name=first)
    item = {
        "type": "contact",
        "contact": contact,
        "action": action,
        "metadata": {"timestamp": str(draw(times))},
    }
    return "smb_app_state_sync", {"state_sync": [item]}


unknown_field: st.SearchStrategy[Change] = st.just(("mystery_field", {"x": 1}))
# A reaction whose target is an object: refused, listed as unknown, its siblings applied.
bad_reaction: st.SearchStrategy[Change] = st.just(
    (
        "messages",
        {
            "messages": [
                {
                    "from": CUSTOMERS[0],
                    "id": "wamid.BAD",
                    "timestamp": str(TS),
                    "type": "reaction",
                    "reaction": {"message_id": {"id": "wamid.C0"}, "emoji": "x"},
                }
            ]
        },
    )
)


def _changes(display: str, mix: Mix) -> st.SearchStrategy[Change]:
    # Repeated strategies are drawn more often: the kinds that collide most, most.
    return st.one_of(
        inbound(mix),
        status(mix),
        mutation(display),
        echo(display),
        history_chunk(display),
        history_media(display),
        inbound(mix),
        status(mix),
        mutation(display),
        number_change(mix),
        contact_change(),
        history_declined,
        unknown_field,
        bad_reaction,
    )


@st.composite
def _number_entry(draw: st.DrawFn, mix: Mix) -> dict[str, Any]:
    """One entry of one number with one to three changes."""
    pnid, display = draw(st.sampled_from((*NUMBERS, NUMBERS[0], UNREGISTERED)))
    changes = []
    for field, value in draw(st.lists(_changes(display, mix), min_size=1, max_size=3)):
        if field != "mystery_field" or draw(st.booleans()):
            value = {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": display, "phone_number_id": pnid},
                **value,
            }
        changes.append({"field": field, "value": value})
    return {"id": p.WABA, "changes": changes}


@st.composite
def _account_entry(draw: st.DrawFn) -> dict[str, Any]:
    """account_update: the number's lifecycle, fenced by the entry's time."""
    _, display = draw(st.sampled_from(NUMBERS))
    event = draw(st.sampled_from(["PARTNER_REMOVED", "ACCOUNT_RECONNECTED", "ACCOUNT_OFFBOARDED"]))
    value: dict[str, Any] = {"phone_number": display, "event": event}
    if event == "PARTNER_REMOVED":
        value["disconnection_info"] = {"reason": "PRIMARY_INACTIVITY", "initiated_by": "SYSTEM"}
    return {"id": p.WABA, "time": draw(times), "changes": [{"field": "account_update", "value": value}]}


@st.composite
def body(draw: st.DrawFn, mix: Mix) -> bytes:
    entries = draw(
        st.lists(
            st.one_of(_number_entry(mix), _number_entry(mix), _number_entry(mix), _account_entry()),
            min_size=1,
            max_size=2,
        )
    )
    return orjson.dumps({"object": "whatsapp_business_account", "entry": entries})


@st.composite
def streams(draw: st.DrawFn, mix: Mix) -> list[bytes]:
    """Bodies in the order they are received, some of them delivered again later (or at once).

    `mix` says whether contacts may merge and customers rename themselves.
    """
    bodies = draw(st.lists(body(mix), min_size=1, max_size=14))
    for _ in range(draw(st.integers(0, 3))):
        again = draw(st.sampled_from(bodies))
        bodies.insert(draw(st.integers(0, len(bodies))), again)
    return bodies
