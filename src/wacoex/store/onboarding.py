"""Onboardings and the persisted intents of their one-shot syncs (domain/onboarding.py has the rules)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row

from wacoex.domain import events as ev
from wacoex.domain.alerts import AlertKind
from wacoex.domain.lifecycle import ONBOARDED, HistoryState, NumberState
from wacoex.domain.onboarding import SYNC_ORDER, SYNC_WINDOW_MS, Answer, SyncKind, SyncState, SyncView
from wacoex.errors import Conflict
from wacoex.services.onboarding_port import CurrentOnboarding, Registration
from wacoex.services.ports import EventRow
from wacoex.store.alert_writer import resolve_alerts
from wacoex.store.batch_sql import event_row
from wacoex.store.numbers import add_number, number_ref
from wacoex.store.tables import events, history_phases, numbers, onboardings, sync_requests
from wacoex.store.token_cipher import TokenCipher

_OPEN = (SyncState.PENDING.value, SyncState.UNCONFIRMED.value)


def start_onboarding(
    conn: Connection, number_id: int, source: str, started_at: int, now: int, *, reuse: bool
) -> int:
    """The number's onboarding from `started_at`: with `reuse`, its current one when it has one (the
    same onboarding, seen twice: a disconnection ends the current one), else a new one with fresh
    syncs, which lets a new history import begin. Its id."""
    o = onboardings.c
    current = conn.execute(
        sa.select(o.id, o.started_at).where(o.number_id == number_id, o.ended_at.is_(None))
    ).first()
    if current is not None and reuse:
        return int(current.id)
    if current is not None:
        conn.execute(onboardings.update().where(o.id == current.id).values(ended_at=now))
    onboarding_id = conn.execute(
        onboardings.insert()
        .values(
            number_id=number_id,
            source=source,
            started_at=started_at,
            deadline_at=started_at + SYNC_WINDOW_MS,
            created_at=now,
        )
        .returning(o.id)
    ).scalar_one()
    conn.execute(
        sync_requests.insert(),
        [
            {
                "onboarding_id": onboarding_id,
                "kind": kind.value,
                "number_id": number_id,
                "state": SyncState.PENDING.value,
                "attempts": 0,
                "next_attempt_at": 0,
            }
            for kind in SYNC_ORDER
        ],
    )
    # A new onboarding is a new chance to import the history: its progress starts again (the
    # messages imported before stay; a re-import finds them and adds nothing twice).
    conn.execute(
        numbers.update().where(numbers.c.id == number_id).values(history_state=HistoryState.NONE.value)
    )
    conn.execute(history_phases.delete().where(history_phases.c.number_id == number_id))
    return int(onboarding_id)


def end_onboarding(conn: Connection, number_id: int, at: int) -> None:
    """The number left the Cloud API: its onboarding is over (a new one starts afresh)."""
    conn.execute(
        onboardings.update()
        .where(onboardings.c.number_id == number_id, onboardings.c.ended_at.is_(None))
        .values(ended_at=at)
    )


def note_sync_seen(conn: Connection, number_id: int, kind: SyncKind, at: int) -> None:
    """A webhook of the sync arrived: it confirms the current onboarding's request of that kind."""
    s = sync_requests.c
    current = (
        sa.select(onboardings.c.id)
        .where(onboardings.c.number_id == number_id, onboardings.c.ended_at.is_(None))
        .scalar_subquery()
    )
    conn.execute(
        sync_requests.update()
        .where(s.onboarding_id == current, s.kind == kind.value, s.seen_at.is_(None))
        .values(seen_at=at)
    )


