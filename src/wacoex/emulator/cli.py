"""``wacoex emulator``: serve the emulator with uvicorn (the main CLI registers ``emulator_command``).

Plain keyword defaults, so Typer turns each parameter into a ``--option`` without this module
importing Typer. A bad option or scenario ends the process with one line (SystemExit), since the
emulator shares no error handling with the gateway's CLI.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:  # imported when used: every `wacoex` command loads this module
    from wacoex.emulator.runtime import Runtime


def build_runtime(
    *,
    webhook_url: str | None = None,
    app_secret: str = "emulator-app-secret",
    verify_token: str = "emulator-verify-token",
    seed: str | None = None,
    d360_partner_url: str | None = None,
    d360_partner_secret: str | None = None,
    api_version: str = "v23.0",
    media_base_url: str | None = None,
) -> Runtime:
    """The runtime (and world) the CLI serves, seeded from a scenario file when given."""
    from wacoex.emulator.runtime import Runtime
    from wacoex.emulator.world import World, WorldConfig

    runtime = Runtime(
        World(
            WorldConfig(
                webhook_url=webhook_url,
                app_secret=app_secret,
                verify_token=verify_token,
                d360_partner_webhook_url=d360_partner_url,
                d360_partner_secret=d360_partner_secret,
                api_version=api_version if api_version.startswith("v") else f"v{api_version}",
                media_base_url=media_base_url,
            )
        )
    )
    if seed:
        from wacoex.emulator.control.scenarios import load_scenario

        load_scenario(runtime, seed)
    return runtime


def _fail(message: str) -> NoReturn:
    """One line on stderr and exit code 2, as the main CLI does for bad options and settings."""
    print("error: " + " ".join(message.split()), file=sys.stderr)
    raise SystemExit(2)


def emulator_command(
    host: str = "127.0.0.1",
    port: int = 8081,
    webhook_url: str | None = None,
    app_secret: str = "emulator-app-secret",
    verify_token: str = "emulator-verify-token",
    seed: str | None = None,
    d360_partner_url: str | None = None,
    d360_partner_secret: str | None = None,
    api_version: str = "v23.0",
    media_base_url: str | None = None,
) -> None:
    """Run the offline emulator of Meta's Cloud API, 360dialog, the Business app and its customers.

    Graph API under /{version}/ (token "emulator-token"), 360dialog under /messages etc.,
    control API under /_emulator (docs at /_emulator/docs). --seed loads a scenario YAML.
    Media download URLs point at the emulator itself unless --media-base-url is given.
    """
    import uvicorn

    from wacoex.emulator.app import create_app

    if not 1 <= port <= 65535:
        _fail(f"--port must be between 1 and 65535, not {port}")
    if media_base_url is not None and not media_base_url.startswith(("http://", "https://")):
        _fail(f"--media-base-url must be an http(s) URL, not {media_base_url!r}")
    from wacoex.emulator.control.scenarios import ScenarioError
    from wacoex.emulator.people.customers import ActionError

    try:
        runtime = build_runtime(
            webhook_url=webhook_url,
            app_secret=app_secret,
            verify_token=verify_token,
            seed=seed,
            d360_partner_url=d360_partner_url,
            d360_partner_secret=d360_partner_secret,
            api_version=api_version,
            media_base_url=media_base_url,
        )
    except ScenarioError as exc:
        _fail(str(exc))
    except ActionError as exc:
        _fail(f"scenario {seed}: {exc.message}")
    uvicorn.run(create_app(runtime), host=host, port=port, log_level="info")
