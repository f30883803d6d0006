"""The eligibility pre-check: a number's region, API-only numbers, and the limits stated up front."""

from __future__ import annotations

import pytest

from wacoex.domain.eligibility import COEXISTENCE_LIMITS, check_eligibility

BLOCKED = ("NG", "ZA")


@pytest.mark.parametrize(
    ("phone", "region", "country", "code"),
    [("+234 803 123 4567", "NG", "Nigeria", 234), ("27821234567", "ZA", "South Africa", 27)],
)
def test_a_number_from_an_unsupported_region_is_refused_naming_its_country(
    phone: str, region: str, country: str, code: int
) -> None:
    result = check_eligibility(phone, api_only=False, unsupported_regions=BLOCKED)
    assert not result.eligible
    assert result.region == region
    assert result.refusal == f"Numbers from {country} (+{code}) cannot be onboarded to coexistence."


def test_the_list_is_configurable_and_case_blind() -> None:
    assert check_eligibility("+27821234567", api_only=False, unsupported_regions=()).eligible
    assert not check_eligibility("+5511987654321", api_only=False, unsupported_regions=["br"]).eligible


def test_an_api_only_number_is_refused_as_one_way() -> None:
    result = check_eligibility("+5511987654321", api_only=True, unsupported_regions=BLOCKED)
    assert result.refusal is not None
    assert result.refusal.startswith("An API-only number cannot be onboarded to coexistence")
    assert "one-way" in result.refusal


def test_an_eligible_number_comes_with_the_limits_of_coexistence() -> None:
    result = check_eligibility("+55 (11) 98765-4321", api_only=False, unsupported_regions=BLOCKED)
    assert result.eligible
    assert (result.phone, result.region, result.country) == ("5511987654321", "BR", "Brazil")
    text = " ".join(result.limits)
    assert result.limits == COEXISTENCE_LIMITS
    for must in (
        "13 days",
        "Official Business Account",
        "Meta Verified",
        "blue badge",
        "four companion",
        "24 hours",
    ):
        assert must in text


@pytest.mark.parametrize("phone", ["12", "not a number", "+999 1234"])
def test_something_that_is_not_a_phone_number_is_refused(phone: str) -> None:
    result = check_eligibility(phone, api_only=False, unsupported_regions=BLOCKED)
    assert result.refusal is not None
    assert "is not a phone number with its country code" in result.refusal
