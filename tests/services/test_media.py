"""Media is downloaded on receipt from the provider (the emulator over loopback) into a sha256 vault."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest

from tests import payloads as p
from tests.emulator.conftest import serve
from tests.gateway import running_gateway
from wacoex.emulator.app import create_app as create_emulator
from wacoex.emulator.media import store_media
from wacoex.emulator.world import World, WorldConfig
from wacoex.services.media import MediaFetcher
from wacoex.whatsapp.media_client import ProviderMediaSource

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8


@pytest.mark.parametrize("provider", ["meta", "360dialog"])
def test_inbound_media_is_stored_content_addressed(db_url: str, tmp_path: Path, provider: str) -> None:
    world = World(WorldConfig(access_tokens=["tok"]))
    number = world.add_number(
        p.BIZ,
        phone_number_id=p.PNID,
        onboarded=True,
        access_token="tok",
        d360_api_key="d360-key",
        provider=provider,
    )
    media = store_media(world, number.phone_number_id, JPEG, "image/jpeg")
    with serve(create_emulator(world, background=False)) as base, running_gateway(db_url, tmp_path) as gw:
        gw.register(provider=provider, access_token="d360-key" if provider == "360dialog" else "tok")
        gw.deliver(
            p.inbound(
                "wamid.IMG",
                "16505551234",
                1_760_000_000,
                type_="image",
                content={"id": media.id, "mime_type": "image/jpeg", "sha256": media.sha256},
            )
        )
        with gw.container.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE messages SET media_state = 'pending'")  # fetch_media is off in tests
        world.config.media_base_url = base  # the emulator's lookaside URLs point at itself
        with httpx.Client(timeout=10) as http:
            fetcher = MediaFetcher(gw.container.media_store, ProviderMediaSource(f"{base}/v23.0", base, http))
            assert fetcher.run_once().stored == 1
        [msg] = gw.all_messages()
        sha = hashlib.sha256(JPEG).hexdigest()
        assert msg["media"]["state"] == "stored"
        assert msg["media"]["sha256"] == sha
        got = gw.client.get(msg["media"]["url"], headers=gw.auth)
        assert got.status_code == 200
        assert got.content == JPEG
        assert got.headers["content-type"] == "image/jpeg"


def test_media_that_cannot_be_fetched_is_marked_failed(db_url: str, tmp_path: Path) -> None:
    world = World(WorldConfig(access_tokens=["tok"]))
    world.add_number(p.BIZ, phone_number_id=p.PNID, onboarded=True, access_token="tok")
    with serve(create_emulator(world, background=False)) as base, running_gateway(db_url, tmp_path) as gw:
        gw.register(access_token="tok")
        gw.deliver(
            p.inbound(
                "wamid.GONE",
                "16505551234",
                1_760_000_000,
                type_="image",
                content={"id": "404404", "mime_type": "image/jpeg"},
            )
        )
        with gw.container.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE messages SET media_state = 'pending'")
        with httpx.Client(timeout=10) as http:
            fetcher = MediaFetcher(gw.container.media_store, ProviderMediaSource(f"{base}/v23.0", base, http))
            assert fetcher.run_once().failed == 1
        [msg] = gw.all_messages()
        assert msg["media"]["state"] == "failed"
        assert "HTTP" in msg["media"]["error"]
