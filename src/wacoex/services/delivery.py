"""The delivery engine: queued sends out at the number's pace, and the send log kept honest.

A job of the worker layer (services/jobs.py), run by the process that sends (`wacoex serve`), so
queued and synchronous sends share one pacer. Each round:
- claims the queued sends whose time has come and delivers them on a small thread pool, checking
  the rules again first (a window may have closed, a human may have taken over since they were
  queued: a bot's send then waits for the takeover to end);
- marks `ambiguous` a send left `sending` by a process that stopped while its request was out
  (never resent: it may have been delivered);
- records sends the provider accepted that a crash kept out of the record;
- reconciles an ambiguous send with the status webhook of its message: a status-made placeholder to
  the same recipient, newer than the send and claimed by no other send, is that message.
Queued sends live in the database, so they survive a restart.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from wacoex.domain.access import Principal, Role
from wacoex.domain.outbound import from_graph
from wacoex.errors import InvalidInput, Refused
from wacoex.services.send import Sender
from wacoex.services.send_port import SendRecord, SendState, SendStore

log = logging.getLogger("wacoex.delivery")

SWEEP_SECONDS = 1.0
PER_NUMBER = 20  # sends of one number claimed at once: about a second's worth at coexistence rates
LANE_WAIT_SECONDS = 2.0  # how long a number's lane waits for its turn before putting its sends back
# A status carries whole seconds: its message may look up to a second older than the send that made it.
STATUS_SECOND_MS = 1_000
RECONCILE_MS = 7 * 24 * 3600 * 1000  # statuses of a message come within days; older ones stay ambiguous


class DeliverSends:
    name = "sends"

    def __init__(
        self,
        sender: Sender,
        store: SendStore,
        clock: Callable[[], int],
        *,
        batch: int = 200,
        concurrency: int = 16,
        in_flight_ms: int = 120_000,
    ) -> None:
        self._sender = sender
        self._store = store
        self._clock = clock
        self._batch = batch
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="wacoex-send")
        self._in_flight_ms = in_flight_ms  # a `sending` older than this belongs to a stopped process
        self._last_sweep = 0.0

    def run_once(self) -> bool:
        busy = False
        if time.monotonic() - self._last_sweep >= SWEEP_SECONDS:
            self._last_sweep = time.monotonic()
            busy = self.sweep() > 0
        due = self._store.claim_due(self._batch, self._clock(), PER_NUMBER)
        lanes: dict[int, list[SendRecord]] = {}
        for rec in due:
            lanes.setdefault(rec.number_id, []).append(rec)
        for _ in self._pool.map(self._lane, lanes.values()):
            pass
        return busy or bool(due)

    def _lane(self, recs: list[SendRecord]) -> None:
        """One number's sends, in order: each waits for its turn; once one is held back, so are the rest."""
        for i, rec in enumerate(recs):
            result = self._deliver(rec)
            if result is not None and result.state is SendState.QUEUED:
                for later in recs[i + 1 :]:
                    self._store.update(
                        later.id,
                        {
                            "state": SendState.QUEUED.value,
                            "next_attempt_at": result.next_attempt_at,
                            "attempts": later.attempts - 1,
                        },
                        when=(SendState.SENDING,),
                    )
                return

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def _deliver(self, rec: SendRecord) -> SendRecord | None:
        try:
            number = self._store.number_by_id(rec.number_id)
            if number is None:
                self._fail(rec, "number_unknown", "the number is no longer registered", None)
                return None
            out = from_graph(rec.body)
            who = Principal(role=Role(rec.role), workspace_id=rec.workspace_id, key_id=rec.key_id)
            try:
                self._sender.check(
                    number, who, out, self._store.conversation_times(rec.number_id, rec.to_input)
                )
            except Refused as exc:
                until = exc.details.get("until")
                if exc.code == "human_takeover" and isinstance(until, int):
                    # A bot's message waits for the person to finish, then goes out in order.
                    self._store.update(
                        rec.id,
                        {
                            "state": SendState.QUEUED.value,
                            "next_attempt_at": until + 1,
                            "attempts": rec.attempts - 1,
                        },
                        when=(SendState.SENDING,),
                    )
                    return None
                self._fail(rec, exc.code, exc.message, exc.graph_code)
                return None
            except InvalidInput as exc:
                self._fail(rec, exc.code, exc.message, None)
                return None
            return self._sender.deliver(rec, number, max_wait=LANE_WAIT_SECONDS, retry=False)
        except Exception:
            log.exception("send %s: delivery failed unexpectedly; it stays queued", rec.id)
            self._store.update(
                rec.id,
                {"state": SendState.QUEUED.value, "next_attempt_at": self._clock() + 5_000},
                when=(SendState.SENDING,),
            )
            return None

    def _fail(self, rec: SendRecord, code: str, message: str, graph_code: int | None) -> None:
        self._store.update(
            rec.id,
            {
                "state": SendState.FAILED.value,
                "error_code": code,
                "error_message": message,
                "graph_code": graph_code,
                "updated_at": self._clock(),
            },
            when=(SendState.SENDING,),
        )

    def sweep(self) -> int:
        """Settle what a stopped process or a lost answer left; how many sends it settled."""
        now = self._clock()
        settled = 0
        for rec in self._store.stuck(SendState.SENDING, now - self._in_flight_ms, self._batch):
            if self._store.update(
                rec.id,
                {
                    "state": SendState.AMBIGUOUS.value,
                    "error_code": "ambiguous",
                    "error_message": (
                        "the gateway stopped while this send's request may have been out: it may have "
                        "been sent, so it is not resent; a status webhook for it will reconcile it"
                    ),
                    "updated_at": now,
                },
                when=(SendState.SENDING,),
            ):
                settled += 1
        for rec in self._store.unrecorded(now - 5_000, self._batch):
            number = self._store.number_by_id(rec.number_id)
            if number is not None:
                self._sender.record_sent(rec, number)
                settled += 1
        settled += self._reconcile(now)
        return settled

    def _reconcile(self, now: int) -> int:
        settled = 0
        for rec in self._store.unreconciled(now - RECONCILE_MS, self._batch):
            since = rec.created_at - STATUS_SECOND_MS
            found = self._store.unclaimed_api_placeholders(rec.number_id, rec.to_input, since)
            if not found:
                continue
            wamid, at = found[0]
            if not self._store.update(
                rec.id,
                {
                    "state": SendState.SENT.value,
                    "wamid": wamid,
                    "sent_at": at,
                    "updated_at": now,
                    "error_code": None,
                    "error_message": "reconciled: a status webhook for this message arrived",
                },
                when=(SendState.AMBIGUOUS,),
            ):
                continue
            number = self._store.number_by_id(rec.number_id)
            updated = self._store.get(rec.id)
            if number is not None and updated is not None:
                self._sender.record_sent(updated, number)
            settled += 1
        return settled
