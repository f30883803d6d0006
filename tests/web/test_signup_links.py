"""Signup links: the stateless token (valid, expired by Fernet's clock, wrong purpose, tampered, another
key) and the routes around it (the admin's POST, the owner's page, its check and complete calls)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.gateway import Gateway, running_gateway
from wacoex.domain.access import DEFAULT_WORKSPACE_ID, Principal, Role
from wacoex.errors import Forbidden
from wacoex.services.signup_links import LinkExpired, LinkInvalid, SignupLinks, link_key
from wacoex.store.token_cipher import TokenCipher

SECRET = "signup-links-secret-key-0123456789abcdef"
NOW = 1_800_000_000.0
ADMIN_OF_7 = Principal(role=Role.ADMIN, workspace_id=7)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def links(clock: Clock, *, secret: str = SECRET, max_hours: float = 72.0, **kw: Any) -> SignupLinks:
    return SignupLinks(secret, max_hours=max_hours, clock=clock, **kw)


def test_a_link_opens_to_its_workspace_until_it_expires() -> None:
    clock = Clock()
    made = links(clock).create(ADMIN_OF_7, hours=2)
    assert made.workspace_id == 7
    assert made.expires_at == NOW + 2 * 3600
    clock.now += 2 * 3600 - 1
    opened = links(clock).open(made.token)
    assert (opened.workspace_id, opened.expires_at) == (7, made.expires_at)
    clock.now += 2
    with pytest.raises(LinkExpired, match="ask whoever sent it for a new link"):
        links(clock).open(made.token)


def test_the_setting_caps_every_link_and_lowering_it_shortens_links_already_out() -> None:
    clock = Clock()
    capped = links(clock, max_hours=3).create(ADMIN_OF_7, hours=100)
    assert capped.expires_at == NOW + 3 * 3600
    default = links(clock, max_hours=3).create(ADMIN_OF_7)
    assert default.expires_at == NOW + 3 * 3600
    clock.now += 2 * 3600
    links(clock, max_hours=3).open(capped.token)
    with pytest.raises(LinkExpired):  # Fernet's ttl: the setting is now one hour
        links(clock, max_hours=1).open(capped.token)


def test_a_token_from_the_future_is_refused_as_expired() -> None:
    clock = Clock()
    made = links(clock).create(ADMIN_OF_7)
    clock.now -= 3600  # the clock was set back after the link was made
    with pytest.raises(LinkExpired):
        links(clock).open(made.token)


def test_the_gateway_admin_key_makes_links_to_the_default_workspace_and_other_roles_none() -> None:
    clock = Clock()
    everyone = Principal(role=Role.ADMIN, workspace_id=None)
    assert links(clock).create(everyone).workspace_id == DEFAULT_WORKSPACE_ID
    for role in (Role.OPERATOR, Role.BOT, Role.READ_ONLY):
        with pytest.raises(Forbidden, match="admin key"):
            links(clock).create(Principal(role=role, workspace_id=7))


@pytest.mark.parametrize(
    "payload",
    [
        {"workspace_id": 7, "purpose": "password_reset", "hours": 1},
        {"workspace_id": 7, "hours": 1},
        {"workspace_id": "7", "purpose": "signup", "hours": 1},
        {"workspace_id": True, "purpose": "signup", "hours": 1},
        {"workspace_id": 0, "purpose": "signup", "hours": 1},
        {"workspace_id": 7, "purpose": "signup"},
        ["signup", 7],
    ],
    ids=["other-purpose", "no-purpose", "string-id", "bool-id", "zero-id", "no-hours", "not-an-object"],
)
def test_a_genuine_token_that_is_not_a_signup_link_is_invalid(payload: object) -> None:
    token = link_key(SECRET).encrypt_at_time(json.dumps(payload).encode(), int(NOW)).decode()
    with pytest.raises(LinkInvalid):
        links(Clock()).open(token)


def test_a_genuine_token_that_is_not_json_is_invalid() -> None:
    token = link_key(SECRET).encrypt_at_time(b"\xff not json", int(NOW)).decode()
    with pytest.raises(LinkInvalid):
        links(Clock()).open(token)


def test_a_tampered_or_cut_token_is_invalid() -> None:
    clock = Clock()
    token = links(clock).create(ADMIN_OF_7).token
    middle = len(token) // 2
    flipped = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
    for bad in (flipped, token[:-4], token + "AAAA", "not-a-token", "é" * 20, " "):
        with pytest.raises(LinkInvalid, match="not valid"):
            links(clock).open(bad)


def test_another_key_cannot_open_a_link_but_a_previous_key_can() -> None:
    clock = Clock()
    token = links(clock).create(ADMIN_OF_7).token
    with pytest.raises(LinkInvalid):
        links(clock, secret="another-secret-key-0123456789abcdef").open(token)
    rotated = links(clock, secret="the-new-secret-key-0123456789abcdef", previous=[SECRET])
    assert rotated.open(token).workspace_id == 7


def test_a_stored_provider_token_is_never_a_signup_link() -> None:
    """Same secret, same recipe, another HKDF `info`: the two keys differ."""
    stored = TokenCipher(SECRET).encrypt(json.dumps({"workspace_id": 7, "purpose": "signup", "hours": 1}))
    with pytest.raises(LinkInvalid):
        links(Clock()).open(stored.removeprefix("fernet:v1:"))


def test_repr_hides_the_keys() -> None:
    assert SECRET not in repr(links(Clock()))


# The routes ---------------------------------------------------------------------------------------

CONFIGURED = {"meta_app_id": "100000000000001", "es_config_id": "cfg-7", "signup_link_hours": 48.0}


@pytest.fixture
def gw(db_url: str, tmp_path: Path) -> Iterator[Gateway]:
    with running_gateway(db_url, tmp_path, **CONFIGURED) as gateway:
        yield gateway


def new_link(gw: Gateway, **body: Any) -> dict[str, Any]:
    r = gw.client.post("/api/v1/onboarding/links", json=body or None, headers=gw.auth)
    assert r.status_code == 201, r.text
    return dict(r.json())


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["t"][0]


def test_an_admin_creates_a_link_to_the_page(gw: Gateway) -> None:
    before = time.time()
    link = new_link(gw)
    assert link["url"].startswith("http://testserver/onboarding/signup?t=")
    assert link["workspace_id"] == DEFAULT_WORKSPACE_ID
    expires = datetime.fromisoformat(link["expires_at"]).timestamp()
    assert before + 48 * 3600 - 2 <= expires <= time.time() + 48 * 3600 + 1
    shorter = new_link(gw, hours=0.5)
    assert datetime.fromisoformat(shorter["expires_at"]).timestamp() < expires - 40 * 3600
    capped = new_link(gw, hours=1000)
    assert abs(datetime.fromisoformat(capped["expires_at"]).timestamp() - expires) < 5


def test_a_stored_admin_key_makes_links_to_its_workspace_and_other_roles_are_refused(gw: Gateway) -> None:
    admin = gw.container.admin
    acme = admin.add_workspace("acme")
    _, key = admin.create_api_key("acme admin", workspace="acme", role="admin")
    r = gw.client.post("/api/v1/onboarding/links", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 201, r.text
    assert r.json()["workspace_id"] == acme.id
    _, operator = admin.create_api_key("acme op", workspace="acme", role="operator")
    refused = gw.client.post("/api/v1/onboarding/links", headers={"Authorization": f"Bearer {operator}"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert gw.client.post("/api/v1/onboarding/links").status_code == 401
    for bad in ({"hours": 0}, {"hours": -1}, {"hours": "soon"}, {"hours": 1e6}):
        r = gw.client.post("/api/v1/onboarding/links", json=bad, headers=gw.auth)
        assert r.status_code == 422, (bad, r.text)


def test_the_link_uses_the_public_url_when_set(db_url: str, tmp_path: Path) -> None:
    with running_gateway(db_url, tmp_path, public_url="https://gw.example.com/", **CONFIGURED) as gw:
        assert new_link(gw)["url"].startswith("https://gw.example.com/onboarding/signup?t=")


def test_the_route_is_in_the_openapi_document_and_the_page_calls_are_not(gw: Gateway) -> None:
    paths = gw.client.get("/api/openapi.json").json()["paths"]
    operation = paths["/api/v1/onboarding/links"]["post"]
    assert {"201", "401", "403", "422"} <= set(operation["responses"])
    assert not any(p.startswith("/onboarding/") for p in paths)


def test_the_page_explains_and_launches_embedded_signup(gw: Gateway) -> None:
    url = new_link(gw)["url"]
    r = gw.client.get(url)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["referrer-policy"] == "no-referrer"
    page = r.text
    assert "coexistence" in page
    assert "Up to four companion devices" in page  # the limits
    assert 'src="https://connect.facebook.net/en_US/sdk.js"' in page
    assert '"configId": "cfg-7"' in page
    assert '"appId": "100000000000001"' in page
    assert '"origins": ["https://www.facebook.com", "https://web.facebook.com"]' in page
    assert "whatsapp_business_app_onboarding" in page
    assert 'href="/onboarding/switch-back"' in page
    back = gw.client.get("/onboarding/switch-back")
    assert back.status_code == 200
    assert "Settings › Account › Business Platform" in back.text
    assert "Disconnect" in back.text


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ("", 403, "its ?t=… part is missing"),
        ("?t=", 403, "its ?t=… part is missing"),
        ("?t=garbage", 403, "not valid"),
    ],
)
def test_a_bad_link_answers_a_small_error_page(gw: Gateway, query: str, status: int, words: str) -> None:
    r = gw.client.get(f"/onboarding/signup{query}")
    assert r.status_code == status
    assert r.headers["content-type"].startswith("text/html")
    assert words in r.text
    assert "ask whoever sent it for a new link" in r.text


def expired_token(gw: Gateway) -> str:
    settings = gw.container.settings
    old = SignupLinks(settings.secret_key, max_hours=48, clock=lambda: time.time() - 3 * 3600)
    return old.create(Principal(role=Role.ADMIN, workspace_id=None), hours=1).token


def test_an_expired_link_is_gone(gw: Gateway) -> None:
    r = gw.client.get("/onboarding/signup", params={"t": expired_token(gw)})
    assert r.status_code == 410
    assert "expired" in r.text
    check = gw.client.post(
        "/onboarding/signup/check", json={"t": expired_token(gw), "phone": "+447700900123"}
    )
    assert check.status_code == 410
    assert check.json()["error"]["code"] == "link_expired"


def test_the_page_says_when_onboarding_is_not_configured(db_url: str, tmp_path: Path) -> None:
    with running_gateway(db_url, tmp_path) as gw:
        r = gw.client.get(new_link(gw)["url"])
        assert r.status_code == 503
        assert "not configured" in r.text
        assert "WACOEX_META_APP_ID" in r.text


def test_check_answers_the_eligibility_without_an_api_key(gw: Gateway) -> None:
    t = token_of(new_link(gw)["url"])
    ok = gw.client.post("/onboarding/signup/check", json={"t": t, "phone": "+44 7700 900123"})
    assert ok.status_code == 200, ok.text
    assert (ok.json()["eligible"], ok.json()["region"]) == (True, "GB")
    assert ok.json()["limits"]
    nigeria = gw.client.post("/onboarding/signup/check", json={"t": t, "phone": "+234 803 123 4567"})
    assert nigeria.json()["eligible"] is False
    assert "Nigeria" in nigeria.json()["refusal"]


def test_the_page_calls_refuse_a_bad_token_or_body_in_the_api_error_shape(gw: Gateway) -> None:
    t = token_of(new_link(gw)["url"])
    bad = gw.client.post("/onboarding/signup/check", json={"t": t + "x", "phone": "+447700900123"})
    assert bad.status_code == 403
    assert bad.json()["error"]["code"] == "link_invalid"
    done = gw.client.post("/onboarding/signup/complete", json={"t": "nope", "code": "AQ1", "waba_id": "1"})
    assert done.status_code == 403
    assert done.json()["error"]["code"] == "link_invalid"
    missing = gw.client.post("/onboarding/signup/complete", json={"t": t, "waba_id": "1"})
    assert missing.status_code == 422
    assert missing.json()["error"]["message"].startswith("code:")
    empty = gw.client.post("/onboarding/signup/check", json={"t": t, "phone": ""})
    assert empty.status_code == 422
    assert gw.client.post("/onboarding/signup/check", content=b"{").status_code in (400, 422)
