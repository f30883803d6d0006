"""Statuses: what became of a message the business sent (a placeholder when it is not known yet)."""

from __future__ import annotations

from wacoex.domain import events as ev
from wacoex.domain import facts as f
from wacoex.domain.conversation import (
    NO_TIMESTAMP,
    advance_bound,
    status_advances,
)
from wacoex.domain.enums import Direction, Origin
from wacoex.services.ingest.identities import conversation
from wacoex.services.ingest.messages import account_new, at_ms
from wacoex.services.ingest.run import Prepared, Run
from wacoex.services.ports import EventRow, NumberRef


def status_update(run: Run, number: NumberRef, s: f.StatusUpdate) -> None:
    at = at_ms(run, s.timestamp)
    existing = run.repo.existing_messages(number.id, [s.wamid]).get(s.wamid)
    # contacts[] on a status names the recipient: for a conversation the business started through
    # the API, it is the only name WhatsApp ever gives (until the customer writes).
    profile_name = s.profile.profile_name if s.profile else None
    wa_id = s.recipient_id or (s.profile.wa_id if s.profile else None)
    if existing is None or profile_name:
        conv = conversation(
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
            account_new(run, number, Prepared(row, live=True), created)
            run.events.append(EventRow(status_changed(run, number, s), number.id, conv, created))
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
            EventRow(status_changed(run, number, s), number.id, existing.conversation_id, existing.id)
        )
    if s.pricing and existing.direction != Direction.INBOUND:
        run.repo.update_message(existing.id, {"pricing": s.pricing})


def status_changed(run: Run, number: NumberRef, s: f.StatusUpdate) -> ev.MessageStatusChanged:
    return ev.MessageStatusChanged(
        phone_number_id=number.phone_number_id,
        wamid=s.wamid,
        status=s.status.value,
        timestamp=at_ms(run, s.timestamp),
        errors=list(s.errors),
        pricing=s.pricing,
    )
