"""`wacoex numbers onboard | sync | opened | switch-back`: a number's onboarding and lifecycle."""

from __future__ import annotations

from typing import Annotated

import typer

from wacoex.cli.common import ConfigOpt, DbOpt, DevOpt, console, settings_for
from wacoex.domain.access import Principal, Role
from wacoex.domain.eligibility import check_eligibility
from wacoex.domain.lifecycle import SWITCH_BACK
from wacoex.domain.onboarding import SYNC_ORDER, sync_kind
from wacoex.errors import InvalidInput, Refused
from wacoex.services.onboarding import Onboarded

WorkspaceOpt = Annotated[
    str | None, typer.Option("--workspace", help='workspace id or name (default: 1, "default")')
]


def onboard(
    phone: Annotated[str, typer.Argument(help="the number with its country code, such as +44 7700 900123")],
    code: Annotated[
        str | None, typer.Option("--code", help="Embedded Signup's code (FB.login's; it lives 30 seconds)")
    ] = None,
    waba_id: Annotated[
        str | None, typer.Option("--waba-id", help="FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING's waba_id")
    ] = None,
    channel: Annotated[
        str | None,
        typer.Option(
            "--360dialog-channel", help="360dialog: the channel id of the Integrated Onboarding redirect"
        ),
    ] = None,
    phone_number_id: Annotated[
        str | None,
        typer.Option("--phone-number-id", help="360dialog: Meta's id of the number, if the channel lacks it"),
    ] = None,
    workspace: WorkspaceOpt = None,
    dev: DevOpt = False,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Finish onboarding a WhatsApp Business app number: its country is checked first (nothing is
    called for a refused one), then Meta (or 360dialog) is asked, the number registered with its
    token, and its contacts and history requested, once each."""
    from wacoex.bootstrap import admin, lifecycle

    if (channel is None) == (code is None):
        raise InvalidInput("give either --code and --waba-id (Meta) or --360dialog-channel (360dialog)")
    if code is not None and not waba_id:
        raise InvalidInput("--waba-id is required with --code")
    settings = settings_for(config, database_url, dev=dev or None)
    eligibility = check_eligibility(phone, api_only=False, unsupported_regions=settings.unsupported_regions)
    if eligibility.refusal is not None:  # before anything is called, or even opened
        raise Refused(eligibility.refusal, code="not_eligible")
    settings.check_secret_key()  # the token is stored encrypted: the gateway must be able to read it
    with admin(settings) as operator:
        workspace_id = operator.workspace_id(workspace)
    who = Principal(role=Role.ADMIN, workspace_id=workspace_id)
    with lifecycle(settings) as life:
        if channel is not None:
            done = life.onboarding.dialog360(
                who, channel_id=channel, phone=phone, phone_number_id=phone_number_id
            )
        else:
            assert code is not None
            assert waba_id is not None
            done = life.onboarding.embedded_signup(who, code=code, waba_id=waba_id, phone=phone)
    _print_onboarded(done)


def _print_onboarded(done: Onboarded) -> None:
    o = done.onboarding
    n = o.number
    verb = "registered" if done.created else "connected again"
    console.print(
        f"{verb} {n.phone_number_id} (+{n.display_phone_number}, {n.provider}) in workspace {n.workspace_id}"
    )
    for kind in SYNC_ORDER:
        view = o.syncs[kind]
        state = view.effective
        extra = f" (request id {view.request_id})" if view.request_id else ""
        console.print(f"- {view.kind.label}: {state.value}{extra}")


def sync(
    phone_number_id: Annotated[str, typer.Argument(help="the number's phone_number_id")],
    kind: Annotated[str, typer.Argument(help="contacts or history")],
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="request one whose first request is unconfirmed or refused (Meta may answer 2593107)",
        ),
    ] = False,
    dev: DevOpt = False,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Request a one-shot sync now. Each is allowed once per onboarding, within 24 hours: once
    requested it is refused here without calling Meta."""
    from wacoex.bootstrap import lifecycle

    which = sync_kind(kind)
    if which is None:
        raise InvalidInput(f"unknown sync {kind!r}: contacts or history")
    settings = settings_for(config, database_url, dev=dev or None)
    with lifecycle(settings) as life:
        view = life.syncs.request(
            Principal(role=Role.ADMIN, workspace_id=None), phone_number_id, which, force=force
        )
    extra = f" (request id {view.request_id})" if view.request_id else ""
    console.print(f"{which.label}: {view.effective.value}{extra}")


def opened(
    phone_number_id: Annotated[str, typer.Argument(help="the number's phone_number_id")],
    dev: DevOpt = False,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """The owner opened the WhatsApp Business app: the countdown to the ~14-day inactivity cut starts
    again (the gateway cannot see the app being opened)."""
    from wacoex.bootstrap import lifecycle

    settings = settings_for(config, database_url, dev=dev or None)
    with lifecycle(settings) as life:
        life.watch.acknowledge(Principal(role=Role.ADMIN, workspace_id=None), phone_number_id)
    console.print(f"{phone_number_id}: the phone's heartbeat acknowledged; the countdown starts again")


def switch_back() -> None:
    """How to go back to the WhatsApp Business app alone, and what wacoex keeps."""
    typer.echo(SWITCH_BACK)
