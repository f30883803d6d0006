"""Webhook ingress: what is stored, what is refused, what Meta and 360dialog are answered."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import orjson
import pytest

from tests import payloads as p
from tests.data import load_bytes
from tests.gateway import APP_SECRET, Gateway, running_gateway
from wacoex.store.receipts import sql_receipt_peek
from wacoex.whatsapp.signature import sign_hub


@pytest.fixture
def gw(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    with running_gateway(
        db_url,
        tmp_path,
        dialog360_webhook_secrets=["d360-platform-secret"],
        dialog360_header_secrets=["d360-phone-secret"],
    ) as g:
        g.register()
        yield g


def _receipts(gw: Gateway) -> int:
    return int(gw.scalar("SELECT count(*) FROM receipts"))


def _queued_bodies(gw: Gateway) -> list[bytes]:
    """The bodies of the receipts waiting to be applied, oldest first, as the worker will read them."""
    return [r.body for r in sql_receipt_peek(gw.container.engine)(1000, 2**62)]


def test_verification_handshake_echoes_the_challenge(gw: Gateway) -> None:
    ok = gw.client.get(
        "/webhooks/whatsapp",
        params={"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": "vt-123"},
    )
    assert ok.status_code == 200
    assert ok.text == "1158201444"
    bad = gw.client.get(
        "/webhooks/whatsapp",
        params={"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": "wrong"},
    )
    assert bad.status_code == 403


def test_wrong_signature_is_refused_and_nothing_is_stored(gw: Gateway) -> None:
    body = orjson.dumps(p.inbound("wamid.X", "16505551234", 1_760_000_000))
    assert gw.post(body, secret="not-the-secret").status_code == 403
    missing = gw.client.post("/webhooks/whatsapp", content=body, headers={"content-type": "application/json"})
    assert missing.status_code == 401
    tampered = gw.client.post(
        "/webhooks/whatsapp",
        content=body + b" ",
        headers={
            "x-hub-signature-256": "sha256=" + hmac.new(b"test-app-secret", body, hashlib.sha256).hexdigest()
        },
    )
    assert tampered.status_code == 403
    assert _receipts(gw) == 0


def test_rotated_secrets_are_all_accepted(db_url: str, tmp_path: Path) -> None:
    with running_gateway(db_url, tmp_path, app_secrets=["old-secret", "new-secret"]) as gw:
        gw.register()
        old = orjson.dumps(p.inbound("wamid.R1", "16505551234", 1_760_000_000, "signed with the old secret"))
        new = orjson.dumps(p.inbound("wamid.R2", "16505551234", 1_760_000_060, "signed with the new secret"))
        retired = orjson.dumps(p.inbound("wamid.R3", "16505551234", 1_760_000_120, "a retired secret"))
        assert gw.post(old, secret="old-secret").status_code == 200
        assert gw.post(new, secret="new-secret").status_code == 200
        assert gw.post(retired, secret="retired-secret").status_code == 403
        # Both accepted bodies are stored byte for byte; the refused one is not stored at all.
        assert _queued_bodies(gw) == [old, new]
        assert gw.drain().done == 2
        assert [(m["wamid"], m["text"]) for m in gw.all_messages()] == [
            ("wamid.R1", "signed with the old secret"),
            ("wamid.R2", "signed with the new secret"),
        ]


def test_signature_is_checked_over_the_raw_bytes_not_reserialised_json(gw: Gateway) -> None:
    # Meta signs an escaped-unicode form; re-serialising would change the bytes and the digest.
    raw = b'{"object":"whatsapp_business_account","entry":[],"note":"caf\\u00e9 \\ud83d\\ude00"}'
    assert gw.post(raw).status_code == 200
    # The same, holding a message whose text is escaped: stored as sent, applied as meant.
    value = (
        b'{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881",'
        b'"phone_number_id":"106540352242922"},"messages":[{"from":"16505551234","id":"wamid.RAW",'
        b'"timestamp":"1760000000","type":"text","text":{"body":"caf\\u00e9 \\ud83d\\ude00"}}]}'
    )
    message = (
        b'{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":'
        b'[{"field":"messages","value":' + value + b"}]}]}"
    )
    reserialised = orjson.dumps(orjson.loads(message))
    assert reserialised != message
    assert gw.post(message).status_code == 200
    # The signature of the bytes Meta sent does not cover a re-serialised body: refused, not stored.
    signature = {"x-hub-signature-256": sign_hub(message, APP_SECRET)}
    refused = gw.client.post("/webhooks/whatsapp", content=reserialised, headers=signature)
    assert refused.status_code == 403
    assert _queued_bodies(gw) == [raw, message]
    assert gw.drain().done == 2
    [stored] = gw.all_messages()
    assert (stored["wamid"], stored["text"]) == ("wamid.RAW", "caf\u00e9 \U0001f600")


def test_malformed_json_with_a_valid_signature_is_kept_and_parked(gw: Gateway) -> None:
    response = gw.post(b'{"object": "whatsapp_business_account", "entry": [')
    assert response.status_code == 200  # so Meta does not retry it for a week
    result = gw.drain()
    assert result.parked == 1
    [receipt] = gw.get("/api/v1/receipts", state="parked")["items"]
    assert receipt["error"].startswith("unparseable")
    assert receipt["attempts"] == 1


def test_oversize_body_is_refused_with_413(db_url: str, tmp_path: Path) -> None:
    with running_gateway(db_url, tmp_path, max_webhook_bytes=10_000) as gw:
        big = b'{"pad":"' + b"x" * 20_000 + b'"}'
        assert gw.post(big).status_code == 413
        assert _receipts(gw) == 0


def test_default_limit_accepts_a_full_3mb_history_webhook(gw: Gateway) -> None:
    threads = [
        {
            "id": f"1650555{i:04d}",
            "messages": [
                p.hmsg(f"wamid.{i}.{j}", f"1650555{i:04d}", 1_700_000_000 + j, "x" * 80) for j in range(100)
            ],
        }
        for i in range(145)
    ]
    body = orjson.dumps(p.history(1, 1, 10, threads))
    assert 3_000_000 < len(body) <= 3 * 1024 * 1024
    assert gw.post(body).status_code == 200
    assert _queued_bodies(gw) == [body]
    [receipt] = gw.get("/api/v1/receipts")["items"]
    assert receipt["size"] == len(body)
    assert gw.drain().done == 1
    # Every message of every thread is in, each thread one conversation with its customer.
    assert gw.scalar("SELECT count(*) FROM messages WHERE origin = 'history'") == 14_500
    convs = gw.conversations()
    assert sorted(c["contact"]["wa_id"] for c in convs) == [f"1650555{i:04d}" for i in range(145)]
    assert {c["counts"]["history"] for c in convs} == {100}
    sync = gw.get(f"/api/v1/numbers/{p.PNID}/history-sync")
    assert (sync["state"], sync["progress"], sync["messages_imported"]) == ("in_progress", 10, 14_500)
    last = next(c for c in convs if c["contact"]["wa_id"] == "16505550144")
    messages = gw.messages(last["id"])
    assert [m["wamid"] for m in messages] == [f"wamid.144.{j}" for j in range(100)]
    assert {(m["direction"], m["origin"], m["text"]) for m in messages} == {("inbound", "history", "x" * 80)}


def test_unknown_fields_and_types_are_stored_and_surfaced_not_errors(gw: Gateway) -> None:
    gw.deliver(load_bytes("meta/unknown_field"))
    gw.deliver(load_bytes("meta/messages/unknown_type"))
    unknown = gw.get("/api/v1/unknown")["items"]
    assert any("unknown field" in u["reason"] for u in unknown)
    assert gw.scalar("SELECT count(*) FROM messages") == 1
    assert gw.scalar("SELECT count(*) FROM receipts WHERE state = 'done'") == 2


def test_360dialog_partner_webhook_with_platform_signature(gw: Gateway) -> None:
    raw = load_bytes("360dialog/partner_smb_app_state_sync")
    sig = hmac.new(b"d360-platform-secret", raw, hashlib.sha256).hexdigest()
    ok = gw.client.post("/webhooks/360dialog", content=raw, headers={"x-360dialog-signature": sig})
    assert ok.status_code == 200
    bad = gw.client.post("/webhooks/360dialog", content=raw, headers={"x-360dialog-signature": "00" * 32})
    assert bad.status_code == 403
    assert _queued_bodies(gw) == [raw]  # the refused copy is not stored
    gw.drain()
    assert gw.scalar("SELECT count(*) FROM contacts") >= 1


def test_360dialog_phone_webhook_with_header_secret(gw: Gateway) -> None:
    raw = load_bytes("360dialog/phone_messages")
    ok = gw.client.post("/webhooks/360dialog", content=raw, headers={"x-wacoex-token": "d360-phone-secret"})
    assert ok.status_code == 200
    assert (
        gw.client.post("/webhooks/360dialog", content=raw, headers={"x-wacoex-token": "wrong"}).status_code
        == 403
    )
    assert gw.client.post("/webhooks/360dialog", content=raw).status_code == 401
    assert _queued_bodies(gw) == [raw]  # neither refused copy is stored
    gw.drain()
    assert gw.scalar("SELECT count(*) FROM messages WHERE origin = 'customer'") >= 1


def test_360dialog_partner_history_imports_like_meta(gw: Gateway) -> None:
    raw = load_bytes("360dialog/partner_history")
    sig = hmac.new(b"d360-platform-secret", raw, hashlib.sha256).hexdigest()
    assert (
        gw.client.post("/webhooks/360dialog", content=raw, headers={"x-360dialog-signature": sig}).status_code
        == 200
    )
    gw.drain()
    assert gw.scalar("SELECT count(*) FROM messages WHERE origin = 'history'") >= 1


def test_concurrent_posts_share_commits_and_none_is_lost(gw: Gateway) -> None:
    import concurrent.futures

    bodies = [orjson.dumps(p.inbound(f"wamid.C{i}", f"1650555{i:04d}", 1_760_000_000)) for i in range(200)]
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(lambda b: gw.post(b).status_code, bodies))
    assert codes == [200] * 200
    assert _receipts(gw) == 200
    gw.drain()
    assert gw.scalar("SELECT count(*) FROM messages") == 200


def test_api_requires_a_key(gw: Gateway) -> None:
    assert gw.client.get("/api/v1/numbers").status_code == 401
    assert gw.client.get("/api/v1/numbers", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert gw.client.get("/api/v1/numbers/unknown-id", headers=gw.auth).status_code == 404
    assert gw.client.get("/api/v1/conversations/999/messages", headers=gw.auth).status_code == 404
    assert gw.client.get("/api/v1/numbers/x/conversations?cursor=%%%", headers=gw.auth).status_code in (
        404,
        422,
    )


def test_pagination_walks_every_message_once(gw: Gateway) -> None:
    for i in range(7):
        gw.post(p.inbound(f"wamid.{i:02d}", "16505551234", 1_760_000_000 + i // 2))
    gw.drain()
    [conv] = gw.conversations()
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = gw.get(f"/api/v1/conversations/{conv['id']}/messages", **params)
        seen.extend(m["wamid"] for m in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"wamid.{i:02d}" for i in range(7)]


def test_openapi_documents_the_read_api(gw: Gateway) -> None:
    spec = gw.client.get("/api/openapi.json").json()
    for path in [
        "/api/v1/numbers",
        "/api/v1/numbers/{phone_number_id}/conversations",
        "/api/v1/conversations/{conversation_id}/messages",
        "/api/v1/numbers/{phone_number_id}/history-sync",
    ]:
        assert path in spec["paths"]


def test_invalid_parameters_answer_in_the_one_error_shape(gw: Gateway) -> None:
    r = gw.client.get(f"/api/v1/numbers/{p.PNID}/conversations", params={"limit": 0}, headers=gw.auth)
    assert r.status_code == 422
    body = r.json()
    assert body["error"]["code"] == "invalid_input"
    assert body["error"]["message"].startswith("limit:")
    bad_cursor = gw.client.get(
        f"/api/v1/numbers/{p.PNID}/conversations", params={"cursor": "!!"}, headers=gw.auth
    )
    assert bad_cursor.status_code == 422
    assert bad_cursor.json()["error"]["code"] == "invalid_input"


def test_openapi_declares_bearer_auth_and_error_responses(gw: Gateway) -> None:
    spec = gw.client.get("/api/openapi.json").json()
    assert any(s.get("scheme") == "bearer" for s in spec["components"]["securitySchemes"].values())
    responses = spec["paths"]["/api/v1/numbers"]["get"]["responses"]
    assert {"401", "404", "422"} <= set(responses)


def test_the_documented_fastapi_routes_behave_like_the_ingress(db_url: str, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    with running_gateway(db_url, tmp_path) as gw:
        gw.register()
        plain = TestClient(gw.client.app.app)  # the FastAPI app without the ASGI fast path
        raw = orjson.dumps(p.inbound("wamid.ROUTE", "16505551234", 1_760_000_000))
        sig = "sha256=" + hmac.new(b"test-app-secret", raw, hashlib.sha256).hexdigest()
        assert (
            plain.post("/webhooks/whatsapp", content=raw, headers={"x-hub-signature-256": sig}).status_code
            == 200
        )
        assert plain.post("/webhooks/whatsapp", content=raw).status_code == 401
        gw.drain()
        assert gw.scalar("SELECT count(*) FROM messages") == 1
