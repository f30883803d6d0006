"""Apply webhook facts to the unified record: idempotent, order-tolerant, batch-safe.

One receipt (one webhook POST) is applied inside a transaction owned by the caller. Every fact of
every entry/change/item is applied; a fact for a number we do not serve yet is kept by holding the
receipt, and applying it again later is harmless because every step here is idempotent:
messages are unique by (number, wamid), statuses only move forward, address-book entries and
account events are fenced by Meta's timestamps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wacoex.domain import facts as f
from wacoex.domain.conversation import (
    HISTORY_STATUS,
    MEDIA_TYPES,
    MUTATION_TYPES,
    explain_unsupported,
    history_direction,
    opens_window,
    status_advances,
)
from wacoex.domain.enums import ContactAction, Direction, MessageStatus, Origin
from wacoex.domain.ids import digits, same_number
from wacoex.services.ports import (
    ConversationDelta,
    EventRow,
    ExistingMessage,
    FactParser,
    IngestRepository,
    NumberRef,
    Receipt,
)

_STATE_FOR_EVENT = {
    "PARTNER_REMOVED": "disconnected",
    "ACCOUNT_OFFBOARDED": "offboarded",
    "ACCOUNT_RECONNECTED": "connected",
    "ACCOUNT_DELETED": "offboarded",
}


@dataclass(slots=True)
class Outcome:
    facts: int
    waiting_for: list[str]


@dataclass(slots=True)
class _Prepared:
    row: dict[str, Any]
    live: bool
    customer: bool = False  # a live customer message: unread, may open the window
    echo: bool = False
    event: str | None = None


@dataclass(slots=True)
class BatchCache:
    """Lookups shared by the receipts applied in one transaction.

    The caller must `clear()` it when a receipt's savepoint is rolled back: rows that receipt
    created no longer exist.
    """

    numbers: dict[str, NumberRef | None] = field(default_factory=dict)
    contacts: dict[tuple[int, str], int] = field(default_factory=dict)
    conversations: dict[tuple[int, int], int] = field(default_factory=dict)
    # (number, wa_id, user_id) -> (conversation or None for the business's own number, profile name)
    identities: dict[tuple[int, str | None, str | None], tuple[int | None, str | None]] = field(
        default_factory=dict
    )

    def clear(self) -> None:
        self.numbers.clear()
        self.contacts.clear()
        self.conversations.clear()
        self.identities.clear()


@dataclass(slots=True)
class _Run:
    """State of applying one receipt: caches and what to write at the end."""

    repo: IngestRepository
    receipt: Receipt
    now: int
    fetch_media: bool
    cache: BatchCache
    deltas: dict[int, ConversationDelta] = field(default_factory=dict)
    events: list[EventRow] = field(default_factory=list)
    waiting_for: set[str] = field(default_factory=set)

    def delta(self, conversation_id: int) -> ConversationDelta:
        d = self.deltas.get(conversation_id)
        if d is None:
            d = self.deltas[conversation_id] = ConversationDelta()
        return d


class Ingest:
    """Applies parsed facts. `parse` turns a receipt's raw bytes into facts (the whatsapp adapter)."""

    def __init__(self, parse: FactParser, *, fetch_media: bool = True, clock: Callable[[], int]) -> None:
        self._parse = parse
        self._fetch_media = fetch_media
        self._clock = clock

    def apply(self, repo: IngestRepository, receipt: Receipt, cache: BatchCache | None = None) -> Outcome:
        facts = self._parse(receipt.body, receipt.source)
        run = _Run(
            repo=repo,
            receipt=receipt,
            now=self._clock(),
            fetch_media=self._fetch_media,
            cache=cache if cache is not None else BatchCache(),
        )
        for fact in facts:
            self._apply_fact(run, fact)
        if repo.conversation_aliases:
            self._follow_merges(run, repo.conversation_aliases)
        repo.apply_conversation_deltas(run.deltas)
        repo.record_events(run.events, run.now)
        return Outcome(facts=len(facts), waiting_for=sorted(run.waiting_for))

    @staticmethod
    def _follow_merges(run: _Run, aliases: dict[int, int]) -> None:
        """Deltas and events of a conversation merged away in this receipt go to the one it became."""

        def final(conv: int) -> int:
            while conv in aliases:
                conv = aliases[conv]
            return conv

        deltas: dict[int, ConversationDelta] = {}
        for conv, delta in run.deltas.items():
            target = final(conv)
            if target in deltas:
                deltas[target].absorb(delta)
            else:
                deltas[target] = delta
        run.deltas = deltas
        for event in run.events:
            if event.conversation_id is not None:
                event.conversation_id = final(event.conversation_id)

    # -- dispatch -----------------------------------------------------------------------------

    def _apply_fact(self, run: _Run, fact: Any) -> None:
        if isinstance(fact, f.AccountEvent):
            self._account_event(run, fact)
            return
        if isinstance(fact, f.Unknown):
            run.repo.record_unknown(
                run.receipt.id, fact.source.field, fact.source.phone_number_id, fact.reason, fact.raw, run.now
            )
            return
        number = self._number(run, fact.source)
        if number is None:
            return
        if isinstance(fact, f.InboundMessage):
            self._inbound(run, number, fact)
        elif isinstance(fact, f.Echo):
            self._echo(run, number, fact)
        elif isinstance(fact, f.StatusUpdate):
            self._status(run, number, fact)
        elif isinstance(fact, f.HistoryChunk):
            self._history_chunk(run, number, fact)
        elif isinstance(fact, f.HistoryMedia):
            self._history_media(run, number, fact)
        elif isinstance(fact, f.ContactChange):
            self._contact_change(run, number, fact)
        elif isinstance(fact, f.ErrorsReported):
            run.repo.record_unknown(
                run.receipt.id,
                fact.source.field,
                number.phone_number_id,
                "errors reported by WhatsApp",
                list(fact.errors),
                run.now,
            )
        else:
            run.repo.record_unknown(
                run.receipt.id,
                fact.source.field,
                number.phone_number_id,
                f"unhandled fact {type(fact).__name__}",
                None,
                run.now,
            )

    def _number(self, run: _Run, source: f.Source) -> NumberRef | None:
        pnid = source.phone_number_id
        if not pnid:
            display = digits(source.display_phone_number)
            found = run.repo.numbers_by_display(display) if display else []
            if len(found) == 1:
                return found[0]
            run.waiting_for.add(display or f"waba:{source.waba_id}")
            return None
        if pnid not in run.cache.numbers:
            run.cache.numbers[pnid] = run.repo.number_by_phone_number_id(pnid)
        number = run.cache.numbers[pnid]
        if number is None:
            run.waiting_for.add(pnid)
        return number

    # -- identities ---------------------------------------------------------------------------

    def _conversation(
        self,
        run: _Run,
        number: NumberRef,
        *,
        wa_id: str | None,
        user_id: str | None,
        profile_name: str | None = None,
        at: int,
        reported: bool = False,
    ) -> int | None:
        """The conversation with a counterparty, creating contact and conversation as needed.

        Returns None for the business's own number: it is never a contact.
        """
        identity = (number.id, wa_id, user_id)
        memo = run.cache.identities.get(identity)
        if memo is not None and (profile_name is None or profile_name == memo[1]):
            return memo[0]
        conv = self._resolve_conversation(run, number, wa_id, user_id, profile_name, at, reported)
        run.cache.identities[identity] = (
            conv,
            profile_name if profile_name is not None else (memo or (0, None))[1],
        )
        return conv

    def _resolve_conversation(
        self,
        run: _Run,
        number: NumberRef,
        wa_id: str | None,
        user_id: str | None,
        profile_name: str | None,
        at: int,
        reported: bool,
    ) -> int | None:
        phone = digits(wa_id)
        if phone and same_number(phone, number.display_phone_number):
            return None
        if not phone and not user_id:
            return None
        key = (number.id, user_id or phone)
        contact_id = run.cache.contacts.get(key) if profile_name is None and not reported else None
        if contact_id is None:
            if phone and user_id:
                # Both identities: the store may merge two contacts, so cached ids may be stale.
                run.cache.clear()
            contact_id = run.repo.resolve_contact(
                number.id,
                wa_id=phone or None,
                user_id=user_id,
                profile_name=profile_name,
                at=at,
                reported=reported,
            )
            run.cache.contacts[key] = contact_id
        ckey = (number.id, contact_id)
        conv = run.cache.conversations.get(ckey)
        if conv is None:
            conv = run.cache.conversations[ckey] = run.repo.conversation_for(number.id, contact_id)
        return conv

    # -- messages -----------------------------------------------------------------------------

    def _base_row(
        self,
        run: _Run,
        number: NumberRef,
        *,
        wamid: str,
        type_: str,
        content: Any,
        text: str | None,
        timestamp: int | None,
    ) -> dict[str, Any]:
        media_id = None
        media_state = None
        if type_ in MEDIA_TYPES and isinstance(content, dict):
            media_id = content.get("id")
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
            occurred_at=None if timestamp is None else timestamp * 1000,
            received_at=run.receipt.received_at,
            placeholder=False,
            media_id=media_id,
            media_state=media_state,
        )

    def _inbound(self, run: _Run, number: NumberRef, m: f.InboundMessage) -> None:
        at = m.timestamp * 1000
        if m.type in MUTATION_TYPES:
            self._mutation(
                run, number, m.type, m.content, m.wamid, at, by=m.from_wa_id or m.from_user_id or ""
            )
            return
        profile_name = m.profile.profile_name if m.profile else None
        conv = self._conversation(
            run,
            number,
            wa_id=m.from_wa_id,
            user_id=m.from_user_id,
            profile_name=profile_name,
            at=at,
            reported=True,
        )
        if conv is None:
            self._own_number(run, number, m.source.field, m.raw)
            return
        row = self._base_row(
            run, number, wamid=m.wamid, type_=m.type, content=m.content, text=m.text, timestamp=m.timestamp
        )
        row.update(
            conversation_id=conv,
            direction=Direction.INBOUND,
            origin=Origin.CUSTOMER,
            status=MessageStatus.RECEIVED,
            status_at=at,
            reply_to=m.reply_to,
            referral=m.referral,
        )
        if m.errors:
            row["errors"] = list(m.errors)
        if m.type == "unsupported":
            row["note"] = explain_unsupported(m.errors)
        self._store(run, number, [_Prepared(row, live=True, customer=True, event="message.received")])

    def _echo(self, run: _Run, number: NumberRef, e: f.Echo) -> None:
        at = e.timestamp * 1000
        if e.type in MUTATION_TYPES:
            self._mutation(run, number, e.type, e.content, e.wamid, at, by="business")
            return
        wa_id = e.to or (e.profile.wa_id if e.profile else None)
        user_id = e.to_user_id or (e.profile.user_id if e.profile else None)
        conv = self._conversation(run, number, wa_id=wa_id, user_id=user_id, at=at)
        if conv is None:
            self._own_number(run, number, e.source.field, e.raw)
            return
        row = self._base_row(
            run, number, wamid=e.wamid, type_=e.type, content=e.content, text=e.text, timestamp=e.timestamp
        )
        row.update(
            conversation_id=conv,
            direction=Direction.OUTBOUND,
            origin=Origin.BUSINESS_APP,
            status=MessageStatus.SENT,
            status_at=at,
            reply_to=e.reply_to,
        )
        self._store(run, number, [_Prepared(row, live=True, echo=True, event="message.echo")])

    def _history_chunk(self, run: _Run, number: NumberRef, chunk: f.HistoryChunk) -> None:
        if chunk.declined:
            errors = list(chunk.errors)
            if run.repo.set_history_state(
                number.id, "declined", {"history_error": errors, "history_declined_at": run.now}
            ):
                run.events.append(
                    EventRow(
                        "history.declined",
                        number.id,
                        {"phone_number_id": number.phone_number_id, "errors": errors},
                    )
                )
            return
        prepared: list[_Prepared] = []
        outbound_by_sender: dict[str | None, bool] = {}  # one check per sender, not per message
        for hm in chunk.messages:
            outbound = outbound_by_sender.get(hm.from_number)
            if outbound is None:
                outbound = outbound_by_sender[hm.from_number] = (
                    history_direction(hm.from_number, number.display_phone_number) is Direction.OUTBOUND
                )
            counterparty = hm.thread_id or (hm.to if outbound else hm.from_number)
            conv = self._conversation(run, number, wa_id=counterparty, user_id=None, at=hm.timestamp * 1000)
            if conv is None:
                self._own_number(run, number, "history", hm.raw)
                continue
            row = self._base_row(
                run,
                number,
                wamid=hm.wamid,
                type_=hm.type,
                content=hm.content,
                text=hm.text,
                timestamp=hm.timestamp,
            )
            hstatus = (hm.history_status or "").upper() or None
            status = HISTORY_STATUS.get(hstatus or "", None) if outbound else MessageStatus.RECEIVED
            row.update(
                conversation_id=conv,
                direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
                origin=Origin.HISTORY,
                status=status.value if status else None,
                history_status=hstatus,
            )
            if hm.type == "media_placeholder":
                row["media_state"] = "awaiting"
            prepared.append(_Prepared(row, live=False))
        inserted = self._store(run, number, prepared) if prepared else 0
        phase = chunk.phase if chunk.phase is not None else -1
        run.repo.record_history_chunk(
            number.id, phase, chunk.chunk_order, chunk.progress, inserted, chunk.thread_count, run.now
        )
        if chunk.progress is not None and chunk.progress >= 100:
            if run.repo.set_history_state(number.id, "complete", {}):
                run.events.append(
                    EventRow(
                        "history.completed",
                        number.id,
                        {"phone_number_id": number.phone_number_id, "phase": chunk.phase},
                    )
                )
        else:
            run.repo.set_history_state(number.id, "in_progress", {})

    def _history_media(self, run: _Run, number: NumberRef, hm: f.HistoryMedia) -> None:
        outbound = history_direction(hm.from_number, number.display_phone_number) is Direction.OUTBOUND
        conv = None
        if not outbound:
            conv = self._conversation(run, number, wa_id=hm.from_number, user_id=None, at=hm.timestamp * 1000)
        row = self._base_row(
            run,
            number,
            wamid=hm.wamid,
            type_=hm.type,
            content=hm.content,
            text=hm.text,
            timestamp=hm.timestamp,
        )
        row.update(
            conversation_id=conv,
            direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
            origin=Origin.HISTORY,
        )
        self._store(run, number, [_Prepared(row, live=False)])

    def _store(self, run: _Run, number: NumberRef, prepared: list[_Prepared]) -> int:
        """Insert new messages in bulk, fill placeholders, ignore duplicates. Returns how many were new."""
        unique: dict[str, _Prepared] = {}
        for p in prepared:
            unique.setdefault(p.row["wamid"], p)
        existing = run.repo.existing_messages(number.id, list(unique))
        new = [p for w, p in unique.items() if w not in existing]
        # Ids are needed only for events; a history chunk records none, so it skips reading them back.
        want_ids = any(p.event for p in new)
        ids = run.repo.insert_messages([p.row for p in new], want_ids=want_ids) if new else {}
        for p in new:
            self._account_new(run, number, p, ids.get(p.row["wamid"]))
        for wamid, old in existing.items():
            self._merge(run, number, old, unique[wamid])
        return len(new)

    def _account_new(
        self,
        run: _Run,
        number: NumberRef,
        p: _Prepared,
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
            d.reset_unread = True
            d.last_echo_at = max(d.last_echo_at or 0, occurred or 0)
        if p.event:
            payload = _event_payload(number, p.row)
            run.events.append(
                EventRow(p.event, number.id, payload, conversation_id=conv, message_id=message_id)
            )

    def _merge(self, run: _Run, number: NumberRef, old: ExistingMessage, p: _Prepared) -> None:
        """A wamid we already have: fill a placeholder, attach history media, or ignore a duplicate."""
        row = p.row
        values: dict[str, Any] = {}
        if old.placeholder:
            self._fill_placeholder(run, number, old, p)
            return
        if old.type == "media_placeholder" and row["type"] != "media_placeholder":
            for key in ("type", "content", "text", "media_id", "media_state"):
                values[key] = row.get(key)
        from_chunk = row.get("origin") == Origin.HISTORY and row.get("history_status") is not None
        if old.conversation_id is None and row.get("conversation_id") is not None:
            values["conversation_id"] = row["conversation_id"]
            values["direction"] = row["direction"]
        if from_chunk and old.origin == Origin.HISTORY:
            # The chunk knows the thread: it is authoritative for direction, device status and
            # time, whatever the media follow-up said first (spec C-2).
            values.update(
                direction=row["direction"],
                history_status=row["history_status"],
                status=row.get("status"),
                occurred_at=row.get("occurred_at"),
            )
        promoted = old.origin == Origin.HISTORY and row.get("origin") in (
            Origin.CUSTOMER,
            Origin.BUSINESS_APP,
        )
        if promoted:
            # Live traffic and history overlap around day 0: one record, labelled by the live source,
            # and the live arrival does what live messages do (event, unread, window).
            values["origin"] = row["origin"]
        if not values:
            return
        run.repo.update_message(old.id, values)
        conv = values.get("conversation_id", old.conversation_id)
        if promoted and conv is not None:
            self._account_new(run, number, p, old.id, conversation_id=conv, count=False)
            d = run.delta(conv)
            if old.conversation_id is not None:  # it was counted as history; now it is live
                d.added_history -= 1
            d.added_messages += 1
        elif "conversation_id" in values:
            self._account_new(run, number, _Prepared(row, live=False), old.id)

    def _fill_placeholder(self, run: _Run, number: NumberRef, old: ExistingMessage, p: _Prepared) -> None:
        """A status (or an edit) arrived before the message itself: fill it in, keep the status."""
        row = p.row
        values: dict[str, Any] = {
            key: row[key]
            for key in (
                "type",
                "content",
                "text",
                "occurred_at",
                "reply_to",
                "media_id",
                "media_state",
                "referral",
                "note",
                "history_status",
                "direction",
            )
            if row.get(key) is not None
        }
        if old.origin == Origin.UNKNOWN or (
            old.origin == Origin.API and row.get("origin") == Origin.BUSINESS_APP
        ):
            values["origin"] = row["origin"]
        if old.status is None and row.get("status") is not None:
            values.update(status=row["status"], status_at=row.get("status_at"))
        values["placeholder"] = False
        conv = old.conversation_id
        if conv is None and row.get("conversation_id") is not None:
            conv = values["conversation_id"] = row["conversation_id"]
        run.repo.update_message(old.id, values)
        self._account_new(run, number, p, old.id, conversation_id=conv, count=old.conversation_id is None)
        if old.pending_edit:
            old.conversation_id = conv
            self._apply_pending(run, number, old, old.pending_edit)

    def _mutation(
        self, run: _Run, number: NumberRef, kind: str, content: Any, wamid: str, at: int, *, by: str
    ) -> None:
        """Apply an edit, revoke or reaction to the message it targets (a placeholder if not seen yet)."""
        content = content if isinstance(content, dict) else {}
        target = content.get("original_message_id") or content.get("message_id")
        if not target:
            run.repo.record_unknown(
                run.receipt.id,
                None,
                number.phone_number_id,
                f"{kind} without a target message",
                content,
                run.now,
            )
            return
        mutation = {"kind": kind, "wamid": wamid, "at": at, "by": by, "content": content}
        existing = run.repo.existing_messages(number.id, [target]).get(target)
        if existing is None:
            # The original has not arrived yet (reordering): keep the mutation on a placeholder.
            row = dict(
                number_id=number.id,
                conversation_id=None,
                wamid=target,
                direction=Direction.UNKNOWN,
                origin=Origin.UNKNOWN,
                type="unknown",
                received_at=run.receipt.received_at,
                placeholder=True,
                pending_edit=[mutation],
            )
            run.repo.insert_messages([row])
            return
        if existing.placeholder:
            pending = list(existing.pending_edit or [])
            if not any(p.get("wamid") == wamid for p in pending):
                pending.append(mutation)
                run.repo.update_message(existing.id, {"pending_edit": pending})
            return
        self._apply_mutation(run, number, existing, mutation)

    def _apply_pending(self, run: _Run, number: NumberRef, message: ExistingMessage, pending: Any) -> None:
        for mutation in sorted(pending or [], key=lambda m: m.get("at") or 0):
            self._apply_mutation(run, number, message, mutation)
        run.repo.update_message(message.id, {"pending_edit": None})

    def _apply_mutation(
        self, run: _Run, number: NumberRef, message: ExistingMessage, mutation: dict[str, Any]
    ) -> None:
        """Apply one edit/revoke/reaction; applying the same one again changes nothing and records nothing."""
        kind, content, at = mutation["kind"], mutation["content"], mutation["at"]
        payload: dict[str, Any] = {
            "phone_number_id": number.phone_number_id,
            "wamid": mutation["wamid"],
            "target": content.get("original_message_id") or content.get("message_id"),
            "by": mutation["by"],
        }
        if kind == "revoke":
            if message.revoked:
                return
            message.revoked = True
            run.repo.update_message(message.id, {"revoked": True, "revoked_at": at})
            run.events.append(
                EventRow("message.revoked", number.id, payload, message.conversation_id, message.id)
            )
        elif kind == "edit":
            if message.edited_at is not None and message.edited_at >= at:
                return  # this edit, or a newer one, is already applied
            new = content.get("message") if isinstance(content.get("message"), dict) else {}
            new_type = new.get("type") or message.type
            new_content = new.get(new_type)
            text = None
            if isinstance(new_content, dict):
                text = new_content.get("body") or new_content.get("caption")
            values: dict[str, Any] = {"edited": True, "edited_at": at}
            if new_content is not None:
                values.update(type=new_type, content=new_content, text=text)
            message.edited_at = at
            run.repo.update_message(message.id, values)
            run.events.append(
                EventRow(
                    "message.edited",
                    number.id,
                    {**payload, "text": text},
                    message.conversation_id,
                    message.id,
                )
            )
        elif kind == "reaction":
            by = mutation["by"]
            reacted_at = dict(message.reactions_at or {})
            if reacted_at.get(by, -1) >= at:
                return  # this reaction, or a newer one from the same person, is already applied
            reactions = dict(message.reactions or {})
            emoji = content.get("emoji") or ""
            if emoji:
                reactions[by] = emoji
            else:
                reactions.pop(by, None)  # an empty emoji removes the reaction
            reacted_at[by] = at
            message.reactions, message.reactions_at = reactions or None, reacted_at
            run.repo.update_message(message.id, {"reactions": reactions or None, "reactions_at": reacted_at})
            run.events.append(
                EventRow(
                    "message.reaction",
                    number.id,
                    {**payload, "emoji": emoji},
                    message.conversation_id,
                    message.id,
                )
            )

    def _own_number(self, run: _Run, number: NumberRef, field_: str, raw: Any) -> None:
        run.repo.record_unknown(
            run.receipt.id,
            field_,
            number.phone_number_id,
            "the business's own number as counterparty (it is never a contact)",
            raw,
            run.now,
        )

    # -- statuses -----------------------------------------------------------------------------

    def _status(self, run: _Run, number: NumberRef, s: f.StatusUpdate) -> None:
        at = s.timestamp * 1000
        existing = run.repo.existing_messages(number.id, [s.wamid]).get(s.wamid)
        if existing is None:
            conv = self._conversation(
                run, number, wa_id=s.recipient_id, user_id=s.recipient_user_id, at=at, reported=True
            )
            row = dict(
                number_id=number.id,
                conversation_id=conv,
                wamid=s.wamid,
                direction=Direction.OUTBOUND,
                origin=Origin.API,
                type="unknown",
                occurred_at=at,
                received_at=run.receipt.received_at,
                status=s.status.value,
                status_at=at,
                errors=list(s.errors) or None,
                pricing=s.pricing,
                placeholder=True,
            )
            self._store(run, number, [_Prepared(row, live=True)])
            created = run.repo.existing_messages(number.id, [s.wamid]).get(s.wamid)
            run.events.append(
                EventRow(
                    "message.status",
                    number.id,
                    _status_payload(number, s),
                    conv,
                    created.id if created else None,
                )
            )
            return
        values: dict[str, Any] = {}
        if status_advances(existing.status, s.status):
            values.update(status=s.status.value, status_at=at)
            if s.errors:
                values["errors"] = list(s.errors)
            existing.status = s.status.value
            run.events.append(
                EventRow(
                    "message.status",
                    number.id,
                    _status_payload(number, s),
                    existing.conversation_id,
                    existing.id,
                )
            )
        if s.pricing:
            values["pricing"] = s.pricing
        if values:
            run.repo.update_message(existing.id, values)

    # -- contacts and lifecycle ---------------------------------------------------------------

    def _contact_change(self, run: _Run, number: NumberRef, c: f.ContactChange) -> None:
        phone = digits(c.phone_number)
        if same_number(phone, number.display_phone_number):
            self._own_number(run, number, "smb_app_state_sync", c.raw)
            return
        at = c.timestamp * 1000
        contact_id = run.repo.resolve_contact(
            number.id, wa_id=phone or None, user_id=c.user_id, profile_name=None, at=at
        )
        action = "remove" if c.action is ContactAction.REMOVE else "add"
        if c.action is ContactAction.UNKNOWN:
            run.repo.record_unknown(
                run.receipt.id,
                "smb_app_state_sync",
                number.phone_number_id,
                f"unknown contact action {c.action_raw!r}",
                c.raw,
                run.now,
            )
            return
        if run.repo.apply_book_entry(
            number.id,
            contact_id,
            action=action,
            full_name=c.full_name,
            first_name=c.first_name,
            changed_at=at,
            at=run.now,
        ):
            run.events.append(
                EventRow(
                    "contact.updated", number.id, {"wa_id": phone, "action": action, "full_name": c.full_name}
                )
            )

    def _account_event(self, run: _Run, a: f.AccountEvent) -> None:
        if a.phone_number:
            targets = run.repo.numbers_by_display(digits(a.phone_number))
            missing = digits(a.phone_number)
        else:
            waba = a.waba_id or a.source.waba_id or ""
            targets = run.repo.numbers_by_waba(waba) if waba else []
            missing = f"waba:{waba}"
        if not targets:
            run.waiting_for.add(missing)
            return
        occurred = (a.timestamp * 1000) if a.timestamp is not None else run.receipt.received_at
        new_state = _STATE_FOR_EVENT.get(a.event)
        for number in targets:
            stale = number.state_changed_at is not None and occurred < number.state_changed_at
            applied = new_state is not None and not stale
            inserted = run.repo.record_account_event(
                number.id,
                a.event,
                occurred,
                a.disconnection_reason,
                a.disconnection_initiated_by,
                applied,
                a.raw,
                run.now,
            )
            if not (inserted and applied):
                continue
            run.repo.update_number(
                number.id,
                {
                    "state": new_state,
                    "state_reason": a.disconnection_reason,
                    "state_initiated_by": a.disconnection_initiated_by,
                    "state_changed_at": occurred,
                },
            )
            run.cache.numbers.pop(number.phone_number_id, None)
            run.events.append(
                EventRow(
                    "number.state_changed",
                    number.id,
                    {
                        "phone_number_id": number.phone_number_id,
                        "event": a.event,
                        "state": new_state,
                        "reason": a.disconnection_reason,
                        "initiated_by": a.disconnection_initiated_by,
                    },
                )
            )


def _status_payload(number: NumberRef, s: f.StatusUpdate) -> dict[str, Any]:
    return {
        "phone_number_id": number.phone_number_id,
        "wamid": s.wamid,
        "status": s.status.value,
        "timestamp": s.timestamp * 1000,
        "errors": list(s.errors),
        "pricing": s.pricing,
    }


def _event_payload(number: NumberRef, row: dict[str, Any]) -> dict[str, Any]:
    return {
        "phone_number_id": number.phone_number_id,
        "wamid": row["wamid"],
        "direction": row.get("direction"),
        "origin": row.get("origin"),
        "type": row.get("type"),
        "text": row.get("text"),
        "occurred_at": row.get("occurred_at"),
        "status": row.get("status"),
    }
