"""What every command shares: one-line errors and exit codes, the settings, the console, common options."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from wacoex.config import Settings, load_settings
from wacoex.errors import ConfigError, InvalidInput, WacoexError


class OneLineErrors(TyperGroup):
    """The one place where a command's failure becomes one line and an exit code.

    0 success; 1 the command failed (database unreachable or missing, unknown receipt, conflict);
    2 bad settings or options (Typer's own usage errors keep exit 2 and their format). Anything
    not recognised here is a bug and keeps its traceback.
    """

    database_url: str | None = None  # the URL of the command that runs (set by settings_for)

    def invoke(self, ctx: Any) -> Any:
        OneLineErrors.database_url = None
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except Exception as exc:
            explained = _explain(exc, OneLineErrors.database_url)
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


console = Console()
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="KEY=VALUE settings file")]
DbOpt = Annotated[str | None, typer.Option("--database-url", help="overrides WACOEX_DATABASE_URL")]
DevOpt = Annotated[bool, typer.Option("--dev", help="allow default secrets (development only)")]


def settings_for(config: Path | None, database_url: str | None = None, **extra: Any) -> Settings:
    from wacoex.bootstrap import check_database_url

    settings = load_settings(config, database_url=database_url, **extra)
    check_database_url(settings)  # here, not in Settings: config knows nothing of databases
    OneLineErrors.database_url = settings.database_url
    return settings
