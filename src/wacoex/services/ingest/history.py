"""History: the chunks of an imported chat history and their media follow-ups."""

from __future__ import annotations

from typing import Any

from wacoex.domain import events as ev
from wacoex.domain import facts as f
from wacoex.domain.conversation import (
    HISTORY_STATUS,
    history_direction,
)
from wacoex.domain.enums import Direction, MessageStatus, Origin
from wacoex.domain.lifecycle import HISTORY_FROM, HistoryState, history_after_chunk
from wacoex.services.ingest.identities import conversation
from wacoex.services.ingest.messages import at_ms, base_row, store
from wacoex.services.ingest.run import Prepared, Run, record_own_number, sync_seen
from wacoex.services.ports import EventRow, NumberRef


def history_chunk(run: Run, number: NumberRef, chunk: f.HistoryChunk) -> None:
    sync_seen(run, number, "history")
    if chunk.declined:
        errors = list(chunk.errors)
        if _move(
            run, number, HistoryState.DECLINED, {"history_error": errors, "history_declined_at": run.now}
        ):
            run.events.append(
                EventRow(ev.HistoryDeclined(phone_number_id=number.phone_number_id, errors=errors), number.id)
            )
        return
    prepared: list[Prepared] = []
    outbound_by_sender: dict[str | None, bool] = {}  # one check per sender, not per message
    for hm in chunk.messages:
        outbound = outbound_by_sender.get(hm.from_number)
        if outbound is None:
            outbound = outbound_by_sender[hm.from_number] = (
                history_direction(hm.from_number, number.display_phone_number) is Direction.OUTBOUND
            )
        counterparty = hm.thread_id or (hm.to if outbound else hm.from_number)
        conv = conversation(run, number, wa_id=counterparty, user_id=None, at=at_ms(run, hm.timestamp))
        if conv is None:
            record_own_number(run, number, "history", hm.raw)
            continue
        row = base_row(run, number, hm)
        hstatus = (hm.history_status or "").upper() or None
        # Without (or with an unknown) history_context the message was at least sent: status is
        # never null, and history_status keeps what WhatsApp said (or null).
        status = HISTORY_STATUS.get(hstatus or "", MessageStatus.SENT) if outbound else MessageStatus.RECEIVED
        row.update(
            conversation_id=conv,
            direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
            origin=Origin.HISTORY,
            status=status.value,
            history_status=hstatus,
        )
        if hm.type == "media_placeholder":
            row["media_state"] = "awaiting"
        prepared.append(Prepared(row, live=False))
    inserted = store(run, number, prepared) if prepared else 0
    phase = chunk.phase if chunk.phase is not None else -1
    run.repo.record_history_chunk(
        number.id, phase, chunk.chunk_order, chunk.progress, inserted, chunk.thread_count, run.now
    )
    state = history_after_chunk(chunk.progress, declined=False)
    if _move(run, number, state, {}) and state is HistoryState.COMPLETE:
        run.events.append(
            EventRow(
                ev.HistoryCompleted(phone_number_id=number.phone_number_id, phase=chunk.phase), number.id
            )
        )


def _move(run: Run, number: NumberRef, state: HistoryState, values: dict[str, Any]) -> bool:
    """Move the history import to `state` if the domain allows it from where it is."""
    return run.repo.move_history_state(number.id, HISTORY_FROM[state], state.value, values)


def history_media(run: Run, number: NumberRef, hm: f.HistoryMedia) -> None:
    outbound = history_direction(hm.from_number, number.display_phone_number) is Direction.OUTBOUND
    conv = None
    if not outbound:
        conv = conversation(run, number, wa_id=hm.from_number, user_id=None, at=at_ms(run, hm.timestamp))
    row = base_row(run, number, hm)
    # The chunk, if it comes later, is authoritative for the status (see _merge); until then the
    # follow-up's own direction gives one, so no history message is ever without a status.
    row.update(
        conversation_id=conv,
        direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
        origin=Origin.HISTORY,
        status=(MessageStatus.SENT if outbound else MessageStatus.RECEIVED).value,
    )
    store(run, number, [Prepared(row, live=False)])
