"""Scenario files: script a business (numbers, customers, templates, address book, months of past
chats) and a timeline of events at virtual offsets; `load_scenario` builds the world, `play` runs it.

A scenario is YAML (or the same structure as a dict); see scenarios/demo.yaml and docs/emulator.md.
Timeline events are timers on the world's clock at `load time + at`, so they run as the clock
advances (POST /_emulator/clock/advance) or all at once with `play` (`?play=true` on the route).
"""

from __future__ import annotations

import random
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from wacoex.emulator.clock import parse_duration
from wacoex.emulator.people import customers, phone
from wacoex.emulator.people.customers import ActionError
from wacoex.emulator.platform import payloads, templates
from wacoex.emulator.platform.payloads import Json
from wacoex.emulator.runtime import Runtime
from wacoex.emulator.world import ChatMessage, Contact, Device, Number, World

SCENARIO_DIR = Path(__file__).parent.parent / "scenarios"
NUMBER_FIELDS = (
    "provider",
    "access_token",
    "d360_api_key",
    "on_biz_app",
    "app_version",
    "age_days",
    "quality",
    "webhook_url",
    "webhook_headers",
    "country_calling_code",
    "history_shared",
)
CUSTOMER_LINES = [
    "Hi! Are you open today?",
    "Can I order a birthday cake for Saturday?",
    "Do you have gluten-free bread?",
    "Thanks, see you soon!",
    "What time do you close?",
    "Is the sourdough ready yet?",
    "Could you deliver to my office?",
    "Perfect, I'll pick it up at 5.",
]
BUSINESS_LINES = [
    "Hello! Yes, we're open until 7pm.",
    "Of course, what flavour would you like?",
    "We bake gluten-free loaves on Tuesdays and Fridays.",
    "You're welcome, have a lovely day!",
    "Your order is ready for pickup.",
    "We deliver within 5 km for a small fee.",
]


class ScenarioError(ValueError):
    """The scenario file is malformed (unknown keys, missing fields, bad durations)."""


# Per world: labelled messages (`label:` in a scenario) and when the timeline ends.
_labels: weakref.WeakKeyDictionary[World, dict[str, str]] = weakref.WeakKeyDictionary()
_timeline_end: weakref.WeakKeyDictionary[World, float] = weakref.WeakKeyDictionary()


def labels(rt: Runtime) -> dict[str, str]:
    return _labels.setdefault(rt.world, {})


