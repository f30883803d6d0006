"""`wacoex workspaces` and `wacoex apikeys`: who may read and send for which numbers."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from wacoex.cli.common import ConfigOpt, DbOpt, console, settings_for
from wacoex.cli.numbers import WorkspaceOpt

workspaces_app = typer.Typer(
    help="Workspaces: numbers and API keys of one team or customer.", no_args_is_help=True
)
apikeys_app = typer.Typer(help="API keys for the REST API.", no_args_is_help=True)


@workspaces_app.command("add")
def workspaces_add(
    name: Annotated[str, typer.Argument(help="a unique name, not only digits")],
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Add a workspace; put numbers in it with `numbers add --workspace` and keys with `apikeys create`."""
    from wacoex.bootstrap import admin

    with admin(settings_for(config, database_url, dev=True)) as operator:
        workspace = operator.add_workspace(name)
    console.print(f"workspace {workspace.id} ({workspace.name}) added")


@workspaces_app.command("list")
def workspaces_list(config: ConfigOpt = None, database_url: DbOpt = None) -> None:
    """List workspaces with their numbers and active API keys."""
    from wacoex.bootstrap import admin

    with admin(settings_for(config, database_url, dev=True), read_only=True) as operator:
        rows = operator.workspaces()
    table = Table("id", "name", "numbers", "api keys")
    for w in rows:
        table.add_row(str(w.id), w.name, str(w.numbers), str(w.api_keys))
    console.print(table)


@apikeys_app.command("create")
def apikeys_create(
    name: Annotated[str, typer.Option("--name", help="who or what uses the key")] = "default",
    workspace: WorkspaceOpt = None,
    role: Annotated[
        str, typer.Option("--role", help="admin | operator | bot | read-only (see docs/api.md)")
    ] = "admin",
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Create an API key for the REST API. It is printed once, alone on stdout; only its digest is kept."""
    from wacoex.bootstrap import admin

    with admin(settings_for(config, database_url, dev=True)) as operator:
        _, key = operator.create_api_key(name, workspace=workspace, role=role)
    sys.stdout.write(key + "\n")  # alone, so that `KEY=$(wacoex apikeys create ...)` works


@apikeys_app.command("list")
def apikeys_list(config: ConfigOpt = None, database_url: DbOpt = None) -> None:
    """List API keys (their first characters only), revoked ones included."""
    from wacoex.bootstrap import admin

    with admin(settings_for(config, database_url, dev=True), read_only=True) as operator:
        rows = operator.api_keys()
    table = Table("id", "name", "starts with", "workspace", "role", "created", "revoked")
    for k in rows:
        table.add_row(
            str(k.id),
            k.name,
            k.prefix + "…",
            f"{k.workspace_id} ({k.workspace})",
            k.role,
            _when(k.created_at),
            _when(k.revoked_at) if k.revoked_at is not None else "",
        )
    console.print(table)


@apikeys_app.command("revoke")
def apikeys_revoke(
    key_id: Annotated[int, typer.Argument(help="the id `apikeys list` shows")],
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Revoke a key: every request with it is refused (401) from now on."""
    from wacoex.bootstrap import admin

    with admin(settings_for(config, database_url, dev=True)) as operator:
        info = operator.revoke_api_key(key_id)
    console.print(f"key {info.id} ({info.name}) revoked")


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
