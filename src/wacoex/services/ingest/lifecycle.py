"""The owner's address book (smb_app_state_sync) and the number's lifecycle (account_update)."""

from __future__ import annotations

from wacoex.domain import events as ev
from wacoex.domain import facts as f
from wacoex.domain.alerts import account_alert
from wacoex.domain.enums import ContactAction
from wacoex.domain.ids import digits, same_number
from wacoex.domain.lifecycle import NumberState, StateMove, next_state
from wacoex.services.ingest.run import Run, onboarding_started, record_own_number, sync_seen, webhook_seen
from wacoex.services.ports import EventRow, NumberRef


def contact_change(run: Run, number: NumberRef, c: f.ContactChange) -> None:
    sync_seen(run, number, "smb_app_state_sync")
    phone = digits(c.phone_number)
    if same_number(phone, number.display_phone_number):
        record_own_number(run, number, "smb_app_state_sync", c.raw)
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
                ev.ContactUpdated(
                    phone_number_id=number.phone_number_id, wa_id=phone, action=action, full_name=c.full_name
                ),
                number.id,
            )
        )


def account_event(run: Run, a: f.AccountEvent) -> None:
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
    for number in targets:
        webhook_seen(run, number)
        new_state = next_state(a.event, occurred, number.state_changed_at)
        event_id = run.repo.record_account_event(
            number.id,
            a.event,
            occurred,
            a.disconnection_reason,
            a.disconnection_initiated_by,
            new_state is not None,
            a.raw,
            run.now,
        )
        if event_id is None:
            continue  # a duplicate: it was applied when it first came
        moved = new_state is not None and _move(run, number, a, new_state, occurred)
        if moved and new_state is NumberState.CONNECTED:
            # Onboarded again: the one-shot syncs may be requested once more (unless the onboarding
            # that reconnected it, begun since its disconnection, is already recorded).
            onboarding_started(run, number, occurred)
        elif moved:
            run.repo.end_onboarding(number.id, run.now)
        _alerts(run, number, a, event_id, occurred, new_state if moved else None)


def _move(run: Run, number: NumberRef, a: f.AccountEvent, state: NumberState, occurred: int) -> bool:
    move = run.repo.move_number_state(
        number.id, state.value, a.disconnection_reason, a.disconnection_initiated_by, occurred
    )
    run.cache.numbers.pop(number.phone_number_id, None)
    if move is StateMove.FENCED:
        return False  # a newer event set the state meanwhile (another worker)
    if move is StateMove.SAME:
        # Already so (the number was onboarded again through wacoex, or Meta repeated itself with a
        # new time): nobody is told twice.
        return True
    run.events.append(
        EventRow(
            ev.NumberStateChanged(
                phone_number_id=number.phone_number_id,
                event=a.event,
                state=state.value,
                reason=a.disconnection_reason,
                initiated_by=a.disconnection_initiated_by,
            ),
            number.id,
        )
    )
    return True


def _alerts(
    run: Run, number: NumberRef, a: f.AccountEvent, event_id: int, occurred: int, moved_to: NumberState | None
) -> None:
    """Open and resolve the number's alerts as the event says (domain/alerts.py), with the event."""
    decision = account_alert(a.event, a.raw if isinstance(a.raw, dict) else {}, moved_to=moved_to)
    if decision.resolves:
        run.repo.resolve_alerts(number.id, [k.value for k in decision.resolves], occurred)
    alert = decision.alert
    if alert is None:
        return
    opened = run.repo.open_alert(
        number.id,
        kind=alert.kind.value,
        severity=alert.severity.value,
        message=alert.message,
        details=alert.details,
        opened_at=occurred,
        source_event_id=event_id,
        at=run.now,
    )
    if not opened:
        return  # a newer alert of its kind is open: this one is recorded resolved, with no event
    run.events.append(
        EventRow(
            ev.NumberAlert.of(number.phone_number_id, alert, event=a.event, opened_at=occurred), number.id
        )
    )
