"""The one Settings object: built once at start-up from WACOEX_* variables and an optional file."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from wacoex.errors import ConfigError

DEV_APP_SECRET = "dev-app-secret"
DEV_VERIFY_TOKEN = "dev-verify-token"
DEV_ADMIN_KEY = "dev-admin-key"

MAX_WEBHOOK_BYTES = 3 * 1024 * 1024 + 512 * 1024  # Meta's 3 MB limit plus a margin


class Settings(BaseSettings):
    """Everything wacoex can be configured with. See docs/configuration.md."""

    model_config = SettingsConfigDict(env_prefix="WACOEX_", extra="forbid", env_nested_delimiter="__")

    database_url: str = "sqlite:///./var/wacoex.db"
    media_dir: Path = Path("./var/media")
    app_secrets: Annotated[list[str], NoDecode] = Field(default_factory=lambda: [DEV_APP_SECRET])
    verify_token: str = DEV_VERIFY_TOKEN
    dialog360_webhook_secrets: Annotated[list[str], NoDecode] = Field(default_factory=list)
    dialog360_header_name: str = "x-wacoex-token"
    dialog360_header_secrets: Annotated[list[str], NoDecode] = Field(default_factory=list)
    admin_api_key: str = DEV_ADMIN_KEY
    graph_base_url: str = "https://graph.facebook.com/v23.0"
    dialog360_base_url: str = "https://waba-v2.360dialog.io"
    max_webhook_bytes: int = MAX_WEBHOOK_BYTES
    worker_batch: int = 50
    worker_poll_seconds: float = 0.05
    max_attempts: int = 8
    retry_base_seconds: float = 2.0
    fetch_media: bool = True
    # Bounded apply work (docs/configuration.md, "Bounded apply"): how long one apply transaction may
    # hold SQLite's write lock, and how many unreadable parts of one webhook are stored one by one.
    apply_lock_budget_ms: int = Field(default=100, ge=1, le=60_000)
    max_unknown_per_receipt: int = Field(default=100, ge=1, le=100_000)
    dev: bool = False
    # HTTP limits of `wacoex serve`, enforced in web/http_limits.py without a reverse proxy
    # (docs/configuration.md#http-limits says why each default is what it is).
    http_max_header_bytes: int = Field(default=32 * 1024, gt=0)
    http_max_headers: int = Field(default=100, gt=0)
    http_header_timeout_seconds: float = Field(default=10.0, gt=0)
    http_body_timeout_seconds: float = Field(default=30.0, gt=0)
    http_keepalive_seconds: float = Field(default=5.0, gt=0)
    http_max_connections: int = Field(default=1000, gt=0)

    @field_validator("app_secrets", "dialog360_webhook_secrets", "dialog360_header_secrets", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        # Accept "a,b" as well as a JSON list '["a","b"]' from the environment or a config file.
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    return json.loads(text)
                except ValueError as exc:
                    raise ValueError(f"not a JSON list: {text!r}") from exc
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    def check(self) -> None:
        """Refuse default secrets outside development."""
        if self.dev:
            return
        weak = []
        if DEV_APP_SECRET in self.app_secrets or not self.app_secrets:
            weak.append("WACOEX_APP_SECRETS")
        if self.verify_token == DEV_VERIFY_TOKEN:
            weak.append("WACOEX_VERIFY_TOKEN")
        if self.admin_api_key == DEV_ADMIN_KEY:
            weak.append("WACOEX_ADMIN_API_KEY")
        if weak:
            raise ConfigError(
                "refusing to start with default secrets: set " + ", ".join(weak) + " (or pass --dev)"
            )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Build Settings from the environment, an optional config file (KEY=VALUE lines), and overrides."""
    values: dict[str, Any] = {}
    path = config_file or os.environ.get("WACOEX_CONFIG")
    if path:
        file = Path(path)
        if not file.exists():
            raise ConfigError(f"config file {file} does not exist")
        for lineno, line in enumerate(file.read_text().splitlines(), 1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            if "=" not in stripped:
                raise ConfigError(f"{file}:{lineno}: expected KEY=VALUE")
            key, _, value = stripped.partition("=")
            key = key.strip().lower().removeprefix("wacoex_")
            values[key] = value.strip().strip('"')
    env_keys = {k.lower().removeprefix("wacoex_") for k in os.environ if k.startswith("WACOEX_")}
    # The environment wins over the file.
    values = {k: v for k, v in values.items() if k not in env_keys}
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings(**values)
    except Exception as exc:
        raise ConfigError(f"invalid configuration: {exc}") from exc
