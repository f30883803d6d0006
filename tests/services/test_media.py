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
from wacoex.emulator.platform.media import store_media
from wacoex.emulator.world import World, WorldConfig
from wacoex.services.media import MediaFetcher
from wacoex.store.engine import now_ms
from wacoex.whatsapp.graph import GraphClient, GraphProvider

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8


def provider_at(base: str, transport: httpx.BaseTransport | None = None) -> GraphProvider:
    """The gateway's provider with both base URLs at `base` (the emulator serves Graph and 360dialog)."""
    client = GraphClient(
        graph_base_url=f"{base}/v23.0",
        dialog360_base_url=base,
        connect_timeout=5,
        timeout=10,
        transport=transport,
    )
    return GraphProvider(client)


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
        provider = provider_at(base)
        assert MediaFetcher(gw.container.media_store, provider, now_ms).run_once().stored == 1
        provider.close()
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
        provider = provider_at(base)
        assert MediaFetcher(gw.container.media_store, provider, now_ms).run_once().failed == 1
        provider.close()
        [msg] = gw.all_messages()
        assert msg["media"]["state"] == "failed"
        assert msg["media"]["error"].startswith("media download failed: Unsupported get request")
        assert msg["media"]["error"].endswith("(Graph error 100, HTTP 400)")


class _FlakySource:
    """A fake at the Provider port: fails with a transient error, then serves the bytes."""

    def __init__(self, failures: int, data: bytes) -> None:
        self.failures = failures
        self.data = data
        self.calls = 0

    def fetch_media(self, number: object, media_id: str) -> tuple[bytes, str | None]:
        from wacoex.errors import ProviderError

        self.calls += 1
        if self.calls <= self.failures:
            raise ProviderError("HTTP 503", http_status=503, retryable=True)
        return self.data, "image/jpeg"


def _pending_image(gw, sha256: str | None) -> None:  # type: ignore[no-untyped-def]
    content = {"id": "m1", "mime_type": "image/jpeg", **({"sha256": sha256} if sha256 else {})}
    gw.deliver(p.inbound("wamid.M", "16505551234", 1_760_000_000, type_="image", content=content))
    with gw.container.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE messages SET media_state = 'pending'")


def test_transient_media_errors_are_retried_with_backoff(db_url: str, tmp_path: Path) -> None:
    from wacoex.services.media import MediaRetry

    clock = {"now": 1_000_000}
    with running_gateway(db_url, tmp_path) as gw:
        gw.register(access_token="tok")
        _pending_image(gw, None)
        source = _FlakySource(failures=2, data=JPEG)
        fetcher = MediaFetcher(
            gw.container.media_store, source, lambda: clock["now"], MediaRetry(base_seconds=10)
        )
        assert fetcher.run_once().deferred == 1
        assert fetcher.run_once().deferred == 0  # not due yet: it does not block newer media
        clock["now"] += 10_000
        assert fetcher.run_once().deferred == 1
        clock["now"] += 20_000
        assert fetcher.run_once().stored == 1
        assert gw.all_messages()[0]["media"]["state"] == "stored"


def test_a_download_that_does_not_match_whatsapps_sha256_is_rejected(db_url: str, tmp_path: Path) -> None:
    import base64

    with running_gateway(db_url, tmp_path) as gw:
        gw.register(access_token="tok")
        _pending_image(gw, base64.b64encode(hashlib.sha256(b"something else").digest()).decode())
        fetcher = MediaFetcher(gw.container.media_store, _FlakySource(0, JPEG), now_ms)
        assert fetcher.run_once().failed == 1
        assert "sha256" in gw.all_messages()[0]["media"]["error"]


def test_checksums_in_hex_or_base64_are_both_understood() -> None:
    import base64

    from wacoex.services.media import checksum_matches

    digest = hashlib.sha256(JPEG).digest()
    assert checksum_matches(digest.hex(), JPEG)
    assert checksum_matches(base64.b64encode(digest).decode(), JPEG)
    assert checksum_matches(None, JPEG)
    assert not checksum_matches(hashlib.sha256(b"x").hexdigest(), JPEG)


