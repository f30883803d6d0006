"""What the end-to-end rigs share: the emulator and the gateway over loopback, wired to each other."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.emulator.conftest import free_port, serve
from wacoex.bootstrap import Container, build
from wacoex.config import Settings
from wacoex.emulator.app import create_app as create_emulator
from wacoex.emulator.world import World
from wacoex.web.app import create_app as create_gateway


@dataclass
class Pair:
    """The running pair: the emulator's world, the gateway's container, and a client for each."""

    world: World
    container: Container
    settings: Settings
    emu_url: str
    gw_url: str
    emu: httpx.Client  # the emulator's control API (/_emulator)
    gw: httpx.Client  # the gateway, with the admin key


def emulator_clock(world: World) -> Callable[[], int]:
    """The emulator's virtual clock in epoch ms: the gateway's send and lifecycle rules read it."""
    return lambda: int(world.clock.now() * 1000)


@contextmanager
def gateway_and_emulator(
    world: World,
    db_url: str,
    tmp_path: Path,
    *,
    admin_key: str,
    transport: httpx.BaseTransport | None = None,
    **overrides: Any,
) -> Iterator[Pair]:
    """The emulator (its webhooks to the gateway) and a gateway on its Graph and 360dialog APIs."""
    gw_port = free_port()
    with serve(create_emulator(world)) as emu_url:
        settings = Settings(
            **{
                "database_url": db_url,
                "app_secrets": [world.config.app_secret],
                "admin_api_key": admin_key,
                "verify_token": "vt",
                "media_dir": tmp_path / "media",
                "graph_base_url": f"{emu_url}/v23.0",
                "dialog360_base_url": emu_url,
                "d360_hub_url": f"{emu_url}/api/v2",
                "public_url": f"http://127.0.0.1:{gw_port}",
                "dev": True,
                "worker_poll_seconds": 0.02,
                **overrides,
            }
        )
        container = build(settings, migrate=False, provider_transport=transport, clock=emulator_clock(world))
        try:
            with (
                serve(create_gateway(container=container), port=gw_port) as gw_url,
                httpx.Client(base_url=f"{emu_url}/_emulator", timeout=30) as emu,
                httpx.Client(
                    base_url=gw_url, timeout=30, headers={"Authorization": f"Bearer {admin_key}"}
                ) as gw,
            ):
                world.config.webhook_url = f"{gw_url}/webhooks/whatsapp"
                # 360dialog sends the syncs' webhooks to the partner's webhook (set in its hub)
                world.config.d360_partner_webhook_url = f"{gw_url}/webhooks/360dialog"
                yield Pair(world, container, settings, emu_url, gw_url, emu, gw)
        finally:
            container.dispose()
