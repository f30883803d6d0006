"""`wacoex serve`, `wacoex worker` and `wacoex db`: running the gateway and its schema."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import Annotated, Any

import typer

from wacoex.cli.common import ConfigOpt, DbOpt, DevOpt, console, settings_for
from wacoex.errors import InvalidInput

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


def serve(
    host: Annotated[str, typer.Option(help="bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8080,
    dev: DevOpt = False,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="only accept webhooks; apply elsewhere")
    ] = False,
    access_log: Annotated[bool, typer.Option("--access-log", help="log every request")] = False,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Run the gateway: webhooks, REST API, and (unless --no-worker) a receipt worker process."""
    # 0 ("any free port") is refused too: the banner and the webhook URL at Meta need the real one.
    if not 1 <= port <= 65535:
        raise InvalidInput(f"--port must be between 1 and 65535, not {port}")
    settings = settings_for(config, database_url, dev=dev or None)
    settings.check()  # before the web stack is even imported: a bad setting fails fast

    from wacoex.bootstrap import safe_url
    from wacoex.supervisor import WorkerProcess
    from wacoex.web import server
    from wacoex.web.app import create_app, serving_app

    # Receipts are applied by a `wacoex worker` child on the other core, never in this interpreter:
    # in a thread here, applying took the CPU acknowledgements need (docs/benchmarks.md).
    application = create_app(settings, run_worker=False)
    console.print(f"wacoex gateway on http://{host}:{port}  (database: {safe_url(settings.database_url)})")
    if no_worker:
        server.run(serving_app(application), host=host, port=port, settings=settings, access_log=access_log)
        return
    with WorkerProcess(settings):
        server.run(serving_app(application), host=host, port=port, settings=settings, access_log=access_log)


def worker(
    dev: DevOpt = False,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
    supervised: Annotated[bool, typer.Option("--supervised", hidden=True)] = False,
) -> None:
    """Apply stored receipts (run several against PostgreSQL to scale out)."""
    from wacoex.bootstrap import build, safe_url

    settings = settings_for(config, database_url, dev=dev or None)
    if settings.fetch_media:
        # It downloads media with the numbers' provider tokens: with the development key it could not
        # read a token the gateway stored (nor a media download succeed), so it refuses to start.
        settings.check_secret_key()
    stopping = threading.Event()

    def _stop(*_: Any) -> None:
        stopping.set()

    # Installed before the container is built: a stop asked for while starting (a fast apply may
    # drain the queue before a second worker is up) ends the worker cleanly, not by the signal.
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    container = build(settings)
    logging.basicConfig(level=logging.INFO)
    if supervised:
        # Started by `wacoex serve`: its end of our stdin closes when it exits, however it exits.
        def _until_eof() -> None:
            sys.stdin.buffer.read()
            _stop()

        threading.Thread(target=_until_eof, name="wacoex-parent-watch", daemon=True).start()
    console.print(f"wacoex worker on {safe_url(settings.database_url)}")
    if not stopping.is_set():
        container.workers.start()
    try:
        while not stopping.wait(1.0):
            pass
    finally:
        container.dispose()  # each loop finishes its round in flight first


@db_app.command("upgrade")
def db_upgrade(config: ConfigOpt = None, database_url: DbOpt = None) -> None:
    """Create or migrate the schema to the newest version."""
    from wacoex.bootstrap import schema

    schema(settings_for(config, database_url, dev=True)).upgrade()
    console.print("schema is up to date")
