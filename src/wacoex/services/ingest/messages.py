"""Messages: a live one stored, a known one merged with what comes later, and what each does to its chat."""

from __future__ import annotations

from typing import Any

from wacoex.domain import events as ev
from wacoex.domain import facts as f
from wacoex.domain import limits
from wacoex.domain import messages as rules
from wacoex.domain.conversation import (
    MEDIA_TYPES,
    MUTATION_TYPES,
    NO_TIMESTAMP,
    advance_bound,
    explain_unsupported,
    opens_window,
    with_note,
)
from wacoex.domain.enums import Direction, MessageStatus, Origin
from wacoex.domain.ids import same_number
from wacoex.services.ingest.identities import conversation
from wacoex.services.ingest.mutations import apply_pending, mutate
from wacoex.services.ingest.run import Prepared, Run, record_own_number
from wacoex.services.ports import EventRow, ExistingMessage, NumberRef


def base_row(run: Run, number: NumberRef, item: Any) -> dict[str, Any]:
    """The columns every message row has, from an item with wamid, type, content, text and timestamp."""
    wamid, type_, content, text, timestamp = item.wamid, item.type, item.content, item.text, item.timestamp
    media_id = None
    media_state = None
    if type_ in MEDIA_TYPES and isinstance(content, dict):
        media_id = content.get("id")
        if type(media_id) is int:
            media_id = str(media_id)
        if type(media_id) is not str or len(media_id) > limits.MEDIA_ID:
            media_id = None  # not an id we could download; the content keeps what was sent
        if media_id:
            media_state = "pending" if run.fetch_media else "not_fetched"
        elif content.get("link"):
            media_state = "link"
    return dict(
        number_id=number.id,
        wamid=wamid,
        type=type_,
        content=content,
        text=text,
        occurred_at=at_ms(run, timestamp),
        received_at=run.receipt.received_at,
        placeholder=False,
        media_id=media_id,
        media_state=media_state,
        note=NO_TIMESTAMP if timestamp is None else None,
    )


def live_row(
    run: Run,
    number: NumberRef,
    item: f.InboundMessage | f.Echo,
    conv: int,
    direction: Direction,
    origin: Origin,
    status: MessageStatus,
    **extra: Any,
) -> dict[str, Any]:
    """The row of a live message (a customer's or an echo) in its conversation."""
    row = base_row(run, number, item)
    row.update(
        conversation_id=conv,
        direction=direction,
        origin=origin,
        status=status,
        status_at=row["occurred_at"],
        reply_to=item.reply_to,
        **extra,
    )
    return row


def inbound(run: Run, number: NumberRef, m: f.InboundMessage) -> None:
    at = at_ms(run, m.timestamp)
    if m.type in MUTATION_TYPES:
        mutate(run, number, m.type, m.content, m.wamid, at, by=m.from_wa_id or m.from_user_id or "")
        return
    profile_name = m.profile.profile_name if m.profile else None
    business = number.display_phone_number
    if m.new_wa_id and not same_number(m.new_wa_id, business) and not same_number(m.from_wa_id, business):
        # The person moves to the new number; the old one stays theirs as an alias, so the notice
        # itself (from the old number) and any late webhook land in one conversation.
        run.repo.change_number(
            number.id, old_wa_id=m.from_wa_id, user_id=m.from_user_id, new_wa_id=m.new_wa_id, at=at
        )
        run.cache.clear()  # contacts may have merged and numbers moved
    conv = conversation(
        run,
        number,
        wa_id=m.from_wa_id,
        user_id=m.from_user_id,
        profile_name=profile_name,
        at=at,
        reported=True,
    )
    if conv is None:
        record_own_number(run, number, m.source.field, m.raw)
        return
    row = live_row(
        run,
        number,
        m,
        conv,
        Direction.INBOUND,
        Origin.CUSTOMER,
        MessageStatus.RECEIVED,
        referral=m.referral,
    )
    if m.errors:
        row["errors"] = list(m.errors)
    if m.type == "unsupported":
        row["note"] = with_note(explain_unsupported(m.errors), row["note"])
    # A system notice (number changed, …) is not the customer writing: never unread.
    customer = m.type != "system"
    store(run, number, [Prepared(row, live=True, customer=customer, event=ev.MessageReceived)])


def echo(run: Run, number: NumberRef, e: f.Echo) -> None:
    at = at_ms(run, e.timestamp)
    if e.type in MUTATION_TYPES:
        mutate(run, number, e.type, e.content, e.wamid, at, by="business")
        return
    wa_id = e.to or (e.profile.wa_id if e.profile else None)
    user_id = e.to_user_id or (e.profile.user_id if e.profile else None)
    conv = conversation(run, number, wa_id=wa_id, user_id=user_id, at=at)
    if conv is None:
        record_own_number(run, number, e.source.field, e.raw)
        return
    row = live_row(run, number, e, conv, Direction.OUTBOUND, Origin.BUSINESS_APP, MessageStatus.SENT)
    store(run, number, [Prepared(row, live=True, echo=True, event=ev.MessageEcho)])


