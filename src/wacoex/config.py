"""The one Settings object: built once at start-up from WACOEX_* variables and an optional file."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from wacoex.errors import ConfigError

DEV_APP_SECRET = "dev-app-secret"
DEV_VERIFY_TOKEN = "dev-verify-token"
DEV_ADMIN_KEY = "dev-admin-key"
DEV_SECRET_KEY = "dev-secret-key"
# Bearer values the operator chooses (compared as they are, guessable online): outside --dev they must
# be at least this long: 16 random characters are 64 bits even as hex, out of reach of online guessing.
MIN_SECRET_LENGTH = 16
# WACOEX_SECRET_KEY encrypts provider tokens at rest, open to offline guessing by whoever holds a copy
# of the database: 32 characters or more (store/token_cipher.py derives the Fernet key from it).
MIN_SECRET_KEY_LENGTH = 32

# psycopg 3 under every PostgreSQL spelling (store/engine.py); other databases or drivers are not supported.
DATABASE_SCHEMES = ("sqlite", "sqlite+pysqlite", "postgres", "postgresql", "postgresql+psycopg")

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
    admin_api_key: str = Field(default=DEV_ADMIN_KEY, repr=False)  # keys never appear in a repr or a log
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
    # Encrypts provider tokens at rest (docs/configuration.md, "Secrets at rest"); the previous keys
    # still decrypt, until `wacoex numbers reencrypt` has moved every token to the current one.
    secret_key: str = Field(default=DEV_SECRET_KEY, repr=False)
    previous_secret_keys: Annotated[list[str], NoDecode] = Field(default_factory=list, repr=False)
    # Sending (docs/api.md, "Sending"): the provider's timeouts, the per-number token bucket, pacing
    # per recipient, how long a synchronous send may wait for its turn, retries of what certainly
    # did not leave, and how long an owner's echo from the phone pauses the bots.
    provider_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    provider_timeout_seconds: float = Field(default=15.0, gt=0)
    send_rate_coexistence: float = Field(default=20.0, gt=0)
    send_rate_default: float = Field(default=80.0, gt=0)
    pair_interval_seconds: float = Field(default=6.0, ge=0)
    pair_burst: int = Field(default=10, ge=1)
    send_max_wait_seconds: float = Field(default=5.0, ge=0)
    send_max_attempts: int = Field(default=6, ge=1)
    takeover_minutes: float = Field(default=30.0, gt=0)
    takeover_resume_on_customer: bool = False
    rate_card_path: Path | None = None  # CSV category x market; None: the one shipped with wacoex
    # The number's lifecycle (docs/configuration.md, "Number lifecycle"): regions whose numbers cannot
    # be onboarded to coexistence (ISO 3166; Meta's list of March 2026), and the countdown to the
    # inactivity cut (the owner must open the app every `inactivity_days`), warned from the warning day.
    unsupported_regions: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["NG", "ZA"])
    inactivity_days: float = Field(default=13.0, gt=0)
    inactivity_warning_days: float = Field(default=10.0, ge=0)
    # Onboarding (docs/onboarding.md): the Meta app that runs Embedded Signup (its id, and the secret
    # the code exchange needs: the first of app_secrets when not set), the Embedded Signup
    # configuration, where Meta's JavaScript SDK is loaded from and which origins may post the
    # signup's session events (the emulator serves both for offline use).
    meta_app_id: str | None = None
    meta_app_secret: str | None = Field(default=None, repr=False)
    es_config_id: str | None = None
    es_sdk_url: str = "https://connect.facebook.net/en_US/sdk.js"
    es_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["https://www.facebook.com", "https://web.facebook.com"]
    )
    es_graph_version: str = "v23.0"  # FB.init's version
    signup_link_hours: float = Field(default=72.0, gt=0)  # how long a signup link works
    # 360dialog's Partner API (Integrated Onboarding): the partner id and its API key.
    d360_partner_id: str | None = None
    d360_partner_api_key: str | None = Field(default=None, repr=False)
    d360_hub_url: str = "https://hub.360dialog.io/api/v2"
    # The gateway's public URL (https://…): 360dialog numbers get their webhook pointed here.
    public_url: str | None = None
    # The lifecycle checks of `wacoex serve`: the syncs' deadline warning, how often Meta is asked
    # whether the number is still on the Business app, and how often the checks run.
    sync_deadline_warning_hours: float = Field(default=4.0, ge=0)
    biz_app_check_hours: float = Field(default=6.0, gt=0)
    lifecycle_check_seconds: float = Field(default=30.0, gt=0)
    dev: bool = False
    # HTTP limits of `wacoex serve`, enforced in web/http_limits.py without a reverse proxy
    # (docs/configuration.md#http-limits says why each default is what it is).
    http_max_header_bytes: int = Field(default=32 * 1024, gt=0)
    http_max_headers: int = Field(default=100, gt=0)
    http_header_timeout_seconds: float = Field(default=10.0, gt=0)
    http_body_timeout_seconds: float = Field(default=30.0, gt=0)
    http_keepalive_seconds: float = Field(default=5.0, gt=0)
    http_max_connections: int = Field(default=1000, gt=0)

    @field_validator(
        "app_secrets",
        "dialog360_webhook_secrets",
        "dialog360_header_secrets",
        "previous_secret_keys",
        "es_origins",
        mode="before",
    )
    @classmethod
    def _split(cls, value: Any) -> Any:
        # Accept "a,b" as well as a JSON list '["a","b"]' from the environment or a config file.
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    return json.loads(text)
                except ValueError as exc:
                    # Never echo the value: it holds secrets.
                    raise ValueError(f"not a JSON list ({exc})") from exc
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator(
        "app_secrets", "dialog360_webhook_secrets", "dialog360_header_secrets", "previous_secret_keys"
    )
    @classmethod
    def _no_empty_secret(cls, value: list[str]) -> list[str]:
        # An empty secret would accept an empty header or a signature made with an empty key: refused
        # even with --dev, since nobody means it.
        if any(not secret.strip() for secret in value):
            raise ValueError("contains an empty secret")
        return value

    @field_validator("unsupported_regions", mode="before")
    @classmethod
    def _regions(cls, value: Any) -> Any:
        # "NG,ZA", a JSON list, or "" for none.
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("unsupported_regions")
    @classmethod
    def _region_codes(cls, value: list[str]) -> list[str]:
        codes = [v.strip().upper() for v in value]
        bad = [c for c in codes if len(c) != 2 or not c.isalpha()]
        if bad:
            raise ValueError(f"not ISO 3166 two-letter region codes: {', '.join(bad)}")
        return codes

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        scheme, sep, _ = value.partition("://")
        if not sep:
            # The value may hold a password: it is not repeated.
            raise ValueError(
                "not a database URL: use sqlite:///path/to/wacoex.db or postgresql://user@host/db"
            )
        if scheme not in DATABASE_SCHEMES:
            raise ValueError(
                f"unsupported database {scheme!r}: wacoex runs on sqlite:///… or postgresql://… (psycopg 3)"
            )
        return value

    @field_validator("verify_token", "admin_api_key", "secret_key")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    def check(self) -> None:
        """Refuse default or short secrets outside development (one line naming the settings)."""
        if self.dev:
            return
        default = []
        if DEV_APP_SECRET in self.app_secrets or not self.app_secrets:
            default.append("WACOEX_APP_SECRETS")
        if self.verify_token == DEV_VERIFY_TOKEN:
            default.append("WACOEX_VERIFY_TOKEN")
        if self.admin_api_key == DEV_ADMIN_KEY:
            default.append("WACOEX_ADMIN_API_KEY")
        if self.secret_key == DEV_SECRET_KEY:
            default.append("WACOEX_SECRET_KEY")
        short = []
        if self.verify_token != DEV_VERIFY_TOKEN and len(self.verify_token) < MIN_SECRET_LENGTH:
            short.append("WACOEX_VERIFY_TOKEN")
        if self.admin_api_key != DEV_ADMIN_KEY and len(self.admin_api_key) < MIN_SECRET_LENGTH:
            short.append("WACOEX_ADMIN_API_KEY")
        if any(len(secret) < MIN_SECRET_LENGTH for secret in self.dialog360_header_secrets):
            short.append("WACOEX_DIALOG360_HEADER_SECRETS")
        problems = []
        if default:
            problems.append("set " + ", ".join(default))
        if short:
            problems.append(", ".join(short) + f" must be at least {MIN_SECRET_LENGTH} characters")
        if self._secret_key_too_short:
            problems.append(f"WACOEX_SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters")
        if problems:
            raise ConfigError(
                "refusing to start with default or weak secrets: " + "; ".join(problems) + " (or pass --dev)"
            )

    def check_secret_key(self) -> None:
        """For commands that encrypt or decrypt provider tokens without serving (`wacoex numbers add
        --access-token`, `numbers reencrypt`): a token encrypted with the development key would be
        unreadable by the gateway."""
        if self.dev:
            return
        if self.secret_key == DEV_SECRET_KEY:
            raise ConfigError(
                "set WACOEX_SECRET_KEY, the key provider tokens are encrypted with (or pass --dev)"
            )
        if self._secret_key_too_short:
            raise ConfigError(f"WACOEX_SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters")

    @property
    def _secret_key_too_short(self) -> bool:
        return self.secret_key != DEV_SECRET_KEY and len(self.secret_key) < MIN_SECRET_KEY_LENGTH

    @property
    def code_exchange_secret(self) -> str | None:
        """The Meta app secret Embedded Signup's code is exchanged with."""
        return self.meta_app_secret or (self.app_secrets[0] if self.app_secrets else None)

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
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise ConfigError(f"cannot read config file {file}: {reason}") from exc
        for lineno, line in enumerate(text.splitlines(), 1):
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
    except ValidationError as exc:
        raise ConfigError("invalid configuration: " + describe(exc)) from exc
    except Exception as exc:
        raise ConfigError("invalid configuration: " + " ".join(str(exc).split())) from exc


def describe(exc: ValidationError) -> str:
    """A ValidationError as one line naming each setting (`WACOEX_...: problem`), values left out.

    pydantic's own text spans several lines and repeats the input, which may be a secret.
    """
    problems = []
    for error in exc.errors():
        loc = error.get("loc", ())
        name = f"WACOEX_{str(loc[0]).upper()}" if loc else "settings"
        if len(loc) > 1:
            name += "[" + "][".join(str(part) for part in loc[1:]) + "]"
        if error.get("type") == "extra_forbidden":
            message = "not a setting"
        else:
            message = str(error.get("msg", "")).removeprefix("Value error, ")
        problems.append(f"{name}: {' '.join(message.split())}")
    return "; ".join(problems)
