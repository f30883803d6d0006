"""Webhook signatures: Meta's X-Hub-Signature-256 and 360dialog's x-360dialog-signature."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from tests.data import load_bytes
from wacoex.whatsapp.signature import sign_hub, verify_hmac_hex, verify_hub_signature

RAW = load_bytes("meta/messages/text")
SECRET = "app-secret-1"


def _digest(raw: bytes, secret: str) -> bytes:
    return hmac.new(secret.encode(), raw, hashlib.sha256).digest()


def test_sign_hub_is_sha256_hex_of_the_raw_bytes() -> None:
    assert sign_hub(RAW, SECRET) == "sha256=" + _digest(RAW, SECRET).hex()


def test_meta_signature_verifies() -> None:
    assert verify_hub_signature(RAW, sign_hub(RAW, SECRET), [SECRET])


def test_meta_signature_accepts_any_rotated_secret() -> None:
    header = sign_hub(RAW, "old-secret")
    assert verify_hub_signature(RAW, header, ["new-secret", "old-secret"])
    assert not verify_hub_signature(RAW, header, ["new-secret"])


def test_meta_signature_is_over_the_raw_bytes_not_the_json() -> None:
    reserialised = RAW.replace(b"\n", b"").replace(b"  ", b"")
    assert not verify_hub_signature(reserialised, sign_hub(RAW, SECRET), [SECRET])


def test_meta_signature_accepts_upper_case_hex_and_surrounding_space() -> None:
    header = sign_hub(RAW, SECRET)
    assert verify_hub_signature(RAW, " sha256=" + header[7:].upper() + " ", [SECRET])


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "sha1=" + "0" * 40,
        _digest(RAW, SECRET).hex(),  # the bare hex without the sha256= prefix
        "sha256=" + "0" * 64,
        "sha256=" + "zz" * 32,
        "sha256=" + _digest(RAW, SECRET).hex()[:-2],
    ],
)
def test_meta_signature_rejects_missing_or_wrong_headers(header: str | None) -> None:
    assert not verify_hub_signature(RAW, header, [SECRET])


def test_no_secret_or_an_empty_secret_never_verifies() -> None:
    assert not verify_hub_signature(RAW, sign_hub(RAW, SECRET), [])
    assert not verify_hub_signature(RAW, sign_hub(RAW, ""), [""])


def _forms(raw: bytes, secret: str) -> list[str]:
    digest = _digest(raw, secret)
    b64 = base64.b64encode(digest).decode()
    url = base64.urlsafe_b64encode(digest).decode()
    return [
        digest.hex(),
        digest.hex().upper(),
        "sha256=" + digest.hex(),
        b64,
        b64.rstrip("="),
        url,
        url.rstrip("="),
    ]


@pytest.mark.parametrize("form", range(7))
def test_360dialog_signature_accepts_hex_prefixed_and_base64_forms(form: int) -> None:
    header = _forms(RAW, SECRET)[form]
    assert verify_hmac_hex(RAW, header, ["other", SECRET])


@pytest.mark.parametrize("form", range(7))
def test_360dialog_signature_rejects_each_form_under_the_wrong_secret(form: int) -> None:
    header = _forms(RAW, "wrong")[form]
    assert not verify_hmac_hex(RAW, header, [SECRET])


@pytest.mark.parametrize("header", [None, "", "abc", "sha256=", "é" * 44, "!" * 44, "A" * 10])
def test_360dialog_signature_rejects_garbage(header: str | None) -> None:
    assert not verify_hmac_hex(RAW, header, [SECRET])
