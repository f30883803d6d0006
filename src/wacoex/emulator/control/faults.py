"""Faults on demand: what can go wrong between Meta and a gateway, switched on through the control API.

A fault is ``{"kind": ..., <params>, "field"?, "phone_number_id"?, "path"?, "times"?, "probability"?}``:

- ``duplicate`` {count=1}: each matching webhook is delivered ``count`` extra times.
- ``batch`` {size=2, mode="entries"|"changes", max_wait=1.0}: several webhooks share one POST.
- ``reorder`` {window=2, max_wait=1.0}: hold ``window`` deliveries, then send them newest first.
- ``delay`` {seconds=5}: deliver later on the virtual clock.
- ``drop``: the attempt is lost (logged as dropped) and retried later with the normal backoff.
- ``api_error`` {status=500, code?, message?}: Graph/360dialog calls fail (500 -> code 1, 503 -> 2,
  429 -> 4 unless ``code`` is given); ``path`` limits it to request paths containing that text.
- ``slow_api`` {seconds=1}: Graph/360dialog calls answer after a real-time sleep.
- ``lost_response`` {seconds=30}: the call is carried out (a send is accepted, stored, delivered
  and its statuses flow) but its answer is held for a real-time ``seconds``, so a client with a
  shorter timeout gives up after its request has left.
- ``media_expiry`` {media_id?}: applied at once: the media (all media without ``media_id``) expires.

``times`` (default: unlimited) is how many matches consume the fault; ``probability`` (default 1)
uses the world's seeded random generator so runs are reproducible.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from wacoex.emulator.world import World

KINDS = frozenset(
    {
        "duplicate",
        "batch",
        "reorder",
        "delay",
        "drop",
        "api_error",
        "slow_api",
        "lost_response",
        "media_expiry",
    }
)
_COMMON = frozenset({"kind", "field", "phone_number_id", "path", "times", "probability"})


class FaultError(ValueError):
    """A fault specification that cannot be applied."""


@dataclass
class Fault:
    id: int
    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    field: str | None = None
    phone_number_id: str | None = None
    path: str | None = None
    times: int | None = None
    probability: float = 1.0
    used: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            **self.params,
            "field": self.field,
            "phone_number_id": self.phone_number_id,
            "path": self.path,
            "times": self.times,
            "probability": self.probability,
            "used": self.used,
        }


class FaultSet:
    """The active faults of one world."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.faults: list[Fault] = []
        self._ids = itertools.count(1)

    def add(self, spec: dict[str, Any]) -> Fault | None:
        """Validate and switch on one fault; ``media_expiry`` acts at once and returns None."""
        kind = spec.get("kind")
        if kind not in KINDS:
            raise FaultError(f"unknown fault kind {kind!r}; known: {', '.join(sorted(KINDS))}")
        times = spec.get("times")
        probability = float(spec.get("probability", 1.0))
        if times is not None and (not isinstance(times, int) or times < 1):
            raise FaultError("times must be a positive integer")
        if not 0.0 <= probability <= 1.0:
            raise FaultError("probability must be between 0 and 1")
        params = {k: v for k, v in spec.items() if k not in _COMMON}
        if kind == "api_error" and int(params.get("status", 500)) < 400:
            raise FaultError("api_error status must be 4xx or 5xx")
        if kind in ("slow_api", "lost_response") and float(params.get("seconds", 1.0)) < 0:
            raise FaultError(f"{kind} seconds must not be negative")
        if kind == "batch" and str(params.get("mode", "entries")) not in ("entries", "changes"):
            raise FaultError("batch mode must be 'entries' or 'changes'")
        if kind == "media_expiry":
            self.expire_media(params.get("media_id"))
            return None
        fault = Fault(
            id=next(self._ids),
            kind=kind,
            params=params,
            field=spec.get("field"),
            phone_number_id=spec.get("phone_number_id"),
            path=spec.get("path"),
            times=times,
            probability=probability,
        )
        self.faults.append(fault)
        return fault

    def clear(self, fault_id: int | None = None) -> None:
        self.faults = [f for f in self.faults if fault_id is not None and f.id != fault_id]

    def take(
        self,
        kind: str,
        *,
        field: str | None = None,
        phone_number_id: str | None = None,
        path: str | None = None,
    ) -> Fault | None:
        """The first active fault of ``kind`` matching the context, consuming one use of it."""
        for fault in self.faults:
            if fault.kind != kind:
                continue
            if fault.field is not None and fault.field != field:
                continue
            if fault.phone_number_id is not None and fault.phone_number_id != phone_number_id:
                continue
            if fault.path is not None and (path is None or fault.path not in path):
                continue
            if fault.probability < 1.0 and self.world.random.random() >= fault.probability:
                continue
            fault.used += 1
            if fault.times is not None and fault.used >= fault.times:
                self.faults.remove(fault)
            return fault
        return None

    def expire_media(self, media_id: str | None = None) -> int:
        count = 0
        for media in self.world.media.values():
            if media_id is None or media.id == media_id:
                media.expired = True
                count += 1
        return count

    def to_json(self) -> list[dict[str, Any]]:
        return [f.to_json() for f in self.faults]
