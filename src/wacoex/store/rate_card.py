"""The rate card file: the one shipped with wacoex, or the operator's (WACOEX_RATE_CARD_PATH)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from wacoex.domain.pricing import RateCard, parse_rate_card
from wacoex.errors import ConfigError

SHIPPED = "data/rate_card.csv"


def load_rate_card(path: Path | None) -> RateCard:
    """Read and check the card once, at start-up: a card that cannot be read or parsed is a ConfigError."""
    if path is None:
        return parse_rate_card(resources.files("wacoex").joinpath(SHIPPED).read_text("utf-8"), "(shipped)")
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(f"cannot read the rate card WACOEX_RATE_CARD_PATH={path}: {reason}") from exc
    return parse_rate_card(text, str(path))
