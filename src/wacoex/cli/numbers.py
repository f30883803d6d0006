"""`wacoex numbers`: the numbers the gateway serves, in their workspaces, their tokens encrypted."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from wacoex.cli import onboarding
from wacoex.cli.common import ConfigOpt, DbOpt, DevOpt, console, settings_for
from wacoex.domain.access import DEFAULT_WORKSPACE_ID
from wacoex.errors import Refused

numbers_app = typer.Typer(help="Numbers the gateway serves.", no_args_is_help=True)

WorkspaceOpt = Annotated[
    str | None,
    typer.Option("--workspace", help='workspace id or name (default: 1, "default")'),
]


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
            help="Graph token or 360dialog API key (stored encrypted with WACOEX_SECRET_KEY)",
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
    dev: DevOpt = False,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Register a number the gateway serves. Webhooks already held for it are applied."""
    from wacoex.bootstrap import admin

    settings = settings_for(config, database_url, dev=dev or None)
    if access_token is not None:
        settings.check_secret_key()  # encrypted with the development key, the gateway could not read it
    with admin(settings) as operator:
        number, released = operator.add_number(
            phone_number_id=phone_number_id,
            display_phone_number=display_phone_number,
            waba_id=waba_id,
            provider=provider,
            coexistence=coexistence,
            access_token=access_token,
            workspace=workspace,
        )
    console.print(
        f"registered {number.phone_number_id} (+{number.display_phone_number}) in workspace "
        f"{number.workspace_id}; {released} held receipt(s) released"
    )


@numbers_app.command("list")
def numbers_list(config: ConfigOpt = None, database_url: DbOpt = None) -> None:
    """List registered numbers."""
    from wacoex.bootstrap import admin

    with admin(settings_for(config, database_url, dev=True), read_only=True) as operator:
        rows = operator.numbers()
    # The workspace column only once there is more than one: a single-workspace install never names one.
    several = any(r.workspace_id != DEFAULT_WORKSPACE_ID for r in rows)
    columns = ["phone_number_id", "display", "waba_id", "provider", "coex", "state", "history"]
    table = Table(*columns, *(["workspace"] if several else []))
    for r in rows:
        cells = [
            r.phone_number_id,
            r.display_phone_number,
            r.waba_id,
            r.provider,
            "yes" if r.coexistence else "no",
            r.state + (f" ({r.state_reason})" if r.state_reason else ""),
            r.history_state,
        ]
        table.add_row(*cells, *([str(r.workspace_id)] if several else []))
    console.print(table)


@numbers_app.command("reencrypt")
def numbers_reencrypt(dev: DevOpt = False, config: ConfigOpt = None, database_url: DbOpt = None) -> None:
    """Encrypt every stored token with WACOEX_SECRET_KEY (after rotating it: the old key goes in
    WACOEX_PREVIOUS_SECRET_KEYS until this has run). Tokens stored in clear are encrypted too."""
    from wacoex.bootstrap import admin

    settings = settings_for(config, database_url, dev=dev or None)
    settings.check_secret_key()
    with admin(settings) as operator:
        n = operator.reencrypt_tokens()
    console.print(f"{n} token(s) re-encrypted with the current secret key")


@numbers_app.command("check")
def numbers_check(
    phone: Annotated[str, typer.Argument(help="the number with its country code, such as +44 7700 900123")],
    api_only: Annotated[
        bool, typer.Option("--api-only", help="the number is on the Cloud API alone, not on the Business app")
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """Whether a number can be onboarded to coexistence (nothing is called), and its limits if it is."""
    from wacoex.domain.eligibility import check_eligibility

    settings = settings_for(config)
    result = check_eligibility(phone, api_only=api_only, unsupported_regions=settings.unsupported_regions)
    if result.refusal is not None:
        raise Refused(result.refusal, code="not_eligible")
    where = f" ({result.country})" if result.country else ""
    typer.echo(f"+{result.phone}{where} can be onboarded to coexistence. What to know first:")
    for line in result.limits:
        typer.echo(f"- {line}")


numbers_app.command("onboard")(onboarding.onboard)
numbers_app.command("sync")(onboarding.sync)
numbers_app.command("opened")(onboarding.opened)
numbers_app.command("switch-back")(onboarding.switch_back)