def sent(run: Run, number: NumberRef, s: f.ApiSent) -> None:
    """A message we sent through the API: outbound, origin `api`, `accepted` until its statuses come."""
    if s.type in MUTATION_TYPES:
        mutate(run, number, s.type, s.content, s.wamid, s.timestamp_ms, by="business")
        return
    conv = conversation(run, number, wa_id=s.to, user_id=s.to_user_id, at=s.timestamp_ms)
    if conv is None:
        record_own_number(run, number, s.source.field, s.raw)
        return
    row = base_row(run, number, s)
    row.update(
        occurred_at=s.timestamp_ms,
        note=None,
        conversation_id=conv,
        direction=Direction.OUTBOUND,
        origin=Origin.API,
        status=MessageStatus.ACCEPTED,
        status_at=s.timestamp_ms,
        reply_to=s.reply_to,
    )
    store(run, number, [Prepared(row, live=True, event=ev.MessageSent)])


def store(run: Run, number: NumberRef, prepared: list[Prepared]) -> int:
    """Insert new messages in bulk, fill placeholders, ignore duplicates. Returns how many were new."""
    unique: dict[str, Prepared] = {}
    for p in prepared:
        unique.setdefault(p.row["wamid"], p)
    existing = run.repo.existing_messages(number.id, list(unique))
    new = [p for w, p in unique.items() if w not in existing]
    # Ids are needed only for events; a history chunk records none, so it skips reading them back.
    want_ids = any(p.event for p in new)
    ids = run.repo.insert_messages([p.row for p in new], want_ids=want_ids) if new else {}
    for p in new:
        account_new(run, number, p, ids.get(p.row["wamid"]))
    for wamid, old in existing.items():
        merge(run, number, old, unique[wamid])
    return len(new)


def account_new(
    run: Run,
    number: NumberRef,
    p: Prepared,
    message_id: int | None,
    *,
    conversation_id: int | None = None,
    count: bool = True,
) -> None:
    """What a message newly known to us does to its conversation: counters, unread, window, event.

    `count=False` when the message was already counted (a placeholder created by a status).
    """
    conv = conversation_id if conversation_id is not None else p.row.get("conversation_id")
    if conv is None:
        return
    d = run.delta(conv)
    occurred = p.row.get("occurred_at")
    d.saw(occurred, live=p.live)
    if count and p.live:
        d.added_messages += 1
    elif count:
        d.added_history += 1
    if p.customer:
        d.added_unread += 1
        if occurred is not None and opens_window(p.row["type"]):
            d.last_customer_at = max(d.last_customer_at or 0, occurred)
    if p.echo:
        d.read_all()
        d.last_echo_at = max(d.last_echo_at or 0, occurred or 0)
    if p.event is not None:
        event = arrived(p.event, number, p.row)
        run.events.append(EventRow(event, number.id, conversation_id=conv, message_id=message_id))


def merge(run: Run, number: NumberRef, old: ExistingMessage, p: Prepared) -> None:
    """A wamid we already have: what arrived changes it (domain.messages.merge), and counts."""
    m = rules.merge(old, p.row)
    if not m.values:
        return  # a duplicate
    run.repo.update_message(old.id, m.values)
    conv = m.values.get("conversation_id", old.conversation_id)
    if m.filled:
        if m.status is not None:
            # Conditional: a status that reached the placeholder meanwhile (another worker) stays.
            run.repo.advance_status(old.id, m.status.value, p.row.get("status_at"), advance_bound(m.status))
        account_new(run, number, p, old.id, conversation_id=conv, count=old.conversation_id is None)
        if old.pending_edit:
            old.conversation_id = conv
            apply_pending(run, number, old, old.pending_edit)
    elif m.promoted and conv is not None:
        account_new(run, number, p, old.id, conversation_id=conv, count=False)
        d = run.delta(conv)
        if old.conversation_id is not None:  # it was counted as history; now it is live
            d.added_history -= 1
        d.added_messages += 1
    elif m.attached:
        account_new(run, number, Prepared(p.row, live=False), old.id)


def at_ms(run: Run, timestamp: int | None) -> int:
    """WhatsApp's time of an item in ms, or the receipt's when the item had none (the row notes it)."""
    return run.receipt.received_at if timestamp is None else timestamp * 1000


def arrived(kind: type[ev.MessageArrived], number: NumberRef, row: dict[str, Any]) -> ev.MessageArrived:
    return kind(
        phone_number_id=number.phone_number_id,
        wamid=row["wamid"],
        direction=row.get("direction"),
        origin=row.get("origin"),
        type=row.get("type"),
        text=row.get("text"),
        occurred_at=row.get("occurred_at"),
        status=row.get("status"),
    )
