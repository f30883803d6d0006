"""Sending: the rules checked before anything leaves, one attempt at the provider, and the record.

`Sender.send` is the one way out, for our REST API and the Graph-compatible proxy alike:
1. the caller may send for this number (its workspace, not a read-only key);
2. an `Idempotency-Key` seen before answers what it answered then (the body must be the same);
3. the policy: the number is connected, the recipient is not the number itself, a bot key is not
   talking over a human (takeover), free-form needs the customer service window, a template must be
   known, approved and complete;
4. the send is logged (`sends`) before the request leaves, paced by the number's rate and the
   recipient's pair rate, and POSTed once;
5. the answer: `sent` (with its wamid, recorded at once as an `api` message), `failed` (certainly
   not sent), or `ambiguous` (the request left and no answer came: never resent automatically; a
   status webhook for it reconciles it later).

A queued send (`queue=True`) stops after step 4's log; the delivery engine (services/delivery.py)
takes it from there with the same `deliver`.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

import orjson

from wacoex.domain import facts as f
from wacoex.domain.access import Principal
from wacoex.domain.backoff import backoff_seconds
from wacoex.domain.ids import same_number
from wacoex.domain.outbound import Outbound, from_graph
from wacoex.domain.takeover import TakeoverTimes, takeover_of
from wacoex.domain.templates import check_template
from wacoex.domain.window import free_entry_point_opens, window_of
from wacoex.errors import Conflict, Forbidden, InvalidInput, NotFound, ProviderError, Refused
from wacoex.services.provider_port import Accepted, Provider, Upload
from wacoex.services.send_port import (
    FINAL,
    ConversationTimes,
    SendingNumber,
    SendRecord,
    SendState,
    SendStore,
    SentMark,
)
from wacoex.services.templates import Templates

log = logging.getLogger("wacoex.send")

MEDIA_MAX_BYTES = 100 * 1024 * 1024  # the Cloud API's largest (documents); each type has its own limit
IDEMPOTENCY_KEY_MAX = 255
CLOSED_WINDOW = 131047
RECORD_TRIES = 3
RETRY_BASE_SECONDS = 0.5  # a queued send's retries: full jitter under 0.5 s x 2^attempt, capped
RETRY_CAP_SECONDS = 60.0
THROTTLED = 130429
PAIR_THROTTLED = 131056


class Pacer(Protocol):
    """The number's token bucket and the recipient's pair pacing (services/throttle.py)."""

    def acquire(self, number_key: str, rate: float, recipient: str | None, max_wait: float) -> Any:
        """Wait for a slot (a ticket); Refused (`throttled`) when none comes within `max_wait`."""
        ...

    def settle(self, ticket: Any) -> None:
        """The provider answered the send of `ticket` (the number's window counts it from now)."""
        ...

    def penalize(self, number_key: str, seconds: float) -> None: ...
    def penalize_pair(self, number_key: str, recipient: str, seconds: float) -> None: ...


# Facts the gateway produced (messages it sent), applied to the record in one transaction with the
# send's own row (SendStore.mark_sent).
Recorder = Callable[[list[Any], int, SentMark], None]
# (number, recipient, template category or None, free entry point open, window open) -> (category,
# estimated cost, currency), or None when no estimate is possible.
Estimator = Callable[
    [SendingNumber, str, str | None, bool, bool], tuple[str | None, float | None, str | None] | None
]


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


@dataclass(frozen=True, slots=True)
class SendPolicy:
    takeover_ms: int
    resume_on_customer: bool
    max_wait_seconds: float  # how long a synchronous send waits for a slot (and retries)
    max_attempts: int  # tries of a queued send that certainly did not leave, before it fails
    rate_of: Callable[[SendingNumber], float]  # sends per second for the number


class Sender:
    def __init__(
        self,
        *,
        store: SendStore,
        templates: Templates,
        provider: Provider,
        pacer: Pacer,
        record: Recorder,
        policy: SendPolicy,
        clock: Callable[[], int],
        estimate: Estimator | None = None,
        wake_delivery: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self._templates = templates
        self._provider = provider
        self._pacer = pacer
        self._record = record
        self._policy = policy
        self._clock = clock
        self._estimate = estimate
        self._wake = wake_delivery

    # -- the way in --------------------------------------------------------------------------

    def number_for(self, who: Principal, phone_number_id: str) -> SendingNumber:
        number = self._store.number(phone_number_id)
        if number is None or not who.sees(number.workspace_id):
            raise NotFound(f"number {phone_number_id} is not registered")
        return number

    def send(
        self,
        who: Principal,
        phone_number_id: str,
        out: Outbound,
        *,
        route: str,
        idempotency_key: str | None = None,
        queue: bool = False,
    ) -> SendRecord:
        number = self.number_for(who, phone_number_id)
        if not who.can_send:
            raise Forbidden("this API key is read-only: it cannot send")
        if idempotency_key is not None and not 0 < len(idempotency_key.strip()) <= IDEMPOTENCY_KEY_MAX:
            raise InvalidInput(f"Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX} characters")
        digest = _request_digest(phone_number_id, route, queue, out.body)
        if idempotency_key is not None:
            earlier = self._store.by_key(number.workspace_id, idempotency_key)
            if earlier is not None:
                return self._replay(earlier, digest)
        times = self._store.conversation_times(number.ref.id, out.to)
        category = self.check(number, who, out, times)
        now = self._clock()
        estimate = self._estimate_for(number, out, category, times, now)
        values = dict(
            workspace_id=number.workspace_id,
            number_id=number.ref.id,
            conversation_id=times.id,
            idempotency_key=idempotency_key,
            request_sha256=digest,
            key_id=who.key_id,
            role=who.role.value,
            route=route,
            to_input=out.to,
            type=out.type,
            body=out.body,
            state=(SendState.QUEUED if queue else SendState.SENDING).value,
            queued=queue,
            category=estimate[0] if estimate else category,
            estimated_cost=estimate[1] if estimate else None,
            currency=estimate[2] if estimate else None,
            attempts=0 if queue else 1,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
        try:
            rec = self._store.create(values)
        except Conflict:
            # The same key at the same moment from a concurrent request: answer what it answers.
            assert idempotency_key is not None
            earlier = self._store.by_key(number.workspace_id, idempotency_key)
            if earlier is None:
                raise
            return self._replay(earlier, digest)
        if queue:
            if self._wake is not None:
                self._wake()
            return rec
        return self.deliver(rec, number, max_wait=self._policy.max_wait_seconds, retry=True)

    # -- the rules ---------------------------------------------------------------------------

    def check(
        self, number: SendingNumber, who: Principal, out: Outbound, times: ConversationTimes
    ) -> str | None:
        """Refuse what must not leave; the template's category when it is one."""
        ref = number.ref
        if ref.state != "connected":
            raise Refused(
                f"number {ref.phone_number_id} is {ref.state}: nothing can be sent until it is "
                "connected again (see its state in GET /api/v1/numbers)",
                code="number_disconnected",
                graph_code=131031 if ref.state == "disconnected" else 133010,
            )
        number.require_credentials()
        if same_number(out.to, ref.display_phone_number):
            raise Refused("the recipient is this number itself", code="same_recipient", graph_code=131021)
        now = self._clock()
        if who.is_bot:
            takeover = takeover_of(
                _takeover_times(times),
                now,
                ttl_ms=self._policy.takeover_ms,
                resume_on_customer=self._policy.resume_on_customer,
            )
            if takeover.human:
                raise Refused(
                    "a person is handling this conversation (the owner wrote from the WhatsApp Business "
                    "app, or an operator took it over): bot keys may send again when the takeover ends "
                    "or is released",
                    code="human_takeover",
                    until=takeover.until,
                    cause=takeover.cause.value if takeover.cause else None,
                )
        if out.free_form:
            window = window_of(
                last_customer_at=times.last_customer_at,
                window_closed_at=times.window_closed_at,
                fep_expires_at=times.fep_expires_at,
                now=now,
            )
            if not window.open:
                raise Refused(
                    "the customer service window is closed (the customer has not written in the last "
                    "24 hours since the number joined the Cloud API; the owner's replies from the app do "
                    "not reopen it): send an approved template instead",
                    code="window_closed",
                    graph_code=CLOSED_WINDOW,
                    window=window.as_dict(),
                )
            return None
        assert out.template is not None
        template = self._templates.find(number, out.template.name, out.template.language)
        return check_template(template, out.template).category

    def _estimate_for(
        self, number: SendingNumber, out: Outbound, category: str | None, times: ConversationTimes, now: int
    ) -> tuple[str | None, float | None, str | None] | None:
        if self._estimate is None:
            return None
        window = window_of(
            last_customer_at=times.last_customer_at,
            window_closed_at=times.window_closed_at,
            fep_expires_at=times.fep_expires_at,
            now=now,
        )
        fep = (
            window.free_entry_point_until is not None
            or free_entry_point_opens(times.last_referral_at, now) is not None
        )
        return self._estimate(number, out.to, category, fep, window.open)

    # -- the attempt -------------------------------------------------------------------------

    def deliver(self, rec: SendRecord, number: SendingNumber, *, max_wait: float, retry: bool) -> SendRecord:
        """POST a logged send (state `sending`) once, or a few times while it certainly did not leave.

        `retry`: retry a refusal that certainly did not send (throughput, 5xx, connection refused)
        within `max_wait`; otherwise the send goes back to the queue for the delivery engine.
        """
        deadline = time.monotonic() + max_wait
        key = number.ref.phone_number_id
        attempt = rec.attempts
        while True:
            try:
                ticket = self._pacer.acquire(
                    key, self._policy.rate_of(number), rec.to_input, max(0.0, deadline - time.monotonic())
                )
            except Refused as exc:
                wait = exc.details.get("retry_after")
                return self._not_sent(
                    rec,
                    exc.code,
                    exc.message,
                    exc.graph_code,
                    None,
                    requeue=not retry,
                    retry_after=float(wait) if isinstance(wait, (int, float)) else None,
                )
            try:
                accepted = self._provider.send_message(number.ref, rec.body)
            except ProviderError as exc:
                self._pacer.settle(ticket)
                retry_after = _retry_after(exc)
                self._penalize(exc, key, rec.to_input, retry_after)
                if exc.ambiguous:
                    return self._ambiguous(rec, exc)
                wait = backoff_seconds(attempt - 1, 0.1, 2.0, retry_after)
                if exc.retryable and retry and time.monotonic() + wait < deadline:
                    attempt += 1
                    time.sleep(wait)
                    self._store.update(rec.id, {"attempts": attempt, "updated_at": self._clock()})
                    continue
                if exc.graph_code == CLOSED_WINDOW and rec.conversation_id is not None:
                    self._store.set_conversation(rec.conversation_id, {"window_closed_at": self._clock()})
                body = exc.details.get("body")
                return self._not_sent(
                    rec,
                    "provider_error",
                    exc.message,
                    exc.graph_code,
                    body if isinstance(body, dict) else None,
                    requeue=exc.retryable and not retry,
                    retry_after=retry_after,
                )
            self._pacer.settle(ticket)
            return self._sent(rec, number, accepted)

    def _penalize(self, exc: ProviderError, key: str, recipient: str, retry_after: float | None) -> None:
        if exc.graph_code == THROTTLED:
            self._pacer.penalize(key, retry_after or 1.0)
        elif exc.graph_code == PAIR_THROTTLED:
            self._pacer.penalize_pair(key, recipient, retry_after or 6.0)

    def _sent(self, rec: SendRecord, number: SendingNumber, accepted: Accepted) -> SendRecord:
        now = self._clock()
        values: dict[str, Any] = dict(
            state=SendState.SENT.value,
            wamid=accepted.wamid,
            wa_id=accepted.wa_id,
            response=accepted.body,
            sent_at=now,
            updated_at=now,
            error_code=None,
            graph_code=None,
            error_message=None,
        )
        sent = replace(rec, state=SendState.SENT, wamid=accepted.wamid, wa_id=accepted.wa_id, sent_at=now)
        if not self.record_sent(sent, number, values):
            # The answer is what matters: keep it; the delivery engine records the message later.
            self._store.update(rec.id, values)
        return self._store.get(rec.id) or rec

    def record_sent(
        self, rec: SendRecord, number: SendingNumber, values: dict[str, Any] | None = None
    ) -> bool:
        """Put a sent message into the record (idempotent) in one transaction with the send's own row
        (`values`, plus the message and conversation it became) and what sending it did to its chat.

        Whether it was recorded; if not, the send is left for the delivery engine's next sweep.
        """
        assert rec.wamid is not None
        content = rec.body.get(rec.type)
        # What a person reads, as domain.outbound reads a body (a template's body rendered).
        out = from_graph(rec.body)
        text = self._template_text(number, out) if out.template is not None else out.text
        context = rec.body.get("context")
        fact = f.ApiSent(
            source=f.Source(
                field="api", phone_number_id=number.ref.phone_number_id, waba_id=number.ref.waba_id
            ),
            wamid=rec.wamid,
            to=rec.wa_id or rec.to_input,
            type=rec.type,
            content=content,
            text=text,
            timestamp_ms=rec.sent_at or self._clock(),
            reply_to=context.get("message_id") if isinstance(context, dict) else None,
            raw=rec.body,
        )
        mark = SentMark(send_id=rec.id, number_id=number.ref.id, wamid=rec.wamid, values=values or {})
        for attempt in range(RECORD_TRIES):
            try:
                self._record([fact], self._clock(), mark)
                return True
            except Exception:
                # Most often its status webhook, applied at the same moment, created the contact or
                # the placeholder first: the next try reads it.
                if attempt == RECORD_TRIES - 1:
                    log.exception(
                        "send %s: recording %s failed; it will be recorded later", rec.id, rec.wamid
                    )
                    return False
                time.sleep(0.01 * (attempt + 1))
        return False

    def _template_text(self, number: SendingNumber, out: Outbound) -> str | None:
        """The template's body as the customer reads it, parameters filled in."""
        use = out.template
        if use is None:
            return None
        template = self._templates.find(number, use.name, use.language)
        return template.body_text(use) if template is not None else None

    def _not_sent(
        self,
        rec: SendRecord,
        code: str,
        message: str,
        graph_code: int | None,
        body: dict[str, Any] | None,
        *,
        requeue: bool,
        retry_after: float | None = None,
    ) -> SendRecord:
        now = self._clock()
        values: dict[str, Any] = dict(
            error_code=code, error_message=message, graph_code=graph_code, updated_at=now
        )
        if body is not None:
            values["response"] = body
        if requeue and code == "throttled":
            # No slot yet: not an attempt; back in line for when the bucket has one.
            values.update(
                state=SendState.QUEUED.value, next_attempt_at=now + int((retry_after or 0.05) * 1000)
            )
            values["attempts"] = max(0, rec.attempts - 1)
        elif requeue and rec.attempts < self._policy.max_attempts:
            delay = backoff_seconds(rec.attempts - 1, RETRY_BASE_SECONDS, RETRY_CAP_SECONDS, retry_after)
            values.update(state=SendState.QUEUED.value, next_attempt_at=now + int(delay * 1000))
        else:
            values["state"] = SendState.FAILED.value
            if code == "throttled" and rec.idempotency_key is not None:
                # Nothing left: the key is free again, so a retry with it is a new attempt.
                values["idempotency_key"] = None
        self._store.update(rec.id, values)
        return self._store.get(rec.id) or rec

    def _ambiguous(self, rec: SendRecord, exc: ProviderError) -> SendRecord:
        log.warning("send %s: %s; it may have been sent: it will not be resent", rec.id, exc.message)
        self._store.update(
            rec.id,
            dict(
                state=SendState.AMBIGUOUS.value,
                error_code="ambiguous",
                error_message=(
                    f"{exc.message}. The request reached the provider and no answer came back: the "
                    "message may have been sent. It is not resent automatically; a status webhook for "
                    "it will reconcile this send."
                ),
                graph_code=exc.graph_code,
                updated_at=self._clock(),
            ),
        )
        return self._store.get(rec.id) or rec

    def _replay(self, earlier: SendRecord, digest: str) -> SendRecord:
        if earlier.request_sha256 != digest:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used for a different request; use a new key for a new message",
                send_id=earlier.id,
            )
        deadline = time.monotonic() + self._policy.max_wait_seconds + 30
        rec = earlier
        while rec.state == SendState.SENDING and not rec.queued and time.monotonic() < deadline:
            time.sleep(0.05)  # its twin is at the provider right now: answer what it gets
            rec = self._store.get(rec.id) or rec
        return rec

    def upload(
        self, who: Principal, phone_number_id: str, data: bytes, mime_type: str | None, filename: str | None
    ) -> str:
        """Upload a file to the number's provider; the media id to send it by (valid 30 days)."""
        number = self.number_for(who, phone_number_id)
        if not who.can_send:
            raise Forbidden("this API key is read-only: it cannot upload media")
        if not data:
            raise InvalidInput("the file is empty")
        if len(data) > MEDIA_MAX_BYTES:
            raise InvalidInput(f"the file is larger than {MEDIA_MAX_BYTES // (1024 * 1024)} MB")
        number.require_credentials()
        if not mime_type or "/" not in mime_type or mime_type == "application/octet-stream":
            # No type given: the file name's, as WhatsApp checks the type against what it supports.
            mime_type = mimetypes.guess_type(filename or "")[0] or "application/octet-stream"
        return self._provider.upload_media(
            number.ref, Upload(data=data, mime_type=mime_type, filename=filename)
        )

    def mark_read(self, who: Principal, phone_number_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Relay a read receipt (`{"status": "read", "message_id": ...}`) for an inbound message."""
        number = self.number_for(who, phone_number_id)
        if not who.can_send:
            raise Forbidden("this API key is read-only")
        if not isinstance(body.get("message_id"), str):
            raise InvalidInput("message_id is required")
        number.require_credentials()
        return self._provider.mark_read(number.ref, body)

    def sends(
        self, who: Principal, state: SendState | None, before_id: int | None, limit: int
    ) -> list[SendRecord]:
        """The caller's workspace's sends, newest first: `ambiguous` ones are for an operator to decide."""
        return self._store.page(who.workspace_id, state, before_id, limit)

    def get(self, who: Principal, send_id: int) -> SendRecord:
        rec = self._store.get(send_id)
        if rec is None or not who.sees(rec.workspace_id):
            raise NotFound(f"send {send_id} does not exist")
        return rec


def _retry_after(exc: ProviderError) -> float | None:
    value = exc.details.get("retry_after")
    return float(value) if isinstance(value, (int, float)) else None


def _request_digest(phone_number_id: str, route: str, queue: bool, body: dict[str, Any]) -> str:
    canonical = orjson.dumps([phone_number_id, route, queue, body], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def _takeover_times(times: ConversationTimes) -> TakeoverTimes:
    return TakeoverTimes(
        last_echo_at=times.last_echo_at,
        takeover_until=times.takeover_until,
        takeover_released_at=times.takeover_released_at,
        last_customer_at=times.last_customer_at,
    )


__all__ = ["FINAL", "IdempotencyKeyReused", "SendPolicy", "Sender"]
