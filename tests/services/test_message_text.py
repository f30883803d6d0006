"""A message's text is stored once (in `text`), and the API still shows the object as received."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from tests import payloads as p
from tests.gateway import Gateway, running_gateway
from wacoex.domain.conversation import TEXT_KEYS
from wacoex.store.message_text import read_content, stored_content

_values = st.one_of(st.none(), st.text(max_size=5), st.integers())
_objects = st.dictionaries(st.sampled_from(["body", "caption", "id", "mime_type", "x"]), _values, max_size=4)


@given(type_=st.sampled_from([*TEXT_KEYS, "location", "interactive", "unknown"]), content=_objects)
def test_what_is_stored_reads_back_as_received(type_: str, content: dict[str, Any]) -> None:
    key = TEXT_KEYS.get(type_)
    text = content.get(key) if key is not None and isinstance(content.get(key), str) else None
    stored = stored_content(type_, content, text)
    assert read_content(type_, stored, text) == content
    if text is not None:
        assert key not in stored  # the text is not kept twice


def test_a_text_and_a_caption_are_stored_once_and_shown_whole(db_url: str, tmp_path: Path) -> None:
    with running_gateway(db_url, tmp_path) as gw:
        _store_and_show(gw)


def _store_and_show(gw: Gateway) -> None:
    gw.register()
    long_text = "x" * 3000
    gw.deliver(p.inbound("wamid.T1", "16505550001", 1_760_000_000, long_text))
    image = {"id": "42", "mime_type": "image/jpeg", "caption": "the blue one"}
    gw.deliver(p.inbound("wamid.I1", "16505550001", 1_760_000_001, type_="image", content=image))
    with gw.container.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT wamid, content, text FROM messages")).all()
    stored = {
        wamid: (orjson.loads(content) if isinstance(content, str | bytes) else content, text)
        for wamid, content, text in rows
    }
    assert stored["wamid.T1"] == ({}, long_text)
    assert stored["wamid.I1"] == ({"id": "42", "mime_type": "image/jpeg"}, "the blue one")
    shown = {m["wamid"]: m for m in gw.all_messages()}
    assert shown["wamid.T1"]["content"] == {"body": long_text}
    assert shown["wamid.T1"]["text"] == long_text
    assert shown["wamid.I1"]["content"] == image
