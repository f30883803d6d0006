"""Settings: one object from the environment and an optional file; default secrets refused outside --dev."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from wacoex.cli import app
from wacoex.config import Settings, load_settings
from wacoex.errors import ConfigError


def test_default_secrets_are_refused_outside_dev() -> None:
    with pytest.raises(ConfigError, match=r"WACOEX_APP_SECRETS.*WACOEX_VERIFY_TOKEN.*WACOEX_ADMIN_API_KEY"):
        Settings().check()
    Settings(dev=True).check()
    Settings(app_secrets=["s1"], verify_token="v", admin_api_key="k").check()


def test_serve_without_dev_and_with_default_secrets_exits_with_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["serve", "--database-url", f"sqlite:///{tmp_path}/x.db"])
    assert result.exit_code == 2
    assert "refusing to start with default secrets" in result.output


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
    with pytest.raises(ConfigError, match="not a JSON list"):
        load_settings()


def test_database_passwords_are_never_printed() -> None:
    from wacoex.store.engine import safe_url

    shown = safe_url("postgresql://wacoex:s3cret@db.internal:5432/wacoex")
    assert "s3cret" not in shown
    assert "db.internal" in shown