class _OddSource:
    """A fake at the Provider port that raises something unexpected for one id."""

    def fetch_media(self, number: object, media_id: str) -> tuple[bytes, str | None]:
        if media_id == "odd":
            raise KeyError("url")
        return JPEG, "image/jpeg"


def test_one_odd_answer_does_not_stall_the_media_queued_after_it(db_url: str, tmp_path: Path) -> None:
    with running_gateway(db_url, tmp_path) as gw:
        gw.register(access_token="tok")
        for wamid, media_id in (("wamid.ODD", "odd"), ("wamid.OK", "fine")):
            gw.deliver(
                p.inbound(
                    wamid,
                    "16505551234",
                    1_760_000_000,
                    type_="image",
                    content={"id": media_id, "mime_type": "image/jpeg"},
                )
            )
        with gw.container.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE messages SET media_state = 'pending'")
        result = MediaFetcher(gw.container.media_store, _OddSource(), now_ms).run_once()
        assert (result.failed, result.stored) == (1, 1)
        states = {m["wamid"]: m["media"]["state"] for m in gw.all_messages()}
        assert states == {"wamid.ODD": "failed", "wamid.OK": "stored"}


def test_a_media_object_without_a_download_url_fails_at_once(db_url: str, tmp_path: Path) -> None:
    def graph(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"id": "m1", "mime_type": "image/jpeg"})  # no "url"

    with running_gateway(db_url, tmp_path) as gw:
        gw.register(access_token="tok")
        _pending_image(gw, None)
        provider = provider_at("http://graph.test", httpx.MockTransport(graph))
        assert MediaFetcher(gw.container.media_store, provider, now_ms).run_once().failed == 1
        assert gw.all_messages()[0]["media"]["error"] == (
            "media download failed: unexpected answer from the provider"
            " (the media object has no download url)"
        )


class _BrokenStore:
    """A fake at the MediaStore port whose database is unavailable."""

    def __init__(self, item: object) -> None:
        self.item = item

    def pending(self, limit: int, now: int) -> list[object]:
        return [self.item]

    def save(self, data: bytes, mime_type: str | None) -> str:
        raise RuntimeError("database is locked")

    def mark(self, *args: object) -> None:
        raise AssertionError("a store error must not mark the media failed")

    def retry_later(self, *args: object) -> None:
        raise AssertionError("unexpected")


def test_errors_of_our_own_store_propagate_instead_of_failing_the_media() -> None:
    from wacoex.services.ports import NumberRef, PendingMedia

    number = NumberRef(
        id=1,
        phone_number_id="1",
        display_phone_number="1",
        waba_id="1",
        provider="meta",
        coexistence=True,
        state="connected",
        state_changed_at=None,
        access_token="tok",
    )
    item = PendingMedia(message_id=1, media_id="m1", number=number, mime_type=None, sha256=None)
    fetcher = MediaFetcher(_BrokenStore(item), _FlakySource(0, JPEG), now_ms)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="database is locked"):
        fetcher.run_once()


def test_finding_pending_media_never_waits_for_the_write_lock(tmp_path: Path) -> None:
    """SQLite: the media job reads through the read engine, so a long apply never blocks or fails it."""
    import threading

    from tests.conftest import truncate_all
    from wacoex.store.engine import make_engine, upgrade

    url = f"sqlite:///{tmp_path / 'wacoex.db'}"
    upgrade(url)
    truncate_all(url)
    with running_gateway(url, tmp_path) as gw:
        gw.register()
        gw.deliver(p.inbound("wamid.IMG", "16505551234", 1_760_000_000, type_="image", content={"id": "m1"}))
        with gw.container.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE messages SET media_state = 'pending'")
        holder = make_engine(url)
        found: list[object] = []
        with holder.begin():  # BEGIN IMMEDIATE: the write lock, as a long apply holds it
            reader = threading.Thread(
                target=lambda: found.append(gw.container.media_store.pending(10, now_ms()))
            )
            reader.start()
            reader.join(10)  # the write engine would wait 30 s (busy_timeout), then fail
            assert not reader.is_alive()
        holder.dispose()
        [pending] = found
        assert [m.media_id for m in pending] == ["m1"]  # type: ignore[attr-defined]
