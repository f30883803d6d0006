"""``wacoex emulator``: serve the emulator with uvicorn (the main CLI registers ``emulator_command``).

Plain keyword defaults, so Typer turns each parameter into a ``--option`` without this module
importing Typer.
"""

from __future__ import annotations

from wacoex.emulator.app import create_app
from wacoex.emulator.world import World, WorldConfig


def build_world(
    *,
    webhook_url: str | None = None,
    app_secret: str = "emulator-app-secret",
    verify_token: str = "emulator-verify-token",
    seed: str | None = None,
    d360_partner_url: str | None = None,
    d360_partner_secret: str | None = None,
    api_version: str = "v23.0",
) -> World:
    """The world the CLI serves, seeded from a scenario file when given."""
    world = World(
        WorldConfig(
            webhook_url=webhook_url,
            app_secret=app_secret,
            verify_token=verify_token,
            d360_partner_webhook_url=d360_partner_url,
            d360_partner_secret=d360_partner_secret,
            api_version=api_version if api_version.startswith("v") else f"v{api_version}",
        )
    )
    if seed:
        from wacoex.emulator.scenarios import load_scenario

        load_scenario(world, seed)
    return world


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
) -> None:
    """Run the offline emulator of Meta's Cloud API, 360dialog, the Business app and its customers.

    Graph API under /{version}/ (token "emulator-token"), 360dialog under /messages etc.,
    control API under /_emulator (docs at /_emulator/docs). --seed loads a scenario YAML.
    """
    import uvicorn

    world = build_world(
        webhook_url=webhook_url,
        app_secret=app_secret,
        verify_token=verify_token,
        seed=seed,
        d360_partner_url=d360_partner_url,
        d360_partner_secret=d360_partner_secret,
        api_version=api_version,
    )
    uvicorn.run(create_app(world), host=host, port=port, log_level="info")
