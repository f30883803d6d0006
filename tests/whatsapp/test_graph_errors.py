"""Every failure of a provider call becomes one ProviderError saying whether it left and what to do."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from tests.whatsapp.test_graph import client_at, ref, text
from wacoex.errors import ProviderError
from wacoex.whatsapp.graph import GraphProvider
from wacoex.whatsapp.graph_errors import GRAPH_CODES, classify, retry_after_seconds


def graph_error(code: int, status: int = 400, **headers: str) -> httpx.Response:
    body = {
        "error": {"message": f"(#{code}) Title", "type": "OAuthException", "code": code, "fbtrace_id": "A"}
    }
    return httpx.Response(status, json=body, headers=headers)


def failure(answer: httpx.Response | Callable[[httpx.Request], httpx.Response]) -> ProviderError:
    """What a send fails with when the provider answers `answer`."""
    handler = answer if callable(answer) else (lambda request: answer)
    provider = GraphProvider(client_at("http://p.test", httpx.MockTransport(handler)))
    with pytest.raises(ProviderError) as caught:
        provider.send_message(ref(), text())
    return caught.value


@pytest.mark.parametrize(
    ("code", "name", "retryable", "throttle"),
    [
        (130429, "throughput", True, "number"),
        (131056, "pair_rate", True, "pair"),
        (131047, "window_closed", False, None),
        (131026, "undeliverable", False, None),
        (131000, "unknown", True, None),
        (131016, "unavailable", True, None),
        (131057, "unavailable", True, None),
        (133004, "unavailable", True, None),
        (2, "unavailable", True, None),
        (4, "rate_limited", True, None),
        (80007, "rate_limited", True, None),
        (100, "invalid_request", False, None),
        (131008, "invalid_request", False, None),
        (131009, "invalid_request", False, None),
        (131051, "invalid_request", False, None),
        (135000, "invalid_request", False, None),
        (190, "unauthorized", False, None),
        (0, "unauthorized", False, None),
        (10, "permission", False, None),
        (200, "permission", False, None),
        (294, "permission", False, None),
        (131005, "permission", False, None),
        (368, "account", False, None),
        (131031, "account", False, None),
        (131042, "account", False, None),
        (133010, "account", False, None),
        (131052, "media", False, None),
        (131053, "media", False, None),
        (132000, "template", False, None),
        (132001, "template", False, None),
        (132012, "template", False, None),
        (131021, "recipient", False, None),
        (2593107, "sync_refused", False, None),
        (2593108, "sync_refused", False, None),
        (2593109, "sync_refused", False, None),
    ],
)
def test_graph_codes_map_to_their_class(code: int, name: str, retryable: bool, throttle: str | None) -> None:
    err = failure(graph_error(code))
    assert err.graph_code == code
    assert err.http_status == 400
    assert err.details["error"] == name
    assert err.retryable is retryable
    assert err.ambiguous is False  # a Graph error answer means nothing was accepted
    assert err.details["throttle"] == throttle
    assert err.details["meaning"]
    assert err.details["body"]["error"]["code"] == code  # type: ignore[index]
    assert f"Graph error {code}" in err.message


def test_every_class_of_the_table_has_a_meaning_and_is_never_ambiguous() -> None:
    for code, kind in GRAPH_CODES.items():
        assert kind.meaning, code
        assert not kind.ambiguous, code
    assert {GRAPH_CODES[130429].throttle, GRAPH_CODES[131056].throttle} == {"number", "pair"}


@pytest.mark.parametrize(
    ("status", "name", "retryable", "ambiguous"),
    [
        (500, "unavailable", True, False),
        (502, "unavailable", True, False),
        (503, "unavailable", True, False),
        (504, "no_answer", False, True),  # a gateway gave up waiting: the platform may have sent it
        (429, "throughput", True, False),
        (401, "unauthorized", False, False),
        (403, "permission", False, False),
        (404, "not_found", False, False),
        (400, "rejected", False, False),
    ],
)
def test_answers_without_a_graph_code_are_classed_by_http_status(
    status: int, name: str, retryable: bool, ambiguous: bool
) -> None:
    err = failure(httpx.Response(status, text="upstream trouble"))
    assert (err.details["error"], err.retryable, err.ambiguous) == (name, retryable, ambiguous)
    assert err.graph_code is None
    assert err.http_status == status


def test_an_unknown_graph_code_falls_back_on_the_http_status() -> None:
    assert failure(graph_error(999999, 400)).details["error"] == "rejected"
    assert failure(graph_error(999999, 500)).retryable
    assert classify(None, None).name == "rejected"


def test_360dialogs_own_error_shape_gives_its_message() -> None:
    body = {"meta": {"success": False, "http_code": 401, "developer_message": "Invalid api_key"}}
    err = failure(httpx.Response(401, json=body))
    assert err.details["error"] == "unauthorized"
    assert "Invalid api_key" in err.message
    assert err.details["body"] == body


def test_retry_after_is_honoured_in_seconds_or_as_a_date() -> None:
    err = failure(graph_error(130429, 400, **{"Retry-After": "7"}))
    assert err.details["retry_after"] == 7.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None
    assert failure(graph_error(130429)).details["retry_after"] is None


def test_an_unreadable_success_of_a_send_is_ambiguous() -> None:
    err = failure(httpx.Response(200, text="<html>ok</html>"))
    assert err.ambiguous
    assert not err.retryable


# -- transport failures over real sockets -------------------------------------------------------


@contextmanager
def raw_server(behaviour: Callable[[socket.socket], Any]) -> Iterator[str]:
    """A TCP server on loopback that runs `behaviour` on each accepted connection."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.05)  # so the loop notices `stop`: closing does not wake a blocked accept
    held: list[socket.socket] = []
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)
            behaviour(conn)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        listener.close()
        for conn in held:
            conn.close()
        thread.join(5)


