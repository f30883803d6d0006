"""`wacoex receipts`: raw webhook receipts, inspected and replayed."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from wacoex.cli.common import ConfigOpt, DbOpt, console, settings_for

receipts_app = typer.Typer(help="Raw webhook receipts: inspect and replay.", no_args_is_help=True)


@receipts_app.command("list")
def receipts_list(
    state: Annotated[str | None, typer.Option(help="pending | done | held | parked")] = None,
    limit: int = 50,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """List receipts, newest first, with their state and last error."""
    from wacoex.bootstrap import admin

    with admin(settings_for(config, database_url, dev=True), read_only=True) as operator:
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

    settings = settings_for(config, database_url, dev=True)
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