def read_scenario(source: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """A scenario dict from a dict, a path, or a bundled scenario name (`demo`)."""
    if isinstance(source, Mapping):
        return dict(source)
    path = Path(source)
    if not path.exists() and (SCENARIO_DIR / f"{source}.yaml").exists():
        path = SCENARIO_DIR / f"{source}.yaml"
    if not path.exists():
        bundled = ", ".join(sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml")))
        raise ScenarioError(f"scenario {source} does not exist (not a file, nor a bundled name: {bundled})")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ScenarioError(f"cannot read scenario {path}: {reason}") from exc
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path} is not valid YAML: {_yaml_problem(exc)}") from exc
    if not isinstance(data, dict):
        raise ScenarioError(f"{path} does not hold a scenario mapping")
    return data


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's message in one line: what is wrong and where (its own text quotes the source)."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return f"{exc.problem or exc.context or 'syntax error'}{where}"
    return " ".join(str(exc).split())


def _ago(text: Any) -> float:
    try:
        return parse_duration(str(text).lstrip("-"))
    except ValueError as exc:
        raise ScenarioError(str(exc)) from exc


# ---- past chats -----------------------------------------------------------------------------------


def _past_message(
    rt: Runtime, number: Number, wa_id: str, spec: Mapping[str, Any], now: float
) -> ChatMessage:
    sender = spec.get("from", "customer")
    if sender not in ("customer", "business"):
        raise ScenarioError(f"'from' must be customer or business, not {sender!r}")
    kind = spec.get("type") or "text"
    content: Any = spec.get(kind)
    if kind == "text" and content is None:
        content = spec.get("text", "")
    if kind in payloads.MEDIA_TYPES:
        obj = dict(content or {})
        if spec.get("caption"):
            obj["caption"] = spec["caption"]
        content = customers.store_media(rt, number, kind, obj)
    elif kind == "text" and isinstance(content, str):
        content = payloads.text(content)
    outbound = sender == "business"
    return ChatMessage(
        wamid=rt.world.new_wamid(wa_id),
        phone_number_id=number.phone_number_id,
        wa_id=wa_id,
        direction="outbound" if outbound else "inbound",
        origin="business_app" if outbound else "customer",
        type=kind,
        content=content,
        timestamp=now - _ago(spec.get("ago", "1d")),
        device=spec.get("device", "primary") if outbound else None,
        status=spec.get("status", "read" if outbound else "received"),
        before_onboarding=True,
    )


def _generated(
    rt: Runtime, number: Number, wa_id: str, gen: Mapping[str, Any], rng: random.Random
) -> list[Json]:
    days = float(gen.get("days", 180))
    count = int(gen.get("per_chat", 12))
    media_ratio = float(gen.get("media_ratio", 0.1))
    lines_in = gen.get("customer_lines", CUSTOMER_LINES)
    lines_out = gen.get("business_lines", BUSINESS_LINES)
    specs: list[Json] = []
    for _ in range(count):
        outbound = rng.random() < 0.5
        spec: Json = {
            "from": "business" if outbound else "customer",
            "ago": f"{rng.uniform(60, days * 86400):.0f}s",
        }
        if rng.random() < media_ratio:
            spec["type"] = "image"
            spec["caption"] = "Today's bake" if outbound else "Like this one?"
        else:
            spec["text"] = rng.choice(lines_out if outbound else lines_in)
        specs.append(spec)
    return specs


def seed_history(
    rt: Runtime, number: Number, chats: list[Mapping[str, Any]], *, generate: Mapping[str, Any] | None = None
) -> int:
    """Put past chats on the phone (before onboarding). Returns how many messages were added."""
    now = rt.world.clock.now()
    rng = random.Random(int((generate or {}).get("seed", 1)))
    plan: list[tuple[str, list[Any]]] = []
    for chat in chats:
        if chat.get("group"):
            # Group chats live on the phone but never reach the API (history is 1:1 only).
            wa_id = str(chat.get("id") or f"120363{rt.world.new_id('4')}@g.us")
        else:
            wa_id = customers.require_customer(rt, str(chat["wa_id"]), name=chat.get("name", "")).wa_id
        plan.append((wa_id, list(chat.get("messages", []))))
    if generate:
        who = generate.get("customers", "all")
        pool = [c.wa_id for c in rt.world.customers.values()]
        chosen = pool if who == "all" else pool[: int(who)]
        for wa_id in chosen:
            plan.append((wa_id, _generated(rt, number, wa_id, generate, rng)))
    added = 0
    for wa_id, specs in plan:
        chat_obj = rt.world.chat(number.phone_number_id, wa_id)
        for spec in specs:
            msg = _past_message(rt, number, wa_id, spec, now)
            chat_obj.messages.append(msg)
            rt.world.messages[msg.wamid] = msg
            if spec.get("label"):
                labels(rt)[str(spec["label"])] = msg.wamid
            added += 1
        chat_obj.messages.sort(key=lambda m: m.timestamp)
    return added


# ---- building the world -------------------------------------------------------------------------


def _add_number(rt: Runtime, spec: Mapping[str, Any]) -> Number:
    fields = {k: spec[k] for k in NUMBER_FIELDS if k in spec}
    if "devices" in spec:
        fields["devices"] = [Device("primary")] + [Device(str(kind)) for kind in spec["devices"]]
    number = rt.world.add_number(
        str(spec["display_phone_number"]),
        waba_id=spec.get("waba_id"),
        business_id=spec.get("business_id"),
        phone_number_id=spec.get("phone_number_id"),
        verified_name=spec.get("verified_name") or spec.get("name"),
        onboarded=bool(spec.get("onboarded", False)),
        **fields,
    )
    for key in ("first_contact_unsupported", "history_options"):
        if key in spec:
            number.extra[key] = spec[key]
    now = rt.world.clock.now()
    for entry in spec.get("address_book", []):
        digits = "".join(ch for ch in str(entry["phone_number"]) if ch.isdigit())
        full = str(entry.get("full_name", ""))
        number.address_book[digits] = Contact(
            digits, full, entry.get("first_name") or full.split(" ")[0], now
        )
    return number


def load_scenario(rt: Runtime, source: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """Build the scenario's world and schedule its timeline. Returns a summary."""
    data = read_scenario(source)
    phone.install(rt)
    unknown = set(data) - {"name", "description", "clock", "numbers", "customers", "templates", "timeline"}
    if unknown:
        raise ScenarioError(f"unknown scenario keys: {sorted(unknown)}")
    try:
        start = (data.get("clock") or {}).get("start")
        if start is not None:
            rt.world.clock.set(float(start))
        for spec in data.get("customers", []):
            extra = {k: v for k, v in spec.items() if k not in ("wa_id", "name")}
            rt.world.add_customer(str(spec["wa_id"]), str(spec.get("name", "")), **extra)
        numbers = [_add_number(rt, spec) for spec in data.get("numbers", [])]
        by_ref = {n.phone_number_id: n for n in numbers} | {n.display_phone_number: n for n in numbers}
        past = 0
        for spec, number in zip(data.get("numbers", []), numbers, strict=True):
            history = spec.get("history") or {}
            past += seed_history(rt, number, history.get("chats", []), generate=history.get("generate"))
        for spec in data.get("templates", []):
            ref = spec.get("number")
            waba_id = spec.get("waba_id") or (by_ref[str(ref)] if ref else numbers[0]).waba_id
            extra = {k: v for k, v in spec.items() if k in ("status", "components", "parameter_format")}
            templates.new_template(
                rt.world,
                waba_id,
                str(spec["name"]),
                str(spec.get("language", "en_US")),
                str(spec["category"]),
                **extra,
            )
    except ScenarioError:
        raise
    except KeyError as exc:
        raise ScenarioError(f"invalid scenario: missing key or unknown reference {exc}") from exc
    except (TypeError, ValueError, AttributeError) as exc:
        raise ScenarioError(f"invalid scenario: {exc}") from exc
    default = numbers[0].phone_number_id if numbers else None
    try:
        events = _schedule(rt, data.get("timeline") or [], default)
    except ScenarioError:
        raise
    except (TypeError, ValueError, AttributeError) as exc:
        raise ScenarioError(f"invalid timeline: {exc}") from exc
    return {
        "name": data.get("name", ""),
        "numbers": [n.phone_number_id for n in numbers],
        "customers": len(data.get("customers", [])),
        "past_messages": past,
        "timeline_events": events,
        "timeline_ends_at": _timeline_end.get(rt.world),
    }


def _schedule(rt: Runtime, timeline: list[Mapping[str, Any]], default: str | None) -> int:
    base = rt.world.clock.now()
    end = base
    for event in timeline:
        at = base + _ago(event.get("at", "0s"))
        action = event.get("do")
        if action not in ACTIONS:
            raise ScenarioError(f"unknown timeline action {action!r} (one of {sorted(ACTIONS)})")
        pnid = str(event.get("number", default))
        rt.world.clock.call_at(at, _runner(rt, ACTIONS[action], pnid, dict(event)))
        end = max(end, at)
    _timeline_end[rt.world] = end
    return len(timeline)


def _runner(
    rt: Runtime, action: Callable[[Runtime, str, Json], object], pnid: str, event: Json
) -> Callable[[], None]:
    def run() -> None:
        try:
            wamid = action(rt, pnid, event)
        except ActionError as exc:
            raise ScenarioError(f"timeline event {event} failed: {exc.message}") from exc
        if event.get("label") and isinstance(wamid, str):
            labels(rt)[str(event["label"])] = wamid

    return run


async def play(rt: Runtime) -> int:
    """Advance the clock to the end of the loaded timeline, running every event in order."""
    end = _timeline_end.get(rt.world, rt.world.clock.now())
    return await rt.world.clock.advance_to(max(end, rt.world.clock.now()))


# ---- timeline actions -----------------------------------------------------------------------------

# An action returns the wamid it created (kept under the event's `label`) or anything else.
Action = Callable[[Runtime, str, Json], object]


def _ref(rt: Runtime, event: Json, key: str = "message") -> str:
    ref = str(event.get(key, ""))
    return labels(rt).get(ref, ref)


def _kind(event: Json) -> tuple[str, Any]:
    kind = str(event.get("type") or "text")
    content = event.get(kind)
    if kind in payloads.MEDIA_TYPES and content is None:
        content = {"caption": event["caption"]} if event.get("caption") else {}
    return kind, content


def _customer_send(rt: Runtime, pnid: str, e: Json) -> str:
    kind, content = _kind(e)
    referral = e.get("referral")
    if referral is True:
        referral = {}
    if isinstance(referral, dict):
        referral = payloads.referral_from(referral, rt.world.new_id("12"))
    reply = e.get("reply_to")
    return customers.send(
        rt,
        str(e["customer"]),
        pnid,
        type=kind,
        content=content,
        referral=referral or None,
        context_id=labels(rt).get(str(reply), reply) if reply else None,
        unsupported_code=e.get("unsupported"),
    ).wamid


def _app_send(rt: Runtime, pnid: str, e: Json) -> str:
    kind, content = _kind(e)
    reply = e.get("reply_to")
    return phone.app_send(
        rt,
        pnid,
        str(e["customer"]),
        type=kind,
        content=content,
        device=str(e.get("device", "primary")),
        context_id=labels(rt).get(str(reply), reply) if reply else None,
    ).wamid


def _number(rt: Runtime, pnid: str) -> Number:
    return customers.require_number(rt, pnid)


ACTIONS: dict[str, Action] = {
    "onboard": lambda w, p, e: phone.onboard(w, p, share_history=bool(e.get("share_history", True)))["code"],
    "customer_send": _customer_send,
    "customer_read": lambda w, p, e: customers.read(w, str(e["customer"]), phone_number_id=p),
    "customer_edit": lambda w, p, e: customers.edit(
        w, str(e["customer"]), _ref(w, e), body=e.get("text"), caption=e.get("caption")
    ),
    "customer_revoke": lambda w, p, e: customers.revoke(w, str(e["customer"]), _ref(w, e)),
    "customer_react": lambda w, p, e: (
        customers.react(w, str(e["customer"]), _ref(w, e), str(e.get("emoji", "👍"))).wamid
    ),
    "app_send": _app_send,
    "app_edit": lambda w, p, e: phone.app_edit(
        w, p, _ref(w, e), body=e.get("text"), caption=e.get("caption"), device=str(e.get("device", "primary"))
    ),
    "app_revoke": lambda w, p, e: phone.app_revoke(w, p, _ref(w, e), device=str(e.get("device", "primary"))),
    "contacts": lambda w, p, e: (
        phone.edit_contact(
            w,
            p,
            action=str(e.get("action", "add")),
            phone_number=str(e["phone_number"]),
            full_name=e.get("full_name"),
            first_name=e.get("first_name"),
        )
        and None
    ),
    "open_app": lambda w, p, e: phone.open_app(w, _number(w, p), str(e.get("device", "primary"))),
    "link_device": lambda w, p, e: phone.link_device(w, _number(w, p), str(e["kind"])) and None,
    "unlink_device": lambda w, p, e: phone.unlink_device(_number(w, p), str(e["kind"])) and None,
    "sync_contacts": lambda w, p, e: phone.start_contact_sync(w, _number(w, p)) and None,
    "disconnect": lambda w, p, e: phone.disconnect(w, p),
    "change_number": lambda w, p, e: phone.change_number(w, p, e.get("new_display_phone_number")),
    "re_register": lambda w, p, e: phone.re_register(w, p),
    "downgrade": lambda w, p, e: phone.downgrade(w, p),
}
