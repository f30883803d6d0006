"""What the REST API answers to malformed input: 4xx in the one error shape, never a 500 or a wrong page."""

from __future__ import annotations

import base64
import http.client
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
from fastapi.testclient import TestClient

from tests import payloads as p
from tests.gateway import BUSINESS, Gateway, running_gateway
from tests.web.served import AUTH, served_gateway
from wacoex.web.app import create_app

PNID = BUSINESS["phone_number_id"]
C1, C2 = "16505551234", "16505551235"
T = 1_760_000_000


def _old_style(values: Any) -> str:
    """A cursor as this API used to write them (base64url of a JSON list), possibly ill-typed."""
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


# Every list endpoint, with the cursors: each decoded to the wrong element types, or empty.
LISTS = [
    f"/api/v1/numbers/{PNID}/conversations",
    "/api/v1/conversations/1/messages",
    "/api/v1/receipts",
    "/api/v1/unknown",
]
BAD_CURSORS = {
    '["x"]': _old_style(["x"]),
    "[null,null]": _old_style([None, None]),
    '[2^63,"w"]': _old_style([2**63, "w"]),
    '[1e300,"w"]': _old_style([1e300, "w"]),
    "[0]": _old_style([0]),
    "not base64": "!!not base64!!",
    "non-ASCII": "ünïcødé",
    "huge": "a" * 60_000,  # httpx refuses URLs over 64 KiB
    "uppercase hex": "7FFFFFFFFFFFFFFF",
    "short hex": "7fff",
    "hex with a NUL byte": "8000000000000000" + "00" + "8000000000000000" * 2,
    "newline after a good cursor": "8000000000000001\n",
}


@pytest.fixture
def gw(db_url: str, tmp_path: Path) -> Iterator[Gateway]:
    with running_gateway(db_url, tmp_path) as g:
        g.register()
        g.deliver(p.inbound("wamid.A1", C1, T, "one"))
        g.deliver(p.inbound("wamid.A2", C1, T + 1, "two"))
        g.deliver(p.inbound("wamid.B1", C2, T + 2, "three"))
        g.post(b"{not json")
        g.drain()
        yield g


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]  # type: ignore[no-any-return]


def test_every_malformed_cursor_is_refused_with_422_in_the_error_shape(gw: Gateway) -> None:
    for path in LISTS:
        for name, cursor in BAD_CURSORS.items():
            response = gw.client.get(path, headers=gw.auth, params={"cursor": cursor})
            error = _error(response, 422, "invalid_input")
            assert error["message"].startswith("cursor:"), (path, name)
            assert error["details"]["errors"][0]["loc"] == ["query", "cursor"], (path, name)


def test_an_empty_cursor_is_the_first_page(gw: Gateway) -> None:
    first = gw.get("/api/v1/receipts", cursor="")
    assert [r["id"] for r in first["items"]] == [r["id"] for r in gw.get("/api/v1/receipts")["items"]]
    assert len(first["items"]) == 4


def test_a_well_formed_cursor_is_a_position_even_past_the_end(gw: Gateway) -> None:
    # The lowest 64-bit integer: there is nothing before it, and no page starts over from the first.
    lowest = "0" * 16
    assert gw.get("/api/v1/receipts", cursor=lowest)["items"] == []
    assert gw.get("/api/v1/unknown", cursor=lowest)["items"] == []
    # Id 0 names the position before every receipt too (it used to mean "no cursor").
    assert gw.get("/api/v1/receipts", cursor="8000000000000000")["items"] == []
    assert gw.get(f"/api/v1/numbers/{PNID}/conversations", cursor="0" * 32)["items"] == []
    # A timestamp past every message, then a wamid that is not UTF-8: both positions after the last row.
    assert gw.get("/api/v1/conversations/1/messages", cursor="f" * 16)["items"] == []
    past = "ffff" + "f" * 12 + "ff"
    assert gw.get("/api/v1/conversations/1/messages", cursor=past)["items"] == []


def test_pages_walked_with_next_cursor_are_the_whole_list(gw: Gateway) -> None:
    gw.deliver(p.inbound("wamid.ñ-ü-😀", C1, T + 1, "same second as wamid.A2"))
    gw.deliver(p.inbound("wamid.Z", C1, T - 5_000_000_000, "before 1970"))
    conversation = gw.conversations()[-1]["id"]
    lists = {
        f"/api/v1/numbers/{PNID}/conversations": "id",
        f"/api/v1/conversations/{conversation}/messages": "wamid",
        "/api/v1/receipts": "id",
    }
    for path, key in lists.items():
        whole = [item[key] for item in gw.get(path, limit=500)["items"]]
        walked: list[Any] = []
        cursor = ""
        while True:
            page = gw.get(path, limit=1, cursor=cursor)
            walked += [item[key] for item in page["items"]]
            if page["next_cursor"] is None:
                break
            cursor = page["next_cursor"]
        assert walked == whole, path
        assert len(whole) >= 2, path
    assert "wamid.ñ-ü-😀" in [m["wamid"] for m in gw.messages(conversation)]


