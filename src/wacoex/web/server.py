"""Running the gateway's ASGI app on a socket (uvicorn), with the HTTP limits of Settings."""

from __future__ import annotations

from typing import Any

from wacoex.config import Settings


def run(app: Any, *, host: str, port: int, settings: Settings, access_log: bool = False) -> None:
    """Serve `app` on host:port until interrupted."""
    import uvicorn

    # No access log by default: it costs about a fifth of the CPU of a webhook ack (docs/benchmarks.md).
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=access_log)
