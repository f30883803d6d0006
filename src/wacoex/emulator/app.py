"""The emulator's ASGI app: Graph API, 360dialog API, the control API, the people's routes and the UI.

``create_app(world_or_runtime=None, **config)`` serves the given ``Runtime`` (or a new one around the
given ``World``, or around a fresh world built from ``config``, ``WorldConfig`` fields); it is kept in
``app.state.runtime``. Extra keywords: ``webhook_client`` (an ``httpx.AsyncClient`` the dispatcher
posts with, e.g. over an ASGI transport into a receiver app), ``background`` (default True: a task
runs timers in real time while the app's lifespan is active; tests may prefer explicit flushes).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import fields
from typing import Any

import httpx
from fastapi import FastAPI

from wacoex.emulator.control import control_api, control_people, dialog360_connect, embedded_signup, ui
from wacoex.emulator.people import phone
from wacoex.emulator.platform import (
    business_profile,
    dialog360_api,
    dialog360_partner,
    graph_account,
    graph_api,
    graph_templates,
)
from wacoex.emulator.runtime import Runtime
from wacoex.emulator.world import World, WorldConfig


def create_app(
    world_or_runtime: World | Runtime | None = None,
    *,
    webhook_client: httpx.AsyncClient | None = None,
    background: bool = True,
    **config: Any,
) -> FastAPI:
    known = {f.name for f in fields(WorldConfig)}
    unknown = set(config) - known
    if unknown:
        raise TypeError(f"unknown emulator settings: {', '.join(sorted(unknown))}")
    if isinstance(world_or_runtime, Runtime):
        runtime = world_or_runtime
    else:
        runtime = Runtime(world_or_runtime or World(WorldConfig(**config)))
    if world_or_runtime is not None:
        for key, value in config.items():
            setattr(runtime.world.config, key, value)
    if webhook_client is not None:
        runtime.dispatcher.client = webhook_client
    phone.install(runtime)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(runtime.world.clock.run_forever()) if background else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if webhook_client is None:
                await runtime.dispatcher.close()

    app = FastAPI(
        title="wacoex emulator",
        lifespan=lifespan,
        docs_url="/_emulator/docs",
        openapi_url="/_emulator/openapi.json",
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.include_router(control_api.router)
    app.include_router(control_people.router)
    app.include_router(embedded_signup.router)
    app.include_router(dialog360_connect.router)
    app.include_router(ui.router)
    control_api.install_fault_middleware(app)
    app.include_router(dialog360_partner.router)  # /api/v2/... before the Graph routes' /{version}/...
    app.include_router(business_profile.router)
    app.include_router(dialog360_api.router)
    app.include_router(graph_account.router)
    app.include_router(graph_templates.router)
    app.include_router(graph_api.router)
    graph_api.install_error_handlers(app)
    return app
