"""Field `history`: the Business app's past chats, in chunks per phase, plus later media and the decline.

A change holds `value.history[]` (chunks with threads of messages, or `errors[]` with 2593109 when
the owner declined) and/or `value.messages[]` (the content for an earlier `media_placeholder`).
Phase, chunk_order and progress may be strings; `threads` may be empty (a progress-only chunk);
business-sent messages may lack `to` (spec §8 C-2). This is the hot path: one webhook can hold
~10,000 messages, so the loop reads dicts directly.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from wacoex.domain import limits
from wacoex.domain.facts import JSON, AnyFact, HistoryChunk, HistoryMedia, HistoryMessage, Source, Unknown
from wacoex.domain.ids import digits
from wacoex.whatsapp.fields._common import (
    dicts,
    identity_problem,
    message_text,
    to_int,
    to_int32,
    to_str,
    value_errors,
)

_WAMID, _TYPE, _STATUS = limits.WAMID, limits.MESSAGE_TYPE, limits.HISTORY_STATUS

_CHUNK_KEYS = ("metadata", "threads", "errors")

# A 3 MB webhook holds ~10,000 messages and keyword binding in the frozen dataclass's __init__ is
# most of the per-message cost (3.3 µs of ~5 µs measured), so HistoryMessage is filled through its
# slot descriptors (1.3 µs). The field list is checked at import: a new field fails loudly here.
_FIELDS = (
    "wamid",
    "thread_id",
    "from_number",
    "to",
    "type",
    "content",
    "text",
    "timestamp",
    "history_status",
    "raw",
)
if tuple(f.name for f in dataclasses.fields(HistoryMessage)) != _FIELDS:
    raise ImportError("HistoryMessage fields changed: update _history_message in whatsapp/fields/history.py")
_new = object.__new__
(
    _set_wamid,
    _set_thread_id,
    _set_from_number,
    _set_to,
    _set_type,
    _set_content,
    _set_text,
    _set_timestamp,
    _set_history_status,
    _set_raw,
) = (HistoryMessage.__dict__[name].__set__ for name in _FIELDS)


def _history_message(
    wamid: str,
    thread_id: str,
    from_number: str | None,
    to: str | None,
    msg_type: str,
    content: Any,
    text: str | None,
    timestamp: int | None,
    history_status: str | None,
    raw: JSON,
) -> HistoryMessage:
    """HistoryMessage(...) equal to the dataclass constructor's, at a third of the cost."""
    message: HistoryMessage = _new(HistoryMessage)
    _set_wamid(message, wamid)
    _set_thread_id(message, thread_id)
    _set_from_number(message, from_number)
    _set_to(message, to)
    _set_type(message, msg_type)
    _set_content(message, content)
    _set_text(message, text)
    _set_timestamp(message, timestamp)
    _set_history_status(message, history_status)
    _set_raw(message, raw)
    return message


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
            phase=to_int32(metadata.get("phase")),
            chunk_order=to_int(metadata.get("chunk_order")),
            progress=to_int32(metadata.get("progress")),
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
    if len(digits(thread_id)) > limits.PHONE_DIGITS:
        reason = f"{where}: id has more than {limits.PHONE_DIGITS} digits"
        facts.append(Unknown(source=source, reason=reason, raw=thread))
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
            if (
                type(wamid) is str
                and wamid
                and len(wamid) <= _WAMID
                and type(msg_type) is str
                and len(msg_type) <= _TYPE
            ):
                # 15 digits stay below 2^53; longer strings take to_int's range check. None when
                # missing or unreadable: applied at the receipt's time, and noted.
                if type(stamp) is str and len(stamp) < 16 and stamp.isdecimal():
                    timestamp: int | None = int(stamp)
                else:
                    timestamp = to_int(stamp)
                context = item.get("history_context")
                status = context.get("status") if type(context) is dict else None
                if type(status) is str and (
                    len(status) > _STATUS or (not status.isascii() and len(status.upper()) > _STATUS)
                ):
                    status = None  # no status WhatsApp has is that long; the raw item keeps it
                content = item.get(msg_type)
                if content is None:
                    text = None
                elif msg_type == "text" and type(content) is dict:
                    text = content.get("body")
                    text = text if type(text) is str else None
                else:
                    text = message_text(msg_type, content)
                frm = item.get("from")
                to = item.get("to")
                append(
                    _history_message(
                        wamid,
                        thread_id,
                        frm if frm is None or type(frm) is str else to_str(frm),
                        to if to is None or type(to) is str else to_str(to),
                        msg_type,
                        content,
                        text,
                        timestamp,
                        status if type(status) is str else None,
                        item,
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
    if len(wamid) > limits.WAMID:
        return f"id longer than {limits.WAMID} characters"
    msg_type = item.get("type")
    if type(msg_type) is not str:
        return "missing or non-string type"
    return f"type longer than {limits.MESSAGE_TYPE} characters"


def parse_media(item: Any, index: int, source: Source) -> AnyFact:
    """One item of a history change's `messages[]`: the media for an earlier placeholder."""
    where = f"messages[{index}]"
    if type(item) is not dict:
        return Unknown(source=source, reason=f"{where}: not an object", raw=item)
    wamid = item.get("id")
    msg_type = item.get("type")
    if (
        type(wamid) is not str
        or not wamid
        or len(wamid) > limits.WAMID
        or type(msg_type) is not str
        or len(msg_type) > limits.MESSAGE_TYPE
    ):
        return Unknown(source=source, reason=f"{where}: {_what_is_wrong(item)}", raw=item)
    timestamp = to_int(item.get("timestamp"))  # None: applied at the receipt's time
    problem = identity_problem("from", to_str(item.get("from")), "", None)
    if problem is not None:
        return Unknown(source=source, reason=f"{where}: {problem}", raw=item)
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
