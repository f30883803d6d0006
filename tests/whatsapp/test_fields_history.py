"""Field `history`: approved chunks, media follow-ups, the decline, progress-only and string numbers."""

from __future__ import annotations

from typing import Any

from tests.data import load
from wacoex.domain.facts import HistoryChunk, HistoryMedia, HistoryMessage, Unknown
from wacoex.whatsapp.envelope import parse_meta

BUSINESS = "15550783881"


def one_chunk(name: str) -> HistoryChunk:
    facts = parse_meta(load(f"meta/history/{name}"))
    assert len(facts) == 1
    fact = facts[0]
    assert isinstance(fact, HistoryChunk), fact
    return fact


def test_approved_chunk_holds_every_message_of_every_thread() -> None:
    chunk = one_chunk("approved")
    assert (chunk.phase, chunk.chunk_order, chunk.progress) == (0, 1, 55)
    assert chunk.thread_count == 2
    assert [m.thread_id for m in chunk.messages] == ["16505551234"] * 3 + ["12125557890"]
    assert chunk.errors == ()
    assert not chunk.declined
    assert chunk.source.field == "history"
    assert chunk.source.phone_number_id == "106540352242922"


def test_history_messages_keep_from_device_time_status_and_text() -> None:
    first, placeholder, reply, other = one_chunk("approved").messages
    assert first == HistoryMessage(
        wamid="wamid.HBgLMTY0NjcwNDM1OTUVAgARGBIyNDlBOEI5QUQ4NDc0N0FCNjMA",
        thread_id="16505551234",
        from_number=BUSINESS,
        to=None,
        type="text",
        content={"body": "Here's the info you requested! https://www.meta.com/quest/quest-3/"},
        text="Here's the info you requested! https://www.meta.com/quest/quest-3/",
        timestamp=1739230955,
        history_status="READ",
        raw=first.raw,
    )
    assert placeholder.type == "media_placeholder"
    assert placeholder.content is None
    assert placeholder.text is None
    assert placeholder.history_status == "PLAYED"
    assert reply.from_number == "16505551234"
    assert reply.text == "Thanks!"
    assert other.history_status == "DELIVERED"
    assert other.thread_id == "12125557890"


def test_business_message_with_to_keeps_it() -> None:
    [message] = one_chunk("business_message_with_to").messages
    assert message.to == "16505551234"
    assert message.from_number == BUSINESS
    assert message.text == "Catalogue"
    assert message.history_status == "SENT"


def test_media_follow_up_becomes_history_media_for_the_placeholder() -> None:
    [media] = parse_meta(load("meta/history/media_followup"))
    assert isinstance(media, HistoryMedia)
    assert media.wamid == "wamid.QyNUEHBgLMTY0NjcwNDM1OTUVAgARGBI1Rj3NEYxMzAzMzQ5MkEA"
    assert media.type == "image"
    assert media.content["id"] == "24230790383178626"
    assert media.text == "Black Prince echeveria"
    assert media.timestamp == 1738796547
    assert media.from_number == "16505551234"
    assert media.source.field == "history"


def test_decline_is_a_chunk_with_the_2593109_error() -> None:
    chunk = one_chunk("declined")
    assert chunk.declined
    assert chunk.errors[0]["code"] == 2593109
    assert chunk.messages == ()
    assert (chunk.phase, chunk.chunk_order, chunk.progress) == (None, None, None)


def test_progress_only_chunk_has_no_threads() -> None:
    chunk = one_chunk("progress_only")
    assert (chunk.phase, chunk.chunk_order, chunk.progress) == (1, 3, 80)
    assert chunk.thread_count == 0
    assert chunk.messages == ()


def test_phase_chunk_order_and_progress_may_be_strings() -> None:
    chunk = one_chunk("string_phase_progress")
    assert (chunk.phase, chunk.chunk_order, chunk.progress) == (2, 4, 100)
    assert len(chunk.messages) == 4


def _history(*chunks: Any) -> dict[str, Any]:
    value = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": "1"}, "history": list(chunks)}
    return {"entry": [{"id": "w", "changes": [{"field": "history", "value": value}]}]}


def test_bad_history_messages_become_unknown_and_the_rest_are_kept() -> None:
    good = {"from": "1", "id": "wamid.G", "timestamp": 1739230955, "type": "text", "text": {"body": "ok"}}
    bad_time = {"from": "1", "id": "wamid.T", "timestamp": None, "type": "text"}
    chunk = {
        "metadata": {"phase": 0},
        "threads": [{"id": "2", "messages": [good, {"type": "text"}, bad_time, 7]}],
    }
    facts = parse_meta(_history(chunk))
    unknown = [f for f in facts if isinstance(f, Unknown)]
    [history] = [f for f in facts if isinstance(f, HistoryChunk)]
    # A message without a time is kept (the service applies it at the receipt's time).
    assert [(m.wamid, m.timestamp) for m in history.messages] == [("wamid.G", 1739230955), ("wamid.T", None)]
    assert [u.reason for u in unknown] == [
        "history[0].threads[0].messages[1]: missing or non-string id",
        "history[0].threads[0].messages[3]: not an object",
    ]


def test_a_history_media_follow_up_without_a_timestamp_is_kept() -> None:
    body = load("meta/history/media_followup")
    del body["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"]
    [media] = parse_meta(body)
    assert isinstance(media, HistoryMedia)
    assert media.timestamp is None


def test_thread_without_id_becomes_unknown() -> None:
    chunk = {"metadata": {"phase": 0}, "threads": [{"messages": []}]}
    facts = parse_meta(_history(chunk))
    assert isinstance(facts[0], Unknown)
    assert facts[0].reason == "history[0].threads[0]: missing or non-string id"
    assert isinstance(facts[1], HistoryChunk)
    assert facts[1].thread_count == 1


def test_chunk_with_phase_at_top_level_is_read() -> None:
    [chunk] = parse_meta(_history({"phase": "1", "chunk_order": 2, "progress": "40", "threads": []}))
    assert isinstance(chunk, HistoryChunk)
    assert (chunk.phase, chunk.chunk_order, chunk.progress) == (1, 2, 40)


def test_empty_object_in_history_becomes_unknown() -> None:
    [fact] = parse_meta(_history({}))
    assert isinstance(fact, Unknown)
    assert fact.reason == "history[0]: not a history chunk"


def test_several_chunks_in_one_change_are_all_kept() -> None:
    chunks = [
        {"metadata": {"phase": 0, "chunk_order": n, "progress": n * 10}, "threads": []} for n in (2, 1, 3)
    ]
    facts = parse_meta(_history(*chunks))
    assert [f.chunk_order for f in facts if isinstance(f, HistoryChunk)] == [2, 1, 3]
