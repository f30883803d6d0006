"""`wacoex numbers check`: refused in one line with a non-zero exit, or eligible with the limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_cli import assert_one_line_error, run_cli


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["+234 803 123 4567"], {}, "Numbers from Nigeria (+234) cannot be onboarded to coexistence."),
        (["+5511987654321"], {"WACOEX_UNSUPPORTED_REGIONS": "BR"}, "Numbers from Brazil (+55) cannot be"),
        (["+5511987654321", "--api-only"], {}, "An API-only number cannot be onboarded to coexistence"),
        (["12"], {}, "'12' is not a phone number with its country code"),
    ],
)
def test_a_refusal_is_one_line_and_exit_1(
    tmp_path: Path, args: list[str], env: dict[str, str], expected: str
) -> None:
    assert_one_line_error(run_cli(["numbers", "check", *args], tmp_path, env), 1, expected)


def test_an_eligible_number_lists_the_limits_and_exits_0(tmp_path: Path) -> None:
    code, lines = run_cli(
        ["numbers", "check", "+27 82 123 4567"], tmp_path, {"WACOEX_UNSUPPORTED_REGIONS": ""}
    )
    assert code == 0, lines
    assert lines[0] == "+27821234567 (South Africa) can be onboarded to coexistence. What to know first:"
    assert len(lines) == 7
    assert any("Official Business Account" in line for line in lines)
    assert not (tmp_path / "var").exists()  # nothing called, nothing stored


def test_a_bad_region_setting_is_a_configuration_error(tmp_path: Path) -> None:
    outcome = run_cli(
        ["numbers", "check", "+5511987654321"], tmp_path, {"WACOEX_UNSUPPORTED_REGIONS": "Nigeria"}
    )
    assert_one_line_error(
        outcome, 2, "WACOEX_UNSUPPORTED_REGIONS: not ISO 3166 two-letter region codes: NIGERIA"
    )
