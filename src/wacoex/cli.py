"""The `wacoex` command line. Every expected failure ends with one line on stderr and a non-zero exit."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from wacoex.config import Settings, load_settings
from wacoex.emulator.cli import emulator_command
from wacoex.errors import ConfigError, InvalidInput, WacoexError


class _OneLineErrors(TyperGroup):
    """The one place where a command's failure becomes one line and an exit code.

    0 success; 1 the command failed (database unreachable or missing, unknown receipt, conflict);
    2 bad settings or options (Typer's own usage errors keep exit 2 and their format). Anything
    not recognised here is a bug and keeps its traceback.
    """

    database_url: str | None = None  # the URL of the command that runs (set by _settings)

    def invoke(self, ctx: Any) -> Any:
        _OneLineErrors.database_url = None
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except Exception as exc:
            explained = _explain(exc, _OneLineErrors.database_url)
            if explained is None:
                raise
            message, code = explained
            typer.echo(typer.style("error:", fg="red") + " " + " ".join(message.split()), err=True)
            raise typer.Exit(code) from None


def _explain(exc: Exception, url: str | None) -> tuple[str, int] | None:
    """(one-line message, exit code) for a failure a user can cause, or None for a bug."""
    if isinstance(exc, WacoexError):
        return exc.message, 2 if isinstance(exc, ConfigError | InvalidInput) else 1
    from wacoex.bootstrap import explain_failure

    message = explain_failure(exc, url)
    return (message, 1) if message is not None else None


app = typer.Typer(
    cls=_OneLineErrors,
    help="wacoex: WhatsApp Coexistence gateway and emulator.",
    no_args_is_help=True,
    # A bug's traceback must not print local variables: they hold the settings and their secrets.
    pretty_exceptions_show_locals=False,
)
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
    from wacoex.bootstrap import check_database_url

    settings = load_settings(config, database_url=database_url, **extra)
    check_database_url(settings)  # here, not in Settings: config knows nothing of databases
    _OneLineErrors.database_url = settings.database_url
    return settings


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
    """Run the gateway: webhooks, REST API, and (unless --no-worker) a receipt worker process."""
    # 0 ("any free port") is refused too: the banner and the webhook URL at Meta need the real one.
    if not 1 <= port <= 65535:
        raise InvalidInput(f"--port must be between 1 and 65535, not {port}")
    settings = _settings(config, database_url, dev=dev or None)
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


@app.command()
def worker(
    config: ConfigOpt = None,
    database_url: DbOpt = None,
    supervised: Annotated[bool, typer.Option("--supervised", hidden=True)] = False,
) -> None:
    """Apply stored receipts (run several against PostgreSQL to scale out)."""
    from wacoex.bootstrap import build, safe_url

    settings = _settings(config, database_url, dev=True)
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

    schema(_settings(config, database_url, dev=True)).upgrade()
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
    from wacoex.bootstrap import admin

    with admin(_settings(config, database_url, dev=True)) as operator:
        number, released = operator.add_number(
            phone_number_id=phone_number_id,
            display_phone_number=display_phone_number,
            waba_id=waba_id,
            provider=provider,
            coexistence=coexistence,
            access_token=access_token,
        )
    console.print(
        f"registered {number.phone_number_id} (+{number.display_phone_number}); "
        f"{released} held receipt(s) released"
    )


@numbers_app.command("list")
def numbers_list(config: ConfigOpt = None, database_url: DbOpt = None) -> None:
    """List registered numbers."""
    from wacoex.bootstrap import admin

    with admin(_settings(config, database_url, dev=True), read_only=True) as operator:
        rows = operator.numbers()
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
    from wacoex.bootstrap import admin

    with admin(_settings(config, database_url, dev=True), read_only=True) as operator:
        rows, totals = operator.receipts(state=state, limit=limit)
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
    from wacoex.bootstrap import build, schema

    settings = _settings(config, database_url, dev=True)
    # Receipts live in an existing database: never create one to replay nothing. An older schema is
    # migrated, as `wacoex worker` would, since applying needs the newest one.
    schema(settings).require(current=False)
    container = build(settings)
    try:
        n = container.admin.replay(ids or None, state=state)
        console.print(f"{n} receipt(s) queued again")
        if apply_now and n:
            result = container.admin.apply_due()
            console.print(
                f"applied: done={result.done} held={result.held} "
                f"failed={result.failed} parked={result.parked}"
            )
    finally:
        container.dispose()


@apikeys_app.command("create")
def apikeys_create(
    name: Annotated[str, typer.Option("--name", help="who or what uses the key")] = "default",
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Create an API key for the REST API. It is shown once."""
    from wacoex.bootstrap import admin

    with admin(_settings(config, database_url, dev=True)) as operator:
        _, key = operator.create_api_key(name)
    sys.stdout.write(key + "\n")


app.command("emulator", help="Run the offline emulator of Meta, 360dialog, the phone and customers.")(
    emulator_command
)


def main() -> None:
    app()
