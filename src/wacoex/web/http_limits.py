"""The HTTP limits uvicorn lacks: header size and count, time to receive headers and body, open connections.

uvicorn's httptools protocol (the fast one the webhook ack relies on) buffers request heads without
bound and never times out a request that is still arriving. `LimitedHttpToolsProtocol` adds those
limits where the bytes arrive, for a few attribute checks per request. It leans on internals of
uvicorn's `HttpToolsProtocol` (uvicorn 0.54); tests/web/test_http_limits.py runs it over real sockets.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import httptools
import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from wacoex.config import Settings


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """What one `wacoex serve` process accepts on its sockets (docs/configuration.md#http-limits)."""

    max_header_bytes: int
    max_headers: int
    header_timeout: float
    body_timeout: float
    max_connections: int

    @classmethod
    def from_settings(cls, s: Settings) -> HttpLimits:
        return cls(
            max_header_bytes=s.http_max_header_bytes,
            max_headers=s.http_max_headers,
            header_timeout=s.http_header_timeout_seconds,
            body_timeout=s.http_body_timeout_seconds,
            max_connections=s.http_max_connections,
        )


class _HeadTooLarge(Exception):
    """Raised from a parser callback: httptools stops parsing and feed_data() raises."""


class _Throttle:
    """At most one log line per `every` seconds for each kind of refusal; the rest are counted."""

    def __init__(self, every: float = 5.0) -> None:
        self.every = every
        self.last: dict[int, float] = {}
        self.skipped: dict[int, int] = {}

    def allow(self, status: int) -> int | None:
        """None to stay quiet, else how many refusals of this kind went unlogged before this one."""
        now = time.monotonic()
        if now - self.last.get(status, -self.every) < self.every:
            self.skipped[status] = self.skipped.get(status, 0) + 1
            return None
        self.last[status] = now
        return self.skipped.pop(status, 0)


# How long a refused connection is still read (and what arrives dropped) after its answer.
LINGER_SECONDS = 2.0

_CODES = {
    408: "request_timeout",
    431: "request_header_fields_too_large",
    503: "too_many_connections",
}


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the limits of `limits` (set by `protocol_class`).

    A connection is always in one of three phases: waiting for or reading a request head (the head
    deadline runs once its first byte arrived, or from accept for the first request; idle time
    after a response is uvicorn's keep-alive timeout), reading a body (the body deadline runs), or
    waiting for the app. Apart from the deadline of a new connection's first head, timers are
    armed only when a head or body spans several reads: a request that arrives in one read, as
    webhooks on a kept-alive connection do, arms none.
    """

    limits: ClassVar[HttpLimits]
    throttle: ClassVar[_Throttle]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head = True  # the next bytes belong to a request head
        self._done_scope: object = None  # the scope of the last complete head (see _began)
        self._head_bytes = 0  # bytes read while the head stayed incomplete (one endless line included)
        self._read = 0  # size of the read being parsed
        self._completed = 0  # requests whose body has been read to the end
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._linger_timer: asyncio.TimerHandle | None = None
        self._lingering = False  # refused: what still arrives is dropped (see _linger)

    # -- connection ------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self._refuse(503, f"more than {self.limits.max_connections} open connections")
            return
        self._head_timer = self.loop.call_later(self.limits.header_timeout, self._head_expired)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # uvicorn's data_received, plus 431 for a head over the limits and the deadlines.
        if self._lingering:
            return
        self._unset_keepalive_if_required()
        in_head = self._head
        completed = self._completed
        self._read = len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            if isinstance(exc.__context__, _HeadTooLarge):
                self._refuse(431, str(exc.__context__))
            else:
                self._invalid()
            return
        except httptools.HttpParserError:
            self._invalid()
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        if self._head:
            if in_head and self._completed == completed:
                # Every byte of this read belongs to an unfinished head. httptools reports a header
                # only once its line ends, so this is what bounds one endless line (or URL); the
                # count keeps many tiny headers from piling up as Python objects between reads.
                self._head_bytes += len(data)
                if self._head_bytes > self.limits.max_header_bytes or (
                    self.headers is not None and len(self.headers) > self.limits.max_headers
                ):
                    self._refuse(431, self._head_limits())
                    return
                if self._head_timer is None:
                    self._arm_head()
            elif self._head_timer is None and self._began():
                self._arm_head()
        elif self._body_timer is None:
            self._body_timer = self.loop.call_later(self.limits.body_timeout, self._body_expired)

    # -- parser callbacks ------------------------------------------------------------------------

    def on_headers_complete(self) -> None:
        # A head that arrived whole in one read no longer than the limit is within it, so the
        # usual request (a few hundred bytes in one read, every webhook) is not measured field by
        # field. A head spread over several reads always has its deadline armed by then.
        limits = self.limits
        if len(self.headers) > limits.max_headers or (
            (self._head_timer is not None or self._read > limits.max_header_bytes)
            and len(self.url) + sum(len(k) + len(v) + 4 for k, v in self.headers) > limits.max_header_bytes
        ):
            raise _HeadTooLarge(self._head_limits())
        self._head = False
        self._done_scope = self.scope
        self._head_bytes = 0
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._head = True
        self._completed += 1
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        super().on_message_complete()

    def _began(self) -> bool:
        """Whether a request head has begun and is not complete yet.

        uvicorn starts a new scope at the first byte of each request, so a scope other than that of
        the last complete head means one has begun (cheaper than a callback per request).
        """
        return self.scope is not self._done_scope

    # -- deadlines -------------------------------------------------------------------------------

    def _arm_head(self) -> None:
        self._head_timer = self.loop.call_later(self.limits.header_timeout, self._head_expired)

    def _head_expired(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self._began():
            self._refuse(408, f"request headers not received within {self.limits.header_timeout:g} s")
        else:
            # Nothing of a request arrived (an idle new connection, or stray CRLFs): nothing to answer.
            self.transport.close()

    def _body_expired(self) -> None:
        self._body_timer = None
        if self.transport.is_closing():
            return
        cycle = self.cycle
        reason = f"request body not received within {self.limits.body_timeout:g} s"
        if cycle is None or cycle.response_started or self.pipeline:
            # Answered already (a 413 before the body, say), or another answer is under way.
            self._refuse(408, reason, answer=False)
            return
        # The app reads http.disconnect instead of the rest of the body, and whatever it answers
        # is dropped: the 408 is the answer.
        cycle.disconnected = True
        cycle.message_event.set()
        self._refuse(408, reason)

    def _cancel_timers(self) -> None:
        for timer in (self._head_timer, self._body_timer, self._linger_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._body_timer = self._linger_timer = None

    # -- answers ---------------------------------------------------------------------------------

    def _head_limits(self) -> str:
        return (
            f"request headers are limited to {self.limits.max_header_bytes} bytes "
            f"and {self.limits.max_headers} fields"
        )

    def _invalid(self) -> None:
        msg = "Invalid HTTP request received."
        self.logger.warning(msg)
        self.send_400_response(msg)

    def _refuse(self, status: int, reason: str, *, answer: bool = True) -> None:
        """Answer `status` (if `answer` and no response is under way on this connection), then close."""
        skipped = self.throttle.allow(status)
        if skipped is not None:
            client = f"{self.client[0]}:{self.client[1]}" if self.client else "unknown client"
            more = f" ({skipped} more since the last such line)" if skipped else ""
            self.logger.warning("%s: %d, %s%s", client, status, reason, more)
        cycle = self.cycle
        idle = cycle is None or cycle.response_complete or (cycle.disconnected and not cycle.response_started)
        if answer and idle:
            body = orjson.dumps({"error": {"code": _CODES[status], "message": reason, "details": None}})
            content = [STATUS_LINE[status]]
            for name, value in self.server_state.default_headers:
                content.extend([name, b": ", value, b"\r\n"])
            content.append(b"content-type: application/json\r\ncontent-length: %d\r\n" % len(body))
            content.append(b"connection: close\r\n\r\n")
            content.append(body)
            self.transport.write(b"".join(content))
            if status != 503 and self.transport.can_write_eof():
                self._linger()
                return
        self._cancel_timers()
        self.transport.close()

    def _linger(self) -> None:
        """Half-close after an answer, and drop what the client still sends for LINGER_SECONDS.

        Closing a socket that still holds unread bytes makes the kernel send a reset, which can
        destroy the answer before the client has read it; a client that is still sending (slowly,
        or endlessly) would never learn why it was cut off. nginx's lingering close does the same.
        """
        self._cancel_timers()
        self._unset_keepalive_if_required()
        self._lingering = True
        self.transport.write_eof()
        self.flow.resume_reading()
        self._linger_timer = self.loop.call_later(LINGER_SECONDS, self.transport.close)


def protocol_class(limits: HttpLimits) -> type[LimitedHttpToolsProtocol]:
    """The protocol class to give uvicorn (`http=`): uvicorn builds one instance per connection."""
    return type(
        "WacoexHttpProtocol",
        (LimitedHttpToolsProtocol,),
        {"limits": limits, "throttle": _Throttle()},
    )
