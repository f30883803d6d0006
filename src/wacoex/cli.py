"""The `wacoex` command line."""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from wacoex.config import Settings, load_settings
from wacoex.emulator.cli import emulator_command
from wacoex.errors import WacoexError
from wacoex.store.engine import safe_url

app = typer.Typer(help="wacoex: WhatsApp Coexistence gateway and emulator.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
numbers_app = typer.Typer(help="Numbers the gateway serves.", no_args_is_help=True)
receipts_app = typer.Typer(help="Raw webhook receipts: inspect and replay.", no_args_is_help=True)
apikeys_app = typer.Typer(help="API keys for the REST API.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(numbers_app, name="numbers")
app.add_typer(receipts_app, name="receipts")
app.add_typer(apikeys_app, name="apikeys")

console = Console()
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="KEY=VALUE settings file")]
DbOpt = Annotated[str | None, typer.Option("--database-url", help="overrides WACOEX_DATABASE_URL")]


def _settings(config: Path | None, database_url: str | None = None, **extra: Any) -> Settings:
    try:
        return load_settings(config, database_url=database_url, **extra)
    except WacoexError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from exc


@contextmanager
def _engine(settings: Settings) -> Iterator[Any]:
    """A migrated engine for one command, disposed afterwards (no connection outlives the command)."""
    from wacoex.store.engine import make_engine, upgrade

    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        yield engine
    finally:
        engine.dispose()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8080,
    dev: Annotated[bool, typer.Option("--dev", help="allow default secrets (development only)")] = False,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="only accept webhooks; apply elsewhere")
    ] = False,
    access_log: Annotated[bool, typer.Option("--access-log", help="log every request")] = False,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Run the gateway: webhooks, REST API, and (unless --no-worker) the receipt worker."""
    from wacoex.web import server
    from wacoex.web.app import create_app, serving_app

    settings = _settings(config, database_url, dev=dev or None)
    try:
        application = create_app(settings, run_worker=not no_worker)
    except WacoexError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from exc
    console.print(f"wacoex gateway on http://{host}:{port}  (database: {safe_url(settings.database_url)})")
    server.run(serving_app(application), host=host, port=port, settings=settings, access_log=access_log)


@app.command()
def worker(config: ConfigOpt = None, database_url: DbOpt = None) -> None:
    """Apply stored receipts (run several against PostgreSQL to scale out)."""
    from wacoex.bootstrap import build

    settings = _settings(config, database_url, dev=True)
    container = build(settings)
    logging.basicConfig(level=logging.INFO)

    def _stop(*_: Any) -> None:
        container._stop.set()
        container.wake.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    console.print(f"wacoex worker on {safe_url(settings.database_url)}")
    container.start_media()
    container.run_worker()
    container.dispose()


@db_app.command("upgrade")
def db_upgrade(config: ConfigOpt = None, database_url: DbOpt = None) -> None:
    """Create or migrate the schema to the newest version."""
    from wacoex.store.engine import upgrade

    settings = _settings(config, database_url, dev=True)
    upgrade(settings.database_url)
    console.print("schema is up to date")


@numbers_app.command("add")
def numbers_add(
    phone_number_id: Annotated[str, typer.Option("--phone-number-id")],
    display_phone_number: Annotated[str, typer.Option("--display-phone-number")],
    waba_id: Annotated[str, typer.Option("--waba-id")],
    provider: Annotated[str, typer.Option("--provider", help="meta or 360dialog")] = "meta",
    coexistence: Annotated[
        bool, typer.Option("--coexistence", help="the number is also on the Business app")
    ] = False,
    access_token: Annotated[
        str | None,
        typer.Option(
            "--access-token",
            envvar="WACOEX_NUMBER_ACCESS_TOKEN",
            help="Graph token or 360dialog API key (media download)",
        ),
    ] = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Register a number the gateway serves. Webhooks already held for it are applied."""
    from wacoex.store.numbers import add_number

    try:
        with _engine(_settings(config, database_url, dev=True)) as engine, engine.begin() as conn:
            number, released = add_number(
                conn,
                phone_number_id=phone_number_id,
                display_phone_number=display_phone_number,
                waba_id=waba_id,
                provider=provider,
                coexistence=coexistence,
                access_token=access_token,
            )
    except WacoexError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from exc
    console.print(
        f"registered {number.phone_number_id} (+{number.display_phone_number}); "
        f"{released} held receipt(s) released"
    )


@numbers_app.command("list")
def numbers_list(config: ConfigOpt = None, database_url: DbOpt = None) -> None:
    """List registered numbers."""
    from wacoex.store.numbers import list_numbers

    with _engine(_settings(config, database_url, dev=True)) as engine, engine.connect() as conn:
        rows = list_numbers(conn)
    table = Table("phone_number_id", "display", "waba_id", "provider", "coex", "state", "history")
    for r in rows:
        table.add_row(
            r.phone_number_id,
            r.display_phone_number,
            r.waba_id,
            r.provider,
            "yes" if r.coexistence else "no",
            r.state + (f" ({r.state_reason})" if r.state_reason else ""),
            r.history_state,
        )
    console.print(table)


@receipts_app.command("list")
def receipts_list(
    state: Annotated[str | None, typer.Option(help="pending | done | held | parked")] = None,
    limit: int = 50,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """List receipts, newest first, with their state and last error."""
    from wacoex.store.receipts import counts, list_receipts

    with _engine(_settings(config, database_url, dev=True)) as engine, engine.connect() as conn:
        rows = list_receipts(conn, state=state, limit=limit)
        totals = counts(conn)
    table = Table("id", "source", "state", "attempts", "size", "facts", "error / waiting for")
    for r in rows:
        detail = r.error or (", ".join(r.waiting_for) if r.waiting_for else "")
        table.add_row(
            str(r.id), r.source, r.state, str(r.attempts), str(r.size), str(r.facts or ""), detail[:80]
        )
    console.print(table)
    console.print("totals: " + ", ".join(f"{k}={v}" for k, v in sorted(totals.items())))


@receipts_app.command("replay")
def receipts_replay(
    ids: Annotated[
        list[int] | None, typer.Argument(help="receipt ids; default: every parked receipt")
    ] = None,
    state: Annotated[str, typer.Option(help="with no ids: replay receipts in this state")] = "parked",
    apply_now: Annotated[bool, typer.Option("--apply/--queue-only", help="apply right away")] = True,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Re-apply receipts (idempotent: applying one twice changes nothing)."""
    from wacoex.bootstrap import build
    from wacoex.store.receipts import replay

    settings = _settings(config, database_url, dev=True)
    container = build(settings)
    with container.engine.begin() as conn:
        n = replay(conn, ids or None, state=state)
    console.print(f"{n} receipt(s) queued again")
    if apply_now and n:
        result = container.processor.drain(settings.worker_batch)
        console.print(
            f"applied: done={result.done} held={result.held} failed={result.failed} parked={result.parked}"
        )
    container.dispose()


@apikeys_app.command("create")
def apikeys_create(
    name: Annotated[str, typer.Option("--name", help="who or what uses the key")] = "default",
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Create an API key for the REST API. It is shown once."""
    from wacoex.store.apikeys import create_api_key

    with _engine(_settings(config, database_url, dev=True)) as engine, engine.begin() as conn:
        key = create_api_key(conn, name)
    sys.stdout.write(key + "\n")


app.command("emulator", help="Run the offline emulator of Meta, 360dialog, the phone and customers.")(
    emulator_command
)


def main() -> None:
    app()
