"""Settings: one object from the environment and an optional file; default secrets refused outside --dev."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from wacoex.cli import app
from wacoex.config import Settings, load_settings
from wacoex.errors import ConfigError

STRONG = {"app_secrets": ["s1"], "verify_token": "v" * 16, "admin_api_key": "k" * 16, "secret_key": "e" * 32}


def test_default_secrets_are_refused_outside_dev() -> None:
    with pytest.raises(
        ConfigError, match=r"WACOEX_APP_SECRETS.*WACOEX_VERIFY_TOKEN.*WACOEX_ADMIN_API_KEY.*WACOEX_SECRET_KEY"
    ):
        Settings().check()
    Settings(dev=True).check()
    Settings(**STRONG).check()


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("verify_token", "v" * 15),
        ("admin_api_key", "test-admin-key"),
        ("dialog360_header_secrets", ["h" * 16, "short"]),
    ],
)
def test_short_bearer_secrets_are_refused_outside_dev(setting: str, value: object) -> None:
    settings = Settings(**{**STRONG, setting: value})
    with pytest.raises(ConfigError) as caught:
        settings.check()
    assert caught.value.message == (
        "refusing to start with default or weak secrets: "
        f"WACOEX_{setting.upper()} must be at least 16 characters (or pass --dev)"
    )
    Settings(**{**STRONG, setting: value, "dev": True}).check()


def test_default_and_short_secrets_are_named_in_one_line() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings(verify_token="short").check()
    assert caught.value.message == (
        "refusing to start with default or weak secrets: set WACOEX_APP_SECRETS, WACOEX_ADMIN_API_KEY, "
        "WACOEX_SECRET_KEY; WACOEX_VERIFY_TOKEN must be at least 16 characters (or pass --dev)"
    )


def test_the_key_that_encrypts_tokens_at_rest_is_long_and_the_previous_ones_a_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings(**{**STRONG, "secret_key": "e" * 31}).check()
    assert caught.value.message == (
        "refusing to start with default or weak secrets: "
        "WACOEX_SECRET_KEY must be at least 32 characters (or pass --dev)"
    )
    monkeypatch.setenv("WACOEX_PREVIOUS_SECRET_KEYS", "older-key, oldest-key")
    assert load_settings().previous_secret_keys == ["older-key", "oldest-key"]
    keys = Settings(**{**STRONG, "previous_secret_keys": ["o" * 32]})
    assert "e" * 32 not in repr(keys)  # keys never appear where settings are logged
    assert "o" * 32 not in repr(keys)
    assert "k" * 16 not in repr(keys)
    monkeypatch.setenv("WACOEX_PREVIOUS_SECRET_KEYS", '["a", " "]')
    with pytest.raises(ConfigError, match="WACOEX_PREVIOUS_SECRET_KEYS: contains an empty secret"):
        load_settings()


@pytest.mark.parametrize("dev", ["true", "false"])
@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("WACOEX_APP_SECRETS", '[""]'),
        ("WACOEX_APP_SECRETS", '["meta-secret", "   "]'),
        ("WACOEX_DIALOG360_WEBHOOK_SECRETS", '[""]'),
        ("WACOEX_DIALOG360_HEADER_SECRETS", '[""]'),
        ("WACOEX_DIALOG360_HEADER_SECRETS", '[" \\t"]'),
    ],
)
def test_an_empty_secret_in_a_list_is_refused_even_in_dev(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, dev: str
) -> None:
    monkeypatch.setenv(variable, value)
    monkeypatch.setenv("WACOEX_DEV", dev)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.message == f"invalid configuration: {variable}: contains an empty secret"


@pytest.mark.parametrize("variable", ["WACOEX_VERIFY_TOKEN", "WACOEX_ADMIN_API_KEY"])
@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_verify_token_or_admin_key_is_refused_even_in_dev(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(dev=True)
    assert caught.value.message == f"invalid configuration: {variable}: must not be empty"


def test_comma_lists_drop_empty_parts_so_they_never_hold_an_empty_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WACOEX_DIALOG360_HEADER_SECRETS", " , ,")
    assert load_settings().dialog360_header_secrets == []


def test_invalid_settings_are_one_line_naming_each_setting_without_its_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WACOEX_WORKER_BATCH", "many")
    monkeypatch.setenv("WACOEX_APP_SECRETS", '["s3cret-value", 7]')
    with pytest.raises(ConfigError) as caught:
        load_settings(None, no_such_setting="x")
    message = caught.value.message
    assert "\n" not in message
    assert message.startswith("invalid configuration: ")
    assert "WACOEX_WORKER_BATCH: Input should be a valid integer" in message
    assert "WACOEX_APP_SECRETS[1]: Input should be a valid string" in message
    assert "WACOEX_NO_SUCH_SETTING: not a setting" in message
    assert "s3cret-value" not in message
    assert "many" not in message


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("foo://", "unsupported database 'foo'"),
        ("mysql://u@h/db", "unsupported database 'mysql'"),
        ("postgresql+asyncpg://u@h/db", "unsupported database 'postgresql+asyncpg'"),
        ("wacoex:s3cret@db.internal/wacoex", "not a database URL"),
    ],
)
def test_unsupported_database_urls_are_refused(url: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(database_url=url)
    assert caught.value.message.startswith(f"invalid configuration: WACOEX_DATABASE_URL: {problem}")
    assert "s3cret" not in caught.value.message


def test_serve_without_dev_and_with_default_secrets_exits_with_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["serve", "--database-url", f"sqlite:///{tmp_path}/x.db"])
    assert result.exit_code == 2
    assert "refusing to start with default or weak secrets" in result.output
    assert not (tmp_path / "x.db").exists()


def test_secrets_from_the_environment_as_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WACOEX_APP_SECRETS", "old, new")
    monkeypatch.setenv("WACOEX_DATABASE_URL", "postgresql://u@h/db")
    settings = load_settings()
    assert settings.app_secrets == ["old", "new"]
    assert not settings.is_sqlite


def test_config_file_with_environment_taking_precedence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "wacoex.conf"
    file.write_text('# comment\nWACOEX_VERIFY_TOKEN=from-file\nadmin_api_key = "k"\n')
    monkeypatch.setenv("WACOEX_VERIFY_TOKEN", "from-env")
    settings = load_settings(file)
    assert settings.verify_token == "from-env"
    assert settings.admin_api_key == "k"


def test_bad_config_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.conf")
    bad = tmp_path / "bad.conf"
    bad.write_text("no equals sign here\n")
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        load_settings(bad)
    with pytest.raises(ConfigError, match="invalid configuration"):
        load_settings(None, no_such_setting=1)


def test_secret_lists_accept_json_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WACOEX_APP_SECRETS", '["a", "b,c"]')
    assert load_settings().app_secrets == ["a", "b,c"]
    monkeypatch.setenv("WACOEX_APP_SECRETS", '["unterminated')
    with pytest.raises(ConfigError, match="not a JSON list") as caught:
        load_settings()
    assert "unterminated" not in caught.value.message  # a secret is never echoed


def test_database_passwords_are_never_printed() -> None:
    from wacoex.store.engine import safe_url

    shown = safe_url("postgresql://wacoex:s3cret@db.internal:5432/wacoex")
    assert "s3cret" not in shown
    assert "db.internal" in shown
