"""The FastAPI application: webhooks, REST API, health."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from wacoex import __version__
from wacoex.bootstrap import Container, build
from wacoex.config import Settings
from wacoex.web import errors, graph_proxy, signup, webhooks
from wacoex.web.api import costs, health, onboarding, sending, v1


def create_app(
    settings: Settings | None = None, *, container: Container | None = None, run_worker: bool = True
) -> FastAPI:
    """The FastAPI app (routes, OpenAPI); with `run_worker`, receipts are applied in this process.

    `wacoex serve` wraps it in `serving_app` for the webhook fast path.
    """
    if container is None:
        settings = settings or Settings()
        settings.check()
        container = build(settings)
    owned = container

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        owned.writer.start()
        owned.senders.start()  # this process sends: queued sends share the synchronous sends' pacer
        if run_worker:
            owned.workers.start()
        try:
            yield
        finally:
            owned.senders.stop()  # lets the sends in flight finish
            owned.workers.stop()  # lets the round in flight finish
            owned.writer.stop()

    app = FastAPI(
        title="wacoex",
        version=__version__,
        lifespan=lifespan,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        description="WhatsApp Coexistence gateway: one record of every conversation, whoever wrote it.",
    )
    app.state.container = container
    errors.install(app)
    app.include_router(webhooks.router)
    app.include_router(v1.router)
    app.include_router(sending.router)
    graph_proxy.install(app)
    app.include_router(costs.router)
    app.include_router(health.router)
    app.include_router(onboarding.router)
    app.include_router(signup.router)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app


def serving_app(app: FastAPI) -> webhooks.WebhookIngress:
    """The app as served: webhook POSTs answered by the lean ASGI ingress, the rest by FastAPI."""
    return webhooks.WebhookIngress(app, app.state.container)
