"""The history export a coexistence number sends after `smb_app_data` sync_type=history (spec §2.2).

`history_webhooks()` is a pure, streaming generator of `(field, value)` pairs: 1:1 chats from the
180 days before onboarding, phases 0 (day 0-1), 1 (1-90), 2 (90-180), chunks no larger than
`max_chunk_bytes` once serialised, chunk order shuffled inside a small window, `progress` rising to
100, media as `media_placeholder` and media follow-ups (field `history`, `value.messages[]`) only for
media from the last 14 days, sometimes delivered before their chunk. `start_history_sync()` feeds
it into `World.emit`, or emits the single 2593109 webhook when the business declined to share.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from wacoex.emulator.platform import payloads
from wacoex.emulator.platform.payloads import Json
from wacoex.emulator.runtime import Runtime
from wacoex.emulator.world import Number

DAY = 86_400.0
# (phase, youngest age, oldest age) in days before onboarding.
PHASES: tuple[tuple[int, float, float], ...] = ((0, 0.0, 1.0), (1, 1.0, 90.0), (2, 90.0, 180.0))
# Bytes the envelope and value head add around the chunk, with generous room for long ids.
ENVELOPE_OVERHEAD = 512


class HistoryItem(Protocol):
    """What the export reads from a stored message (rt.world.ChatMessage satisfies it)."""

    wamid: str
    direction: str
    type: str
    content: Any
    timestamp: float
    status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryOptions:
    max_chunk_bytes: int = 3_000_000
    days: int = 180
    media_followup_days: int = 14
    shuffle_window: int = 4
    media_before_chunk_probability: float = 0.3
    seed: int | None = None


@dataclass(frozen=True, slots=True)
class Thread:
    """One 1:1 chat: the customer's wa_id and its messages sorted by timestamp."""

    wa_id: str
    messages: Sequence[HistoryItem]


@dataclass(slots=True)
class _Chunk:
    phase: int
    chunk_order: int
    threads: list[Json]
    message_count: int
    media: list[Json]


def phase_of(age_seconds: float) -> int | None:
    """The history phase of a message `age_seconds` before onboarding, None when outside 180 days."""
    for phase, young, old in PHASES:
        if young * DAY <= age_seconds < old * DAY:
            return phase
    return None


def count_exportable(threads: Iterable[Thread], onboarded_at: float, days: int = 180) -> int:
    """How many messages the export will carry (to compute `progress`)."""
    lo, hi = onboarded_at - days * DAY, onboarded_at
    total = 0
    for thread in threads:
        stamps = [m.timestamp for m in thread.messages]
        total += bisect.bisect_right(stamps, hi) - bisect.bisect_right(stamps, lo)
    return total


def _phase_slice(thread: Thread, onboarded_at: float, young: float, old: float) -> Sequence[HistoryItem]:
    # A message exactly at onboarding belongs to day 0; one exactly 180 days old is outside.
    stamps = [m.timestamp for m in thread.messages]
    start = bisect.bisect_right(stamps, onboarded_at - old * DAY)
    end = bisect.bisect_right(stamps, onboarded_at - young * DAY) if young > 0 else len(stamps)
    end = min(end, bisect.bisect_right(stamps, onboarded_at))
    return thread.messages[start:end]


def _media_followup(business: str, wa_id: str, item: HistoryItem) -> Json:
    sender = business if item.direction == "outbound" else wa_id
    return payloads.message(
        sender=sender, wamid=item.wamid, timestamp=item.timestamp, type=item.type, content=item.content
    )


def _chunks_of_phase(
    threads: Sequence[Thread],
    *,
    phase: int,
    young: float,
    old: float,
    business: str,
    onboarded_at: float,
    options: HistoryOptions,
) -> Iterator[_Chunk]:
    limit = options.max_chunk_bytes - ENVELOPE_OVERHEAD - len(business) * 2
    media_since = onboarded_at - options.media_followup_days * DAY
    dumps = orjson.dumps
    order = 1
    chunk = _Chunk(phase, order, [], 0, [])
    size = 0
    for thread in threads:
        items = _phase_slice(thread, onboarded_at, young, old)
        if not items:
            continue
        wa_id = thread.wa_id
        thread_overhead = len(wa_id) + 32
        current: list[Json] | None = None
        for item in items:
            outbound = item.direction == "outbound"
            msg = payloads.history_message(
                sender=business if outbound else wa_id,
                to=wa_id if outbound else None,
                wamid=item.wamid,
                timestamp=item.timestamp,
                type=item.type,
                content=item.content,
                status=item.status,
            )
            msg_size = len(dumps(msg)) + 1
            extra = msg_size + (thread_overhead if current is None else 0)
            if chunk.message_count and size + extra > limit:
                yield chunk
                order += 1
                chunk = _Chunk(phase, order, [], 0, [])
                size = 0
                current = None
                extra = msg_size + thread_overhead
            if current is None:
                current = []
                chunk.threads.append(payloads.history_thread(wa_id, current))
            current.append(msg)
            chunk.message_count += 1
            size += extra
            if item.type in payloads.MEDIA_TYPES and item.timestamp >= media_since:
                chunk.media.append(_media_followup(business, wa_id, item))
    if chunk.message_count:
        yield chunk


