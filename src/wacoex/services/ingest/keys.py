"""What a batch of facts will look up, gathered before it is applied (one query per kind)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from wacoex.domain import facts as f
from wacoex.domain.conversation import MUTATION_TYPES
from wacoex.services.ingest.mutations import target_of
from wacoex.services.ports import Lookups, NumberKeys


def _wamid(type_: Any, wamid: Any, content: Any) -> str | None:
    """The message a live item names: itself, or the one an edit, revoke or reaction targets."""
    if isinstance(type_, str) and type_ in MUTATION_TYPES:
        return target_of(content) if isinstance(content, dict) else None
    return wamid


def _strings(kind: set[str]) -> None:
    """Only strings are keys (a bad item may carry anything: it fails when applied, not here)."""
    for value in [v for v in kind if not isinstance(v, str) or not v]:
        kind.discard(value)


def gather(units: Iterable[Any], into: Lookups) -> None:
    """Add the numbers, wamids, phones and BSUIDs `units` name to `into` (a hint: misses are read later)."""
    for unit in units:
        try:
            _gather_one(unit, into)
        except TypeError:  # an unhashable value in a bad item
            continue
    for keys in into.values():
        for kind in (keys.wamids, keys.phones, keys.user_ids):
            _strings(kind)


def _gather_one(unit: Any, into: Lookups) -> None:
    source = getattr(unit, "source", None)
    pnid = source.phone_number_id if isinstance(source, f.Source) else None
    if not pnid:
        return
    keys = into.get(pnid)
    if keys is None:
        keys = into[pnid] = NumberKeys()
    wamids, phones, users = keys.wamids, keys.phones, keys.user_ids
    if isinstance(unit, f.InboundMessage):
        wamids.add(_wamid(unit.type, unit.wamid, unit.content) or "")
        phones.update((unit.from_wa_id or "", unit.new_wa_id or ""))
        users.add(unit.from_user_id or "")
    elif isinstance(unit, f.Echo):
        wamids.add(_wamid(unit.type, unit.wamid, unit.content) or "")
        phones.add(unit.to or "")
        users.add(unit.to_user_id or "")
        if unit.profile is not None:
            phones.add(unit.profile.wa_id or "")
            users.add(unit.profile.user_id or "")
    elif isinstance(unit, f.StatusUpdate):
        wamids.add(unit.wamid)
        phones.add(unit.recipient_id or "")
        users.add(unit.recipient_user_id or "")
        if unit.profile is not None:
            phones.add(unit.profile.wa_id or "")
    elif isinstance(unit, f.HistoryChunk):
        for hm in unit.messages:
            wamids.add(hm.wamid)
            phones.update((hm.thread_id or "", hm.to or "", hm.from_number or ""))
    elif isinstance(unit, f.HistoryMedia):
        wamids.add(unit.wamid)
        phones.add(unit.from_number or "")
    elif isinstance(unit, f.ContactChange):
        phones.add(unit.phone_number or "")
        users.add(unit.user_id or "")
