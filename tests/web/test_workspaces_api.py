"""API keys over loopback: a key reads its own workspace only; another workspace's number,
conversations, messages, contacts and media answer 404 exactly as if they did not exist;
receipts and unknown items are the gateway admin key's; revoked and unknown keys are 401."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests import payloads as p
from tests.gateway import ADMIN_KEY
from tests.web.served import Served, served_gateway
from wacoex.bootstrap import token_cipher
from wacoex.store.numbers import add_number

T = 1_760_000_000
OTHER = {
    "phone_number_id": "200000000000002",
    "display_phone_number": "15550002222",
    "waba_id": "900000000009",
}


def _inbound_to(number: dict[str, str], wamid: str, frm: str, body: str) -> dict[str, Any]:
    raw = p.inbound(wamid, frm, T, body, name="Contact of " + number["phone_number_id"])
    raw["entry"][0]["id"] = number["waba_id"]
    raw["entry"][0]["changes"][0]["value"]["metadata"] = {
        "display_phone_number": number["display_phone_number"],
        "phone_number_id": number["phone_number_id"],
    }
    return raw


@dataclass
class Tenants:
    served: Served
    keys: dict[str, str]  # role name -> key of workspace "acme"
    default_key: str  # a read-only key of workspace 1
    revoked_key: str
    acme_conversation: int
    acme_sha256: str

    def get(self, key: str, path: str, **params: Any) -> Any:
        return self.served.http.get(path, headers={"Authorization": f"Bearer {key}"}, params=params)


@pytest.fixture
def tenants(db_url: str, tmp_path: Path) -> Iterator[Tenants]:
    """Workspace 1 has the usual business number; workspace "acme" has OTHER, each with a customer."""
    with served_gateway(db_url, tmp_path) as served:
        admin = served.container.admin
        admin.add_workspace("acme")
        with served.container.engine.begin() as conn:
            cipher = token_cipher(served.container.settings)
            add_number(conn, **p_business(), provider="meta", coexistence=True, cipher=cipher)
        admin.add_number(
            **OTHER, provider="meta", coexistence=False, workspace="acme", access_token="acme-tok"
        )
        served.webhook(p.inbound("wamid.default1", "16505551234", T, "for default"))
        served.webhook(_inbound_to(OTHER, "wamid.acme1", "16505559999", "for acme"))
        served.container.processor.drain()
        sha256 = served.container.media_store.save(b"\x89PNG acme only", "image/png")
        with served.container.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "UPDATE messages SET media_sha256 = :s, media_state = 'done' WHERE wamid = 'wamid.acme1'"
                ),
                {"s": sha256},
            )
            conversation = conn.execute(
                sa.text("SELECT conversation_id FROM messages WHERE wamid = 'wamid.acme1'")
            ).scalar_one()
        keys = {
            role: admin.create_api_key(f"acme {role}", workspace="acme", role=role)[1]
            for role in ("admin", "operator", "bot", "read-only")
        }
        _, default_key = admin.create_api_key("default reader", role="read-only")
        revoked, revoked_key = admin.create_api_key("gone", workspace="acme", role="bot")
        admin.revoke_api_key(revoked.id)
        yield Tenants(served, keys, default_key, revoked_key, int(conversation), sha256)


def p_business() -> dict[str, str]:
    return {"phone_number_id": p.PNID, "display_phone_number": p.BIZ, "waba_id": p.WABA}


def test_a_list_holds_only_the_callers_workspace(tenants: Tenants) -> None:
    def numbers(key: str) -> list[str]:
        r = tenants.get(key, "/api/v1/numbers")
        assert r.status_code == 200, r.text
        return [n["phone_number_id"] for n in r.json()]

    assert numbers(tenants.default_key) == [p.PNID]
    for key in tenants.keys.values():
        assert numbers(key) == [OTHER["phone_number_id"]]
    assert numbers(ADMIN_KEY) == [p.PNID, OTHER["phone_number_id"]]  # the settings' key: every workspace


@pytest.mark.parametrize("role", ["admin", "operator", "bot", "read-only"])
def test_every_role_reads_its_own_workspace(tenants: Tenants, role: str) -> None:
    key, pnid = tenants.keys[role], OTHER["phone_number_id"]
    assert tenants.get(key, f"/api/v1/numbers/{pnid}").json()["phone_number_id"] == pnid
    [conversation] = tenants.get(key, f"/api/v1/numbers/{pnid}/conversations").json()["items"]
    assert conversation["contact"]["wa_id"] == "16505559999"
    assert conversation["contact"]["display_name"] == f"Contact of {pnid}"
    [message] = tenants.get(key, f"/api/v1/conversations/{conversation['id']}/messages").json()["items"]
    assert message["text"] == "for acme"
    assert tenants.get(key, f"/api/v1/numbers/{pnid}/history-sync").json()["state"] == "none"
    media = tenants.get(key, message["media"]["url"])
    assert (media.status_code, media.content) == (200, b"\x89PNG acme only")


def test_another_workspaces_records_are_not_found_exactly_like_missing_ones(tenants: Tenants) -> None:
    key, pnid, conv, sha = (
        tenants.default_key,
        OTHER["phone_number_id"],
        tenants.acme_conversation,
        tenants.acme_sha256,
    )
    missing_pnid, missing_conv, missing_sha = pnid + "0", conv + 100, "0" * 64
    reads = [
        ("/api/v1/numbers/{}", pnid, missing_pnid, "number {} is not registered"),
        ("/api/v1/numbers/{}/conversations", pnid, missing_pnid, "number {} is not registered"),
        ("/api/v1/numbers/{}/history-sync", pnid, missing_pnid, "number {} is not registered"),
        ("/api/v1/conversations/{}/messages", conv, missing_conv, "conversation {} does not exist"),
        ("/api/v1/media/{}", sha, missing_sha, "no stored media {}"),
    ]
    for path, theirs, missing, message in reads:
        for target in (theirs, missing):
            r = tenants.get(key, path.format(target))
            assert r.status_code == 404, (path, target, r.text)
            assert r.json()["error"] == {
                "code": "not_found",
                "message": message.format(target),
                "details": None,
            }
    # and the other way round: acme's keys do not see workspace 1
    for acme_key in tenants.keys.values():
        assert tenants.get(acme_key, f"/api/v1/numbers/{p.PNID}").status_code == 404
        assert tenants.get(acme_key, f"/api/v1/numbers/{p.PNID}/conversations").status_code == 404


def test_operations_across_workspaces_are_for_the_gateway_admin_key_only(tenants: Tenants) -> None:
    for key in [*tenants.keys.values(), tenants.default_key]:
        for method, path in [
            ("GET", "/api/v1/receipts"),
            ("GET", "/api/v1/unknown"),
            ("POST", "/api/v1/receipts/1/replay"),
        ]:
            r = tenants.served.http.request(method, path, headers={"Authorization": f"Bearer {key}"})
            assert r.status_code == 403, (path, r.text)
            assert r.json()["error"]["code"] == "forbidden"
            assert "WACOEX_ADMIN_API_KEY" in r.json()["error"]["message"]
    receipts = tenants.get(ADMIN_KEY, "/api/v1/receipts")
    assert receipts.status_code == 200
    assert len(receipts.json()["items"]) == 2
    assert tenants.get(ADMIN_KEY, "/api/v1/unknown").status_code == 200


def test_a_revoked_or_unknown_key_is_refused(tenants: Tenants) -> None:
    for key in (tenants.revoked_key, "wcx_" + "x" * 43, tenants.keys["bot"] + "x"):
        r = tenants.get(key, "/api/v1/numbers")
        assert r.status_code == 401
        assert r.json()["error"] == {"code": "unauthorized", "message": "invalid API key", "details": None}
