"""Webhook fixtures (see README.md): `load(name)` gives the parsed body, `load_bytes(name)` the bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).parent


def path(name: str) -> Path:
    """The fixture file for a name like "meta/messages/text" (the .json suffix is optional)."""
    file = ROOT / (name if name.endswith(".json") else f"{name}.json")
    if not file.is_file():
        raise FileNotFoundError(f"no fixture {name!r} under {ROOT}")
    return file


def load_bytes(name: str) -> bytes:
    return path(name).read_bytes()


def load(name: str) -> dict[str, Any]:
    body = orjson.loads(load_bytes(name))
    if not isinstance(body, dict):
        raise TypeError(f"fixture {name!r} is not a JSON object")
    return body


def names(under: str = "") -> list[str]:
    """Every fixture name below a folder ("meta", "meta/history", "360dialog"...), sorted."""
    base = ROOT / under
    return sorted(str(p.relative_to(ROOT).with_suffix("")) for p in base.rglob("*.json"))
