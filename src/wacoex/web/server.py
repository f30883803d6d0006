"""Running the gateway's ASGI app on a socket (uvicorn), with the HTTP limits of Settings."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
import resource
from typing import Any

from wacoex.config import Settings
from wacoex.web.http_limits import HttpLimits, protocol_class

# File descriptors kept for everything but client connections: the listening socket, database
# connections (a PostgreSQL pool of up to 20, SQLite files and their WAL), media downloads, logs.
RESERVED_FDS = 128

log = logging.getLogger("wacoex.serve")


def run(app: Any, *, host: str, port: int, settings: Settings, access_log: bool = False) -> None:
    """Serve `app` on host:port until interrupted."""
    import uvicorn

    limits = HttpLimits.from_settings(settings)
    allowed = fit_connections(limits.max_connections)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="info",
        # No access log by default: it costs about a fifth of the CPU of a webhook ack (docs/benchmarks.md).
        access_log=access_log,
        log_config=log_config(),
        http=protocol_class(dataclasses.replace(limits, max_connections=allowed)),
        ws="none",  # no WebSocket endpoints: an Upgrade header gets a plain HTTP answer
        # Typed int by uvicorn, but only ever given to loop.call_later, which takes seconds as a float.
        timeout_keep_alive=settings.http_keepalive_seconds,  # type: ignore[arg-type]
    )
    if allowed < limits.max_connections:
        log.warning(
            "WACOEX_HTTP_MAX_CONNECTIONS=%d lowered to %d: the open-file limit (ulimit -n) is %d",
            limits.max_connections,
            allowed,
            resource.getrlimit(resource.RLIMIT_NOFILE)[0],
        )
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        raise SystemExit(3)  # uvicorn's start-up failure (the port is taken, …), already logged


def fit_connections(wanted: int) -> int:
    """How many client connections the open-file limit allows, raising its soft limit if it must.

    Accepting past the limit fails with EMFILE for every client, the database included, so the
    connection cap has to stay below it. The soft limit (`ulimit -n`, often 1024) may be raised up
    to the hard limit by the process itself, as servers commonly do.
    """
    needed = wanted + RESERVED_FDS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        if target > soft:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
                soft = target
            except (OSError, ValueError):
                pass
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return wanted
    # A small limit keeps at least half for the other descriptors rather than a fixed 128.
    return max(1, min(wanted, max(soft - RESERVED_FDS, soft // 2)))


class RedactQuery(logging.Filter):
    """Masks query values in uvicorn's access log: Meta's handshake carries `hub.verify_token` there.

    uvicorn's access line is built only from the client address, method, path and query, HTTP
    version and status, so no header (Authorization, X-Hub-Signature-256, …) ever reaches it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], redact_target(args[2]), args[3], args[4])
        return True


def redact_target(target: str) -> str:
    """`/p?a=1&b=2` -> `/p?a=***&b=***`: the names of the parameters stay, for debugging."""
    path, sep, query = target.partition("?")
    if not sep:
        return target
    names = (part.partition("=")[0] for part in query.split("&") if part)
    return path + "?" + "&".join(f"{name}=***" for name in names)


def log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration, with the access log redacted."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_query"] = {"()": RedactQuery}
    config["handlers"]["access"]["filters"] = ["redact_query"]
    # Our own warnings (a lowered connection cap) go where uvicorn's go.
    config["loggers"]["wacoex.serve"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config