def history_webhooks(
    threads: Sequence[Thread],
    *,
    display_phone_number: str,
    phone_number_id: str,
    onboarded_at: float,
    options: HistoryOptions | None = None,
) -> Iterator[tuple[str, Json]]:
    """Yield `("history", value)` pairs in delivery order for an approved history share."""
    opts = options or HistoryOptions()
    rng = random.Random(opts.seed)
    business = display_phone_number
    total = count_exportable(threads, onboarded_at, opts.days) or 1
    sent = 0
    window: list[_Chunk] = []

    def deliver(chunk: _Chunk) -> Iterator[tuple[str, Json]]:
        nonlocal sent
        sent += chunk.message_count
        progress = 100 if sent >= total else min(99, sent * 100 // total)
        followups = [
            payloads.history_media_value(
                display_phone_number=display_phone_number, phone_number_id=phone_number_id, messages=[m]
            )
            for m in chunk.media
        ]
        media_first = bool(followups) and rng.random() < opts.media_before_chunk_probability
        if media_first:
            for value in followups:
                yield "history", value
        head = payloads.history_chunk(
            phase=chunk.phase, chunk_order=chunk.chunk_order, progress=progress, threads=chunk.threads
        )
        yield (
            "history",
            payloads.history_value(
                display_phone_number=display_phone_number, phone_number_id=phone_number_id, chunks=[head]
            ),
        )
        if not media_first:
            for value in followups:
                yield "history", value

    for phase, young, old in PHASES:
        if old > opts.days:
            old = float(opts.days)
        if young >= old:
            continue
        for chunk in _chunks_of_phase(
            threads,
            phase=phase,
            young=young,
            old=old,
            business=business,
            onboarded_at=onboarded_at,
            options=opts,
        ):
            window.append(chunk)
            if len(window) >= max(1, opts.shuffle_window):
                yield from deliver(window.pop(rng.randrange(len(window))))
        # Phases are exported in order; chunks inside a phase arrive out of order.
        while window:
            yield from deliver(window.pop(rng.randrange(len(window))))
    if sent == 0:
        # Nothing to share: one empty chunk still tells the partner the sync is complete.
        head = payloads.history_chunk(phase=0, chunk_order=1, progress=100, threads=[])
        yield (
            "history",
            payloads.history_value(
                display_phone_number=display_phone_number, phone_number_id=phone_number_id, chunks=[head]
            ),
        )


def declined_webhooks(*, display_phone_number: str, phone_number_id: str) -> Iterator[tuple[str, Json]]:
    """The single `history` webhook carrying error 2593109."""
    yield (
        "history",
        payloads.history_declined_value(
            display_phone_number=display_phone_number, phone_number_id=phone_number_id
        ),
    )


def is_one_to_one(wa_id: str) -> bool:
    """Group chats (ids like `120363...@g.us` or `...-...`) are never exported."""
    return wa_id.isdigit()


def threads_of(rt: Runtime, number: Number) -> list[Thread]:
    """The number's 1:1 chats, messages sorted by time (the phone keeps them in arrival order)."""
    found = []
    for (pnid, wa_id), chat in rt.world.chats.items():
        if pnid != number.phone_number_id or not is_one_to_one(wa_id) or not chat.messages:
            continue
        messages = chat.messages
        if any(a.timestamp > b.timestamp for a, b in itertools.pairwise(messages)):
            messages = sorted(messages, key=lambda m: m.timestamp)
        found.append(Thread(wa_id, messages))
    return found


def start_history_sync(rt: Runtime, number: Number, *, options: HistoryOptions | None = None) -> int:
    """Emit the history export (or the 2593109 decline) for `number`; returns webhooks emitted."""
    if number.onboarded_at is None:
        raise ValueError(f"{number.phone_number_id} was never onboarded")
    if options is None:
        options = HistoryOptions(
            seed=rt.world.random.randrange(2**32), **number.extra.get("history_options", {})
        )
    if not number.history_shared:
        webhooks: Iterator[tuple[str, Json]] = declined_webhooks(
            display_phone_number=number.display_phone_number, phone_number_id=number.phone_number_id
        )
    else:
        webhooks = history_webhooks(
            threads_of(rt, number),
            display_phone_number=number.display_phone_number,
            phone_number_id=number.phone_number_id,
            onboarded_at=number.onboarded_at,
            options=options,
        )
    sent = 0
    for field, value in webhooks:
        rt.emit(number.phone_number_id, field, value)
        sent += 1
    return sent
