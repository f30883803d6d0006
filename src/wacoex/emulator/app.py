"""The emulator's ASGI app: Graph API, 360dialog API, the control API, and E2's people routes and UI.

``create_app(world=None, **config)`` builds a fresh world from ``config`` (``WorldConfig`` fields) or
serves the given one. Extra keywords: ``webhook_client`` (an ``httpx.AsyncClient`` the dispatcher
posts with, e.g. over an ASGI transport into a receiver app), ``background`` (default True: a task
runs timers in real time while the app's lifespan is active; tests may prefer explicit flushes).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import AsyncIterator
from dataclasses import fields
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI

from wacoex.emulator.world import World, WorldConfig


def _optional_router(module: str) -> APIRouter | None:
    """E2's routers, included when their modules exist (so the platform half runs on its own)."""
    try:
        found = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module.startswith(exc.name):
            return None
        raise
    router = getattr(found, "router", None)
    return router if isinstance(router, APIRouter) else None


def _install_people_hooks(world: World) -> None:
    """E2's clock hooks (inactivity -> PARTNER_REMOVED) when the phone module is present."""
    try:
        phone = importlib.import_module("wacoex.emulator.phone")
    except ModuleNotFoundError as exc:
        if exc.name == "wacoex.emulator.phone":
            return
        raise
    install = getattr(phone, "install", None)
    if install is not None:
        install(world)


def create_app(
    world: World | None = None,
    *,
    webhook_client: httpx.AsyncClient | None = None,
    background: bool = True,
    **config: Any,
) -> FastAPI:
    known = {f.name for f in fields(WorldConfig)}
    unknown = set(config) - known
    if unknown:
        raise TypeError(f"unknown emulator settings: {', '.join(sorted(unknown))}")
    if world is None:
        world = World(WorldConfig(**config))
    else:
        for key, value in config.items():
            setattr(world.config, key, value)
    if webhook_client is not None:
        world.dispatcher.client = webhook_client
    _install_people_hooks(world)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(world.clock.run_forever()) if background else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if webhook_client is None:
                await world.dispatcher.close()

    app = FastAPI(
        title="wacoex emulator",
        lifespan=lifespan,
        docs_url="/_emulator/docs",
        openapi_url="/_emulator/openapi.json",
        redoc_url=None,
    )
    app.state.world = world

    from wacoex.emulator import (
        business_profile,
        control_api,
        dialog360_api,
        graph_account,
        graph_api,
        graph_templates,
    )

    app.include_router(control_api.router)
    for module in ("wacoex.emulator.control_people", "wacoex.emulator.ui"):
        router = _optional_router(module)
        if router is not None:
            app.include_router(router)
    control_api.install_fault_middleware(app)
    app.include_router(business_profile.router)
    app.include_router(dialog360_api.router)
    app.include_router(graph_account.router)
    app.include_router(graph_templates.router)
    app.include_router(graph_api.router)
    graph_api.install_error_handlers(app)
    return app
