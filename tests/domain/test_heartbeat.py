"""The countdown to the inactivity cut: from the newest sign of life, with a warning from day 10."""

from __future__ import annotations

import pytest

from wacoex.domain.heartbeat import DAY_MS, countdown

NOW = 1_800_000_000_000


def _at(days_ago: float) -> int:
    return NOW - int(days_ago * DAY_MS)


def test_the_newest_sign_starts_the_count() -> None:
    c = countdown(
        {"echo": _at(3), "address_book": _at(1), "connected": _at(40)},
        NOW,
        cut_days=13,
        warning_days=10,
        counting=True,
    )
    assert (c.source, c.days_since, c.days_left, c.warning) == ("address_book", 1.0, 12.0, False)
    assert c.last_sign_of_life_at == _at(1)
    assert c.explained == "Last sign of life 1.0 days ago; 12.0 days left until the owner must open the app."


@pytest.mark.parametrize(("days_ago", "warning"), [(9.99, False), (10.0, True), (12.5, True)])
def test_the_warning_starts_on_the_warning_day(days_ago: float, warning: bool) -> None:
    c = countdown({"echo": _at(days_ago)}, NOW, cut_days=13, warning_days=10, counting=True)
    assert c.warning is warning
    assert ("ask the owner to open" in c.explained) is warning


def test_overdue_is_negative_and_says_so() -> None:
    c = countdown({"echo": _at(15)}, NOW, cut_days=13, warning_days=10, counting=True)
    assert c.days_left == -2.0
    assert c.warning is True
    assert "must open the WhatsApp Business app now" in c.explained


def test_no_countdown_without_the_rule_or_without_a_sign() -> None:
    off = countdown({"echo": _at(20)}, NOW, cut_days=13, warning_days=10, counting=False)
    assert (off.days_left, off.warning, off.source) == (None, False, "echo")
    assert off.explained == "No countdown: not a connected coexistence number."
    none = countdown({"echo": None}, NOW, cut_days=13, warning_days=10, counting=True)
    assert (none.last_sign_of_life_at, none.days_left) == (None, None)
    assert none.explained == "No sign of life yet."


def test_the_settings_move_the_cut() -> None:
    c = countdown({"echo": _at(5)}, NOW, cut_days=7, warning_days=4, counting=True)
    assert (c.days_left, c.warning) == (2.0, True)
