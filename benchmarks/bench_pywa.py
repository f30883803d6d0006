"""pywa's own webhook handler, served like wacoex, for a side-by-side ack benchmark.

    .venv/bin/python benchmarks/bench_pywa.py [--requests 20000] [--connections 64] ...

pywa 4.5.0's FastAPI integration (`WhatsApp(server=app, app_secret=..., verify_token=...)`) with one
message handler and no persistence, run by uvicorn in a subprocess on 127.0.0.1 and driven by the same
load generator and the same signed single-message webhooks as `bench_ack.py`. pywa answers 200 after
checking the signature and runs its handlers afterwards as a background task; nothing is stored.
`--serve PORT` runs only the server (what the benchmark starts in its subprocess).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import common


def create_pywa_app() -> object:
    """A FastAPI app with pywa's webhook routes at /webhooks/whatsapp and a counter of handled messages."""
    import fastapi
    from pywa import WhatsApp, types

    app = fastapi.FastAPI()
    lock = threading.Lock()
    handled = {"messages": 0}
    wa = WhatsApp(
        phone_id=common.PNID,
        token="bench-token-never-used",
        server=app,
        webhook_endpoint="/webhooks/whatsapp",
        verify_token=common.VERIFY_TOKEN,
        app_secret=common.APP_SECRET,
        validate_updates=True,
        webhook_challenge_delay=0,
    )

    @wa.on_message()  # type: ignore[misc]
    def on_message(_client: WhatsApp, message: types.Message) -> None:
        with lock:
            handled["messages"] += 1

    @app.get("/handled")
    def count() -> dict[str, int]:
        return handled

    return app


def serve(port: int) -> None:
    import uvicorn

    # The same server settings `wacoex serve` uses (uvicorn defaults: uvloop, httptools, access log).
    uvicorn.run(create_pywa_app(), host="127.0.0.1", port=port, log_level="info")  # type: ignore[arg-type]


@contextlib.contextmanager
def pywa_server(work: Path) -> Iterator[common.Server]:
    port = common.free_port()
    cmd = [common.PYTHON, str(Path(__file__).resolve()), "--serve", str(port)]
    env = common.gateway_env("sqlite://", work)
    server = common.Server(cmd, env, port, "/handled", work / "pywa.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def run(args: argparse.Namespace) -> common.Results:
    from bench_ack import measure_server

    results = common.Results()
    with common.workdir() as work, pywa_server(work) as server:
        m = measure_server(server, args, label="pywa 4.5.0 (no persistence)")
        handled = 0
        for _ in range(100):  # its handlers run after the 200; give the last ones a moment
            handled = common.http_json(server.port, "/handled")["messages"]
            if handled >= m.ok:
                break
            time.sleep(0.1)
    results.add("pywa ack, max concurrency", f"{m.max_load.rate:,.0f} POSTs/s")
    latency = f"p50 {m.rate_load.p50:.1f} ms, p99 {m.rate_load.p99:.1f} ms"
    results.add(f"pywa ack latency at {m.rate_load.mode}", latency)
    results.notes.append(
        f"pywa handled {handled:,} of {m.ok:,} acknowledged messages in its background handler "
        f"(handlers run after the 200, as background tasks); {m.background}"
    )
    results.data["pywa"] = m
    return results


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]))
        return
    from bench_ack import add_load_options

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_load_options(parser)
    run(parser.parse_args()).print()


if __name__ == "__main__":
    main()