def read_request(conn: socket.socket) -> None:
    conn.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk


def hang(conn: socket.socket) -> None:
    read_request(conn)  # takes the whole request, then never answers


def drop(conn: socket.socket) -> None:
    read_request(conn)
    conn.close()


def provider_at(base: str) -> GraphProvider:
    return GraphProvider(client_at(base, timeout=0.3))


def test_a_send_that_times_out_after_leaving_is_ambiguous() -> None:
    with raw_server(hang) as base, pytest.raises(ProviderError) as caught:
        provider_at(base).send_message(ref(), text())
    err = caught.value
    assert err.ambiguous
    assert not err.retryable
    assert err.details["error"] == "no_answer"
    assert "ReadTimeout" in err.message


def test_a_connection_dropped_after_the_send_left_is_ambiguous() -> None:
    with raw_server(drop) as base, pytest.raises(ProviderError) as caught:
        provider_at(base).send_message(ref(), text())
    assert caught.value.ambiguous
    assert not caught.value.retryable


def test_a_read_that_times_out_may_simply_be_asked_again() -> None:
    with raw_server(hang) as base, pytest.raises(ProviderError) as caught:
        provider_at(base).fetch_media(ref(), "123")
    assert caught.value.retryable
    assert not caught.value.ambiguous


def test_a_refused_connection_sent_nothing_and_is_retryable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        with pytest.raises(ProviderError) as caught:
            provider_at(f"http://127.0.0.1:{port}").send_message(ref(), text())
    assert caught.value.retryable
    assert not caught.value.ambiguous
    assert caught.value.details["error"] == "unreachable"


def test_a_connect_timeout_sent_nothing_and_is_retryable() -> None:
    def never_connects(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    err = failure(never_connects)
    assert err.retryable
    assert not err.ambiguous


def test_the_timeouts_come_from_the_settings() -> None:
    from wacoex.config import Settings
    from wacoex.whatsapp.graph import GraphClient

    seen: list[dict[str, Any]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, json={"messages": [{"id": "wamid.X"}]})

    settings = Settings(provider_connect_timeout_seconds=1.5, provider_timeout_seconds=9.0)
    client = GraphClient.from_settings(settings, httpx.MockTransport(handle))
    GraphProvider(client).send_message(ref(), text())
    assert seen == [{"connect": 1.5, "read": 9.0, "write": 9.0, "pool": 9.0}]
