"""Apply webhook facts to the unified record: idempotent, order-tolerant, batch-safe.

One receipt (one webhook POST) is applied inside a transaction owned by the caller. Every fact of
every entry/change/item is applied; a fact for a number we do not serve yet is kept by holding the
receipt, and applying it again later is harmless because every step here is idempotent:
messages are unique by (number, wamid), statuses only move forward, address-book entries and
account events are fenced by Meta's timestamps.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from wacoex.domain import facts as f
from wacoex.domain import limits
from wacoex.domain.conversation import (
    HISTORY_STATUS,
    MEDIA_TYPES,
    MUTATION_TYPES,
    NO_TIMESTAMP,
    advance_bound,
    explain_unsupported,
    history_direction,
    opens_window,
    status_advances,
    with_note,
)
from wacoex.domain.enums import Direction, MessageStatus, Origin
from wacoex.domain.facts import apply_units
from wacoex.domain.ids import digits, same_number
from wacoex.services.ingest_run import BatchCache, Outcome, Parsed, Prepared, Run, record_own_number
from wacoex.services.lifecycle import account_event, contact_change
from wacoex.services.mutations import apply_pending, mutate
from wacoex.services.ports import (
    ApplyTx,
    ConversationDelta,
    EventRow,
    ExistingMessage,
    FactParser,
    IngestRepository,
    NumberRef,
    Receipt,
)

log = logging.getLogger("wacoex.ingest")

_MAX_REASON = 500


class Ingest:
    """Applies parsed facts. `parse` turns a receipt's raw bytes into facts (the whatsapp adapter)."""

    def __init__(self, parse: FactParser, *, fetch_media: bool = True, clock: Callable[[], int]) -> None:
        self._parse = parse
        self._fetch_media = fetch_media
        self._clock = clock

    def parse(self, receipt: Receipt) -> Parsed:
        """The receipt's units of apply work. Pure CPU: callers run it outside the apply transaction."""
        facts = self._parse(receipt.body, receipt.source)
        return Parsed(apply_units(facts), len(facts))

    def apply(
        self,
        repo: IngestRepository,
        receipt: Receipt,
        cache: BatchCache | None = None,
        *,
        parsed: Parsed | None = None,
        out_of_time: Callable[[], bool] | None = None,
        isolate: ApplyTx | None = None,
    ) -> Outcome:
        """Apply the receipt's units from `receipt.progress` on.

        With `out_of_time`, it stops after any unit once that says so (at least one unit is applied)
        and the outcome says where to resume; every unit is idempotent, so resuming is safe.
        With `isolate`, each unit runs in a savepoint of its own: a unit that fails is rolled back
        alone and recorded as a failed item, and the others are applied.
        """
        parsed = parsed if parsed is not None else self.parse(receipt)
        units = parsed.units
        run = Run(
            repo=repo,
            receipt=receipt,
            now=self._clock(),
            fetch_media=self._fetch_media,
            cache=cache if cache is not None else BatchCache(),
        )
        start = min(receipt.progress, len(units))
        resume_at: int | None = None
        for i in range(start, len(units)):
            if out_of_time is not None and i > start and out_of_time():
                resume_at = i
                break
            if isolate is None:
                self._apply_fact(run, units[i])
            else:
                self._apply_isolated(run, units[i], isolate)
        self._flush(run)
        return Outcome(facts=parsed.facts, waiting_for=sorted(run.waiting_for), resume_at=resume_at)

    def _flush(self, run: Run) -> None:
        """Write what the units applied so far did to conversations, and their events."""
        if run.repo.conversation_aliases:
            self._follow_merges(run, run.repo.conversation_aliases)
        run.repo.apply_conversation_deltas(run.deltas)
        run.repo.record_events(run.events, run.now)
        run.deltas, run.events = {}, []
        run.repo.settle()

    def _apply_isolated(self, run: Run, unit: Any, tx: ApplyTx) -> None:
        """Apply one unit in a savepoint of its own; if it fails, record it as a failed item.

        A failed unit is tried once more first: the second try reads what a concurrent writer
        committed meanwhile (a message another worker inserted). A history piece that fails is
        applied message by message, so one bad message does not take its neighbours with it.
        """
        error: Exception | None = None
        for _ in range(2):
            aliases = dict(run.repo.conversation_aliases)
            waiting = set(run.waiting_for)
            try:
                with tx.savepoint():
                    self._apply_fact(run, unit)
                    self._flush(run)
                return
            except Exception as exc:
                # Nothing the unit did survives its savepoint: neither rows nor what refers to them.
                run.deltas, run.events, run.waiting_for = {}, [], waiting
                run.cache.clear()
                run.repo.reset()
                run.repo.conversation_aliases.clear()
                run.repo.conversation_aliases.update(aliases)
                if tx.transient(exc):
                    raise
                error = exc
        assert error is not None
        if isinstance(unit, f.HistoryChunk) and len(unit.messages) > 1:
            for piece in apply_units([unit], piece=1):
                self._apply_isolated(run, piece, tx)
            return
        self._record_failed(run, unit, error, tx)

    @staticmethod
    def _record_failed(run: Run, unit: Any, error: Exception, tx: ApplyTx) -> None:
        log.warning("receipt %s: an item failed to apply: %r", run.receipt.id, error)
        first_line = (str(error).splitlines() or [""])[0].replace("\x00", "")
        reason = f"failed to apply: {type(error).__name__}: {first_line}"[:_MAX_REASON]
        source = getattr(unit, "source", None)
        field = source.field if isinstance(source, f.Source) else None
        pnid = source.phone_number_id if isinstance(source, f.Source) else None
        try:
            with tx.savepoint():
                run.repo.record_unknown(run.receipt.id, field, pnid, reason, _raw_of(unit), run.now)
                run.repo.settle()
        except Exception as exc:
            run.repo.reset()
            if tx.transient(exc):
                raise
            # The raw item is in the receipt's body; the failure itself must be listed.
            run.repo.record_unknown(run.receipt.id, field, pnid, reason, None, run.now)
            run.repo.settle()

    @staticmethod
    def _follow_merges(run: Run, aliases: dict[int, int]) -> None:
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

    def _apply_fact(self, run: Run, fact: Any) -> None:
        if isinstance(fact, f.AccountEvent):
            account_event(run, fact)
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
            contact_change(run, number, fact)
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

    def _number(self, run: Run, source: f.Source) -> NumberRef | None:
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
        run: Run,
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
        run: Run,
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
            merges = run.repo.merges
            contact_id = run.repo.resolve_contact(
                number.id,
                wa_id=phone or None,
                user_id=user_id,
                profile_name=profile_name,
                at=at,
                reported=reported,
            )
            if run.repo.merges != merges:
                # Two contacts were one person: ids remembered so far may name the one merged away.
                run.cache.clear()
            run.cache.contacts[key] = contact_id
        ckey = (number.id, contact_id)
        conv = run.cache.conversations.get(ckey)
        if conv is None:
            conv = run.cache.conversations[ckey] = run.repo.conversation_for(number.id, contact_id)
        return conv

    # -- messages -----------------------------------------------------------------------------

    def _base_row(
        self,
        run: Run,
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
            occurred_at=_at(run, timestamp),
            received_at=run.receipt.received_at,
            placeholder=False,
            media_id=media_id,
            media_state=media_state,
            note=NO_TIMESTAMP if timestamp is None else None,
        )

    def _live_row(
        self,
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
        row = self._base_row(
            run,
            number,
            wamid=item.wamid,
            type_=item.type,
            content=item.content,
            text=item.text,
            timestamp=item.timestamp,
        )
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

    def _inbound(self, run: Run, number: NumberRef, m: f.InboundMessage) -> None:
        at = _at(run, m.timestamp)
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
            record_own_number(run, number, m.source.field, m.raw)
            return
        row = self._live_row(
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
        self._store(run, number, [Prepared(row, live=True, customer=customer, event="message.received")])

    def _echo(self, run: Run, number: NumberRef, e: f.Echo) -> None:
        at = _at(run, e.timestamp)
        if e.type in MUTATION_TYPES:
            mutate(run, number, e.type, e.content, e.wamid, at, by="business")
            return
        wa_id = e.to or (e.profile.wa_id if e.profile else None)
        user_id = e.to_user_id or (e.profile.user_id if e.profile else None)
        conv = self._conversation(run, number, wa_id=wa_id, user_id=user_id, at=at)
        if conv is None:
            record_own_number(run, number, e.source.field, e.raw)
            return
        row = self._live_row(
            run, number, e, conv, Direction.OUTBOUND, Origin.BUSINESS_APP, MessageStatus.SENT
        )
        self._store(run, number, [Prepared(row, live=True, echo=True, event="message.echo")])

    def _history_chunk(self, run: Run, number: NumberRef, chunk: f.HistoryChunk) -> None:
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
        prepared: list[Prepared] = []
        outbound_by_sender: dict[str | None, bool] = {}  # one check per sender, not per message
        for hm in chunk.messages:
            outbound = outbound_by_sender.get(hm.from_number)
            if outbound is None:
                outbound = outbound_by_sender[hm.from_number] = (
                    history_direction(hm.from_number, number.display_phone_number) is Direction.OUTBOUND
                )
            counterparty = hm.thread_id or (hm.to if outbound else hm.from_number)
            conv = self._conversation(
                run, number, wa_id=counterparty, user_id=None, at=_at(run, hm.timestamp)
            )
            if conv is None:
                record_own_number(run, number, "history", hm.raw)
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
            # Without (or with an unknown) history_context the message was at least sent: status is
            # never null, and history_status keeps what WhatsApp said (or null).
            status = (
                HISTORY_STATUS.get(hstatus or "", MessageStatus.SENT) if outbound else MessageStatus.RECEIVED
            )
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

    def _history_media(self, run: Run, number: NumberRef, hm: f.HistoryMedia) -> None:
        outbound = history_direction(hm.from_number, number.display_phone_number) is Direction.OUTBOUND
        conv = None
        if not outbound:
            conv = self._conversation(
                run, number, wa_id=hm.from_number, user_id=None, at=_at(run, hm.timestamp)
            )
        row = self._base_row(
            run,
            number,
            wamid=hm.wamid,
            type_=hm.type,
            content=hm.content,
            text=hm.text,
            timestamp=hm.timestamp,
        )
        # The chunk, if it comes later, is authoritative for the status (see _merge); until then the
        # follow-up's own direction gives one, so no history message is ever without a status.
        row.update(
            conversation_id=conv,
            direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
            origin=Origin.HISTORY,
            status=(MessageStatus.SENT if outbound else MessageStatus.RECEIVED).value,
        )
        self._store(run, number, [Prepared(row, live=False)])

    def _store(self, run: Run, number: NumberRef, prepared: list[Prepared]) -> int:
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
            self._account_new(run, number, p, ids.get(p.row["wamid"]))
        for wamid, old in existing.items():
            self._merge(run, number, old, unique[wamid])
        return len(new)

    def _account_new(
        self,
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
        if p.event:
            payload = _event_payload(number, p.row)
            run.events.append(
                EventRow(p.event, number.id, payload, conversation_id=conv, message_id=message_id)
            )

    def _merge(self, run: Run, number: NumberRef, old: ExistingMessage, p: Prepared) -> None:
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
            )
            if row.get("note") != NO_TIMESTAMP:  # a chunk without a time keeps the follow-up's
                values.update(occurred_at=row.get("occurred_at"), note=None)
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
            self._account_new(run, number, Prepared(row, live=False), old.id)

    def _fill_placeholder(self, run: Run, number: NumberRef, old: ExistingMessage, p: Prepared) -> None:
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
        # A placeholder's origin is a guess (`api` from a status); the message itself says who wrote
        # it. Outbound history does not replace `api`: an API-sent message also shows up in history.
        inbound = row.get("direction") == Direction.INBOUND
        if (
            old.origin == Origin.UNKNOWN
            or inbound
            or row.get("origin") in (Origin.CUSTOMER, Origin.BUSINESS_APP)
        ):
            values["origin"] = row["origin"]
        if inbound:
            # Statuses describe what the business sent (spec §2.6): one naming a customer's message
            # says nothing about it, so the message is `received` like any other inbound one.
            values.update(
                status=row.get("status"),
                status_at=row.get("status_at"),
                errors=row.get("errors"),
                pricing=None,
            )
        values["placeholder"] = False
        conv = old.conversation_id
        if conv is None and row.get("conversation_id") is not None:
            conv = values["conversation_id"] = row["conversation_id"]
        run.repo.update_message(old.id, values)
        if not inbound and old.status is None and row.get("status") is not None:
            # Conditional: a status that reached the placeholder meanwhile (another worker) stays.
            status = MessageStatus(row["status"])
            run.repo.advance_status(old.id, status.value, row.get("status_at"), advance_bound(status))
        self._account_new(run, number, p, old.id, conversation_id=conv, count=old.conversation_id is None)
        if old.pending_edit:
            old.conversation_id = conv
            apply_pending(run, number, old, old.pending_edit)

    # -- statuses -----------------------------------------------------------------------------

    def _status(self, run: Run, number: NumberRef, s: f.StatusUpdate) -> None:
        at = _at(run, s.timestamp)
        existing = run.repo.existing_messages(number.id, [s.wamid]).get(s.wamid)
        # contacts[] on a status names the recipient: for a conversation the business started through
        # the API, it is the only name WhatsApp ever gives (until the customer writes).
        profile_name = s.profile.profile_name if s.profile else None
        wa_id = s.recipient_id or (s.profile.wa_id if s.profile else None)
        if existing is None or profile_name:
            conv = self._conversation(
                run,
                number,
                wa_id=wa_id,
                user_id=s.recipient_user_id,
                profile_name=profile_name,
                at=at,
                reported=True,
            )
        if existing is None:
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
                note=NO_TIMESTAMP if s.timestamp is None else None,
            )
            created = run.repo.insert_placeholder(row)
            if created is not None:
                self._account_new(run, number, Prepared(row, live=True), created)
                run.events.append(
                    EventRow("message.status", number.id, _status_payload(run, number, s), conv, created)
                )
                return
            # Another worker stored this wamid meanwhile: advance its status like any other.
            existing = run.repo.existing_messages(number.id, [s.wamid])[s.wamid]
        # The write is conditional, so a status another worker advanced meanwhile is never moved
        # back, and only the write that moved it records the event.
        if status_advances(existing.status, s.status) and run.repo.advance_status(
            existing.id, s.status.value, at, advance_bound(s.status), list(s.errors) or None
        ):
            existing.status = s.status.value
            run.events.append(
                EventRow(
                    "message.status",
                    number.id,
                    _status_payload(run, number, s),
                    existing.conversation_id,
                    existing.id,
                )
            )
        if s.pricing and existing.direction != Direction.INBOUND:
            run.repo.update_message(existing.id, {"pricing": s.pricing})


def _at(run: Run, timestamp: int | None) -> int:
    """WhatsApp's time of an item in ms, or the receipt's when the item had none (the row notes it)."""
    return run.receipt.received_at if timestamp is None else timestamp * 1000


def _status_payload(run: Run, number: NumberRef, s: f.StatusUpdate) -> dict[str, Any]:
    return {
        "phone_number_id": number.phone_number_id,
        "wamid": s.wamid,
        "status": s.status.value,
        "timestamp": _at(run, s.timestamp),
        "errors": list(s.errors),
        "pricing": s.pricing,
    }


def _raw_of(unit: Any) -> Any:
    """What to list for a unit that failed: its item as received."""
    if isinstance(unit, f.HistoryChunk):
        raws = [m.raw for m in unit.messages]
        return raws[0] if len(raws) == 1 else raws or None
    if isinstance(unit, f.ErrorsReported):
        return list(unit.errors)
    return getattr(unit, "raw", None)


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
