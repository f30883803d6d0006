"""The `wacoex` command line. Every expected failure ends with one line on stderr and a non-zero exit."""

from __future__ import annotations

import typer

from wacoex.cli.access import apikeys_app, workspaces_app
from wacoex.cli.common import OneLineErrors
from wacoex.cli.gateway import db_app, serve, worker
from wacoex.cli.numbers import numbers_app
from wacoex.cli.receipts import receipts_app
from wacoex.emulator.cli import emulator_command

app = typer.Typer(
    cls=OneLineErrors,
    help="wacoex: WhatsApp Coexistence gateway and emulator.",
    no_args_is_help=True,
    # A bug's traceback must not print local variables: they hold the settings and their secrets.
    pretty_exceptions_show_locals=False,
)
app.command()(serve)
app.command()(worker)
app.add_typer(db_app, name="db")
app.add_typer(workspaces_app, name="workspaces")
app.add_typer(numbers_app, name="numbers")
app.add_typer(receipts_app, name="receipts")
app.add_typer(apikeys_app, name="apikeys")
app.command("emulator", help="Run the offline emulator of Meta, 360dialog, the phone and customers.")(
    emulator_command
)


def main() -> None:
    app()
