"""Field `history`: the Business app's past chats, in chunks per phase, plus later media and the decline.

A change holds `value.history[]` (chunks with threads of messages, or `errors[]` with 2593109 when
the owner declined) and/or `value.messages[]` (the content for an earlier `media_placeholder`).
Phase, chunk_order and progress may be strings; `threads` may be empty (a progress-only chunk);
business-sent messages may lack `to` (spec §8 C-2). This is the hot path: one webhook can hold
~10,000 messages, so the loop reads dicts directly.
"""

from __future__ import annotations

from typing import Any

from wacoex.domain.facts import JSON, AnyFact, HistoryChunk, HistoryMedia, HistoryMessage, Source, Unknown
from wacoex.whatsapp.fields._common import dicts, message_text, opt_str, to_int, to_str, value_errors

_CHUNK_KEYS = ("metadata", "threads", "errors")


def parse(value: JSON, source: Source) -> list[AnyFact]:
    """All facts of one `history` change value."""
    facts: list[AnyFact] = []
    chunks = value.get("history")
    media = value.get("messages")
    if chunks is not None:
        if type(chunks) is list:
            for index, chunk in enumerate(chunks):
                parse_chunk(chunk, f"history[{index}]", source, facts)
        else:
            facts.append(Unknown(source=source, reason="history: not a list", raw=chunks))
    if media is not None:
        if type(media) is list:
            for index, item in enumerate(media):
                facts.append(parse_media(item, index, source))
        else:
            facts.append(Unknown(source=source, reason="messages: not a list", raw=media))
    facts.extend(value_errors(value, source))
    if chunks is None and media is None and value.get("errors") is None:
        facts.append(Unknown(source=source, reason="history change without history or messages", raw=value))
    return facts


def parse_chunk(chunk: Any, where: str, source: Source, facts: list[AnyFact]) -> None:
    """Append the HistoryChunk for one `history[]` element, and an Unknown for each unreadable part."""
    if type(chunk) is not dict or not any(key in chunk for key in _CHUNK_KEYS):
        facts.append(Unknown(source=source, reason=f"{where}: not a history chunk", raw=chunk))
        return
    metadata = chunk.get("metadata")
    if type(metadata) is not dict:
        metadata = chunk  # some relays (360dialog examples, YCloud) lift phase/progress one level up
    threads = chunk.get("threads")
    messages: list[HistoryMessage] = []
    thread_count = 0
    if type(threads) is list:
        thread_count = len(threads)
        for t_index, thread in enumerate(threads):
            _parse_thread(thread, f"{where}.threads[{t_index}]", source, messages, facts)
    elif threads is not None:
        facts.append(Unknown(source=source, reason=f"{where}.threads: not a list", raw=threads))
    facts.append(
        HistoryChunk(
            source=source,
            phase=to_int(metadata.get("phase")),
            chunk_order=to_int(metadata.get("chunk_order")),
            progress=to_int(metadata.get("progress")),
            messages=tuple(messages),
            thread_count=thread_count,
            errors=dicts(chunk.get("errors")),
        )
    )


def _parse_thread(
    thread: Any, where: str, source: Source, messages: list[HistoryMessage], facts: list[AnyFact]
) -> None:
    if type(thread) is not dict:
        facts.append(Unknown(source=source, reason=f"{where}: not an object", raw=thread))
        return
    thread_id = to_str(thread.get("id"))
    if not thread_id:
        facts.append(Unknown(source=source, reason=f"{where}: missing or non-string id", raw=thread))
        return
    items = thread.get("messages")
    if type(items) is not list:
        if items is not None:
            facts.append(Unknown(source=source, reason=f"{where}.messages: not a list", raw=thread))
        return
    append = messages.append
    for m_index, item in enumerate(items):
        # Fast path for the documented shape; anything odd goes through the careful checks.
        if type(item) is dict:
            wamid = item.get("id")
            msg_type = item.get("type")
            stamp = item.get("timestamp")
            if type(wamid) is str and wamid and type(msg_type) is str:
                timestamp = int(stamp) if type(stamp) is str and stamp.isdecimal() else to_int(stamp)
                if timestamp is not None:
                    context = item.get("history_context")
                    content = item.get(msg_type)
                    frm = item.get("from")
                    to = item.get("to")
                    append(
                        HistoryMessage(
                            wamid=wamid,
                            thread_id=thread_id,
                            from_number=frm if type(frm) is str else to_str(frm),
                            to=to if type(to) is str else to_str(to),
                            type=msg_type,
                            content=content,
                            text=message_text(msg_type, content) if content is not None else None,
                            timestamp=timestamp,
                            history_status=opt_str(context.get("status")) if type(context) is dict else None,
                            raw=item,
                        )
                    )
                    continue
        facts.append(
            Unknown(source=source, reason=f"{where}.messages[{m_index}]: {_what_is_wrong(item)}", raw=item)
        )


def _what_is_wrong(item: Any) -> str:
    if type(item) is not dict:
        return "not an object"
    wamid = item.get("id")
    if type(wamid) is not str or not wamid:
        return "missing or non-string id"
    if type(item.get("type")) is not str:
        return "missing or non-string type"
    return "missing or non-numeric timestamp"


def parse_media(item: Any, index: int, source: Source) -> AnyFact:
    """One item of a history change's `messages[]`: the media for an earlier placeholder."""
    where = f"messages[{index}]"
    if type(item) is not dict:
        return Unknown(source=source, reason=f"{where}: not an object", raw=item)
    wamid = item.get("id")
    msg_type = item.get("type")
    timestamp = to_int(item.get("timestamp"))
    if type(wamid) is not str or not wamid or type(msg_type) is not str or timestamp is None:
        return Unknown(source=source, reason=f"{where}: {_what_is_wrong(item)}", raw=item)
    content = item.get(msg_type)
    return HistoryMedia(
        source=source,
        wamid=wamid,
        from_number=to_str(item.get("from")) or None,
        type=msg_type,
        content=content,
        text=message_text(msg_type, content),
        timestamp=timestamp,
        raw=item,
    )