PATHS_OUT_OF_RANGE = [
    ("/api/v1/conversations/99999999999999999999/messages", 422),
    ("/api/v1/conversations/9223372036854775808/messages", 422),
    ("/api/v1/conversations/0/messages", 422),
    ("/api/v1/conversations/-1/messages", 422),
    ("/api/v1/conversations/1e3/messages", 422),
    ("/api/v1/conversations/9223372036854775807/messages", 404),
    ("/api/v1/numbers/nope%00/conversations", 422),
    (f"/api/v1/numbers/{'1' * 65}", 422),
    ("/api/v1/numbers/nope/history-sync", 404),
    ("/api/v1/media/not-a-sha256", 422),
    ("/api/v1/media/" + "0" * 63 + "%00", 422),
    ("/api/v1/media/" + "0" * 64, 404),
]


def test_path_parameters_out_of_range_get_4xx_in_the_error_shape(gw: Gateway) -> None:
    for path, status in PATHS_OUT_OF_RANGE:
        response = gw.client.get(path, headers=gw.auth)
        _error(response, status, "invalid_input" if status == 422 else "not_found")
    for receipt, status in [("99999999999999999999", 422), ("0", 422), ("424242", 404)]:
        response = gw.client.post(f"/api/v1/receipts/{receipt}/replay", headers=gw.auth)
        _error(response, status, "invalid_input" if status == 422 else "not_found")


def test_receipts_state_is_one_of_the_four_states(gw: Gateway) -> None:
    error = _error(gw.client.get("/api/v1/receipts?state=bogus", headers=gw.auth), 422, "invalid_input")
    assert error["details"]["errors"][0]["loc"] == ["query", "state"]
    assert "'pending', 'done', 'held' or 'parked'" in error["message"]
    parked = gw.get("/api/v1/receipts", state="parked")["items"]
    assert [r["state"] for r in parked] == ["parked"]
    assert len(gw.get("/api/v1/receipts", state="done")["items"]) == 3
    spec = gw.client.get("/api/openapi.json").json()
    assert spec["components"]["schemas"]["ReceiptState"]["enum"] == ["pending", "done", "held", "parked"]


def test_unknown_paths_and_methods_answer_in_the_error_shape(gw: Gateway) -> None:
    error = _error(gw.client.get("/api/v1/nope", headers=gw.auth), 404, "not_found")
    assert "/api/v1/nope" in error["message"]
    _error(gw.client.get("/nowhere"), 404, "not_found")
    deleted = gw.client.delete("/api/v1/numbers", headers=gw.auth)
    _error(deleted, 405, "method_not_allowed")
    assert deleted.headers["allow"] == "GET"
    # Two routes share this path; the Allow header names the methods of both.
    put = gw.client.put("/webhooks/whatsapp", content=b"{}")
    _error(put, 405, "method_not_allowed")
    assert put.headers["allow"] == "GET, POST"
    options = gw.client.options("/api/v1/receipts/1/replay")
    _error(options, 405, "method_not_allowed")
    assert options.headers["allow"] == "POST"


def test_a_timestamp_beyond_year_9999_reads_as_null_not_a_500(gw: Gateway) -> None:
    gw.deliver(p.inbound("wamid.FAR", C2, 10**12, "from the far future"))
    far = next(m for m in gw.all_messages() if m["wamid"] == "wamid.FAR")
    assert far["occurred_at"] is None
    assert far["text"] == "from the far future"


def test_a_stored_media_file_is_served(gw: Gateway) -> None:
    sha256 = gw.container.media_store.save(b"\x89PNG not really", "image/png")
    response = gw.client.get(f"/api/v1/media/{sha256}", headers=gw.auth)
    assert response.status_code == 200
    assert response.content == b"\x89PNG not really"
    assert response.headers["content-type"] == "image/png"


def test_an_unexpected_exception_answers_500_in_the_error_shape(gw: Gateway) -> None:
    app = create_app(container=gw.container, run_worker=False)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        error = _error(client.get("/boom"), 500, "internal_error")
    assert "a bug" not in error["message"]


def test_malformed_requests_keep_the_connection_alive(db_url: str, tmp_path: Path) -> None:
    """Over a real socket: each refusal is a 4xx on the same keep-alive connection."""
    with served_gateway(db_url, tmp_path) as served:
        served.seed()
        where = urlsplit(served.url)
        conn = http.client.HTTPConnection(where.hostname or "", where.port, timeout=30)
        try:
            requests = [
                ("GET", "/api/v1/conversations/1/messages?cursor=" + BAD_CURSORS['[2^63,"w"]'], 422),
                ("GET", "/api/v1/conversations/1/messages?cursor=" + BAD_CURSORS["[null,null]"], 422),
                ("GET", "/api/v1/conversations/99999999999999999999/messages", 422),
                ("GET", "/api/v1/receipts?state=bogus", 422),
                ("GET", "/api/v1/receipts?cursor=" + BAD_CURSORS["[0]"], 422),
                ("GET", "/api/v1/nope", 404),
                ("DELETE", "/api/v1/numbers", 405),
                ("GET", "/api/v1/numbers", 200),
            ]
            sock = None
            for method, path, status in requests:
                conn.request(method, path, headers=AUTH)
                response = conn.getresponse()
                body = orjson.loads(response.read())
                assert response.status == status, (path, body)
                assert status == 200 or set(body) == {"error"}
                assert not response.will_close, path
                sock = sock or conn.sock
                assert conn.sock is sock, f"the connection was reset after {method} {path}"
        finally:
            conn.close()