class SqlOnboardingStore:
    def __init__(self, engine: Engine, read_engine: Engine, cipher: TokenCipher) -> None:
        self._engine = engine
        self._read = read_engine
        self._cipher = cipher

    def register(self, reg: Registration, now: int) -> tuple[CurrentOnboarding, bool]:
        n = numbers.c
        with self._engine.begin() as conn:
            # Locked: an account_update being applied moves the same row (store/number_records.py).
            row = conn.execute(
                sa.select(numbers).where(n.phone_number_id == reg.phone_number_id).with_for_update()
            ).first()
            created = row is None
            # What Meta said of the number when it was onboarded.
            seen = {
                "is_on_biz_app": reg.is_on_biz_app,
                "platform_type": reg.platform_type,
                "biz_app_checked_at": now,
            }
            if row is None:
                ref, _released = add_number(
                    conn,
                    phone_number_id=reg.phone_number_id,
                    display_phone_number=reg.display_phone_number,
                    waba_id=reg.waba_id,
                    provider=reg.provider,
                    coexistence=True,
                    access_token=reg.access_token,
                    cipher=self._cipher,
                    workspace_id=reg.workspace_id,
                )
                number_id = ref.id
                conn.execute(numbers.update().where(n.id == number_id).values(**seen))
            else:
                if int(row.workspace_id) != reg.workspace_id:
                    raise Conflict(f"number {reg.phone_number_id} is registered in another workspace")
                number_id = int(row.id)
                connected = row.state == NumberState.CONNECTED
                values: dict[str, Any] = {
                    "access_token": self._cipher.encrypt(reg.access_token),
                    "waba_id": reg.waba_id,
                    "provider": reg.provider,
                    "coexistence": True,
                    "updated_at": now,
                    **seen,
                }
                if not connected:
                    values.update(
                        state=NumberState.CONNECTED.value,
                        state_reason=None,
                        state_initiated_by=None,
                        state_changed_at=max(now, (row.state_changed_at or 0) + 1),
                    )
                    _reconnected(conn, reg.phone_number_id, number_id, values["state_changed_at"])
                conn.execute(numbers.update().where(n.id == number_id).values(**values))
            # The onboarding under way goes on (a connected number's, or the one Meta's
            # ACCOUNT_RECONNECTED started moments ago); a disconnection ended the last one, so after
            # one this is a new onboarding with fresh syncs.
            start_onboarding(conn, number_id, reg.source, now, now, reuse=True)
            current = self._current(conn, number_id)
        assert current is not None
        return current, created

    def current(self, phone_number_id: str, workspace_id: int | None) -> CurrentOnboarding | None:
        n = numbers.c
        q = sa.select(n.id).where(n.phone_number_id == phone_number_id)
        if workspace_id is not None:
            q = q.where(n.workspace_id == workspace_id)
        with self._read.connect() as conn:
            number_id = conn.execute(q).scalar()
            return None if number_id is None else self._current(conn, int(number_id))

    def open_syncs(self, now: int) -> Sequence[CurrentOnboarding]:
        o, s = onboardings.c, sync_requests.c
        q = (
            sa.select(o.number_id)
            .distinct()
            .select_from(onboardings.join(sync_requests, s.onboarding_id == o.id).join(numbers))
            .where(
                o.ended_at.is_(None),
                numbers.c.state == NumberState.CONNECTED.value,
                s.state.in_(_OPEN),
            )
        )
        with self._engine.connect() as conn:
            ids = [int(r) for r in conn.execute(q).scalars()]
            found = [self._current(conn, i) for i in ids]
        return [c for c in found if c is not None]

    def begin(self, onboarding_id: int, kind: SyncKind, now: int, *, force: bool = False) -> bool:
        sources = [SyncState.PENDING]
        if force:
            sources += [SyncState.UNCONFIRMED, SyncState.FAILED]
        s = sync_requests.c
        values = {"state": SyncState.REQUESTING.value, "attempts": s.attempts + 1, "attempted_at": now}
        return self._move(onboarding_id, kind, sources, values)

    def answer(self, onboarding_id: int, kind: SyncKind, answer: Answer, now: int, retry_at: int) -> None:
        values = {
            "state": answer.state.value,
            "request_id": answer.request_id,
            "answered_at": now,
            "error_code": answer.error_code,
            "error_message": answer.error_message,
            "next_attempt_at": retry_at,
        }
        self._move(onboarding_id, kind, [SyncState.REQUESTING], values)

    def unconfirm_stale(self, started_before: int, now: int) -> Sequence[tuple[CurrentOnboarding, SyncKind]]:
        s = sync_requests.c
        stale = s.state == SyncState.REQUESTING.value
        with self._engine.begin() as conn:
            rows = conn.execute(
                sa.select(s.onboarding_id, s.kind, s.number_id).where(stale, s.attempted_at < started_before)
            ).all()
            out: list[tuple[CurrentOnboarding, SyncKind]] = []
            for r in rows:
                changed = conn.execute(
                    sync_requests.update()
                    .where(s.onboarding_id == r.onboarding_id, s.kind == r.kind, stale)
                    .values(
                        state=SyncState.UNCONFIRMED.value,
                        answered_at=now,
                        error_message="no answer came back (the request timed out, or the process stopped)",
                    )
                ).rowcount
                current = self._current(conn, int(r.number_id))
                if changed and current is not None and current.onboarding_id == r.onboarding_id:
                    out.append((current, SyncKind(r.kind)))
        return out

    def confirm(self, onboarding_id: int, kind: SyncKind, now: int) -> bool:
        s = sync_requests.c
        values = {"state": SyncState.REQUESTED.value, "answered_at": sa.func.coalesce(s.answered_at, now)}
        return self._move(onboarding_id, kind, [SyncState.PENDING, SyncState.UNCONFIRMED], values, seen=True)

    def expire(self, onboarding_id: int, kind: SyncKind, now: int) -> bool:
        values = {
            "state": SyncState.EXPIRED.value,
            "answered_at": now,
            "error_message": "not requested within 24 hours of onboarding",
        }
        return self._move(onboarding_id, kind, [SyncState.PENDING], values)

    def _move(
        self,
        onboarding_id: int,
        kind: SyncKind,
        sources: Sequence[SyncState],
        values: dict[str, Any],
        *,
        seen: bool = False,
    ) -> bool:
        """Compare and set, in a transaction of its own: the sync moves only from one of `sources`
        (with `seen`, only once its webhooks arrived); whether it moved."""
        s = sync_requests.c
        where = [
            s.onboarding_id == onboarding_id,
            s.kind == kind.value,
            s.state.in_([x.value for x in sources]),
        ]
        if seen:
            where.append(s.seen_at.is_not(None))
        with self._engine.begin() as conn:
            result = conn.execute(sync_requests.update().where(*where).values(**values))
        return bool(result.rowcount)

    def _current(self, conn: Connection, number_id: int) -> CurrentOnboarding | None:
        o = onboardings.c
        onboarding = conn.execute(
            sa.select(onboardings).where(o.number_id == number_id).order_by(o.id.desc()).limit(1)
        ).first()
        if onboarding is None:
            return None
        number = conn.execute(sa.select(numbers).where(numbers.c.id == number_id)).one()
        rows = conn.execute(
            sa.select(sync_requests).where(sync_requests.c.onboarding_id == onboarding.id)
        ).all()
        return CurrentOnboarding(
            number=number_ref(number, self._cipher),
            onboarding_id=int(onboarding.id),
            source=onboarding.source,
            started_at=int(onboarding.started_at),
            deadline_at=int(onboarding.deadline_at),
            ended_at=onboarding.ended_at,
            created_at=int(onboarding.created_at),
            syncs={SyncKind(r.kind): _view(r) for r in rows},
        )


def _view(r: Row[Any]) -> SyncView:
    return SyncView(
        kind=SyncKind(r.kind),
        state=SyncState(r.state),
        request_id=r.request_id,
        requested_at=r.attempted_at,
        seen_at=r.seen_at,
        error_code=r.error_code,
        error_message=r.error_message,
        retry_at=int(r.next_attempt_at or 0),
    )


def _reconnected(conn: Connection, phone_number_id: str, number_id: int, at: int) -> None:
    """Onboarded again through wacoex: as Meta's ACCOUNT_RECONNECTED would, the disconnection's alert
    is resolved and the change recorded. Meta's own event, if it comes after, is then older than the
    state and fenced, so the change is told once whichever arrives first."""
    resolve_alerts(conn, number_id, [AlertKind.CONNECTION.value], at)
    change = ev.NumberStateChanged(
        phone_number_id=phone_number_id,
        event=ONBOARDED,
        state=NumberState.CONNECTED.value,
        reason=None,
        initiated_by=None,
    )
    conn.execute(events.insert(), [event_row(EventRow(change, number_id), at)])
