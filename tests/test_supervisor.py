"""The settings a `wacoex serve` hands its worker child through the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from wacoex.config import Settings, load_settings
from wacoex.supervisor import settings_env


def test_unset_settings_stay_unset_in_the_child(monkeypatch: pytest.MonkeyPatch) -> None:
    env = settings_env(Settings(rate_card_path=None))
    assert "WACOEX_RATE_CARD_PATH" not in env
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert load_settings().rate_card_path is None


def test_the_child_rebuilds_the_same_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = Settings(rate_card_path=tmp_path / "card.csv", app_secrets=["a", "b"], fetch_media=False)
    for key, value in settings_env(settings).items():
        monkeypatch.setenv(key, value)
    assert load_settings() == settings
