"""Whether a number can be onboarded to coexistence, checked before anything is called, in plain words.

The number's country (phonenumbers) against the unsupported regions (a setting: Meta's list has
changed over time), and an API-only number, which cannot be onboarded: a number moved to the Cloud
API alone does not come back to the WhatsApp Business app through onboarding. The limits of a
coexistence number are stated up front, whatever the answer.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import phonenumbers
from phonenumbers import geocoder

COEXISTENCE_LIMITS: tuple[str, ...] = (
    "The owner keeps using the WhatsApp Business app and must open it at least every 13 days: "
    "after about 14 days without it, Meta disconnects the number from the Cloud API.",
    "No Official Business Account (blue badge) and no standard business verification: use "
    "partner-led business verification or Meta Verified instead; a blue badge does not carry over.",
    "Sends through the API are limited to 20 messages per second (the app's pace), whatever the tier.",
    "Up to four companion devices can be linked; WhatsApp for Windows and WearOS are not supported, "
    "and every companion is unlinked at onboarding (the supported ones can be linked again).",
    "Contacts and up to 180 days of chat history (no group chats) can each be imported once, within "
    "24 hours of onboarding, and only if the owner agrees in the app.",
    "Voice and video calls are not available through the Cloud API for a coexistence number.",
)


@dataclass(frozen=True, slots=True)
class Eligibility:
    phone: str  # digits, with the country code
    region: str | None  # ISO 3166 region, None when the country code is not one
    country: str | None  # the region's English name
    refusal: str | None  # why it cannot be onboarded (one sentence); None: eligible
    limits: tuple[str, ...] = COEXISTENCE_LIMITS

    @property
    def eligible(self) -> bool:
        return self.refusal is None


def check_eligibility(phone: str, *, api_only: bool, unsupported_regions: Collection[str]) -> Eligibility:
    """Whether `phone` (with its country code; `+`, spaces and dashes allowed) can be onboarded."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    try:
        parsed = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_possible_number(parsed):
        invalid = f"{phone!r} is not a phone number with its country code (such as +44 7700 900123)."
        return Eligibility(digits, None, None, invalid)
    code = parsed.country_code or 0
    found = phonenumbers.region_code_for_number(parsed) or phonenumbers.region_code_for_country_code(code)
    region = None if found in (None, "ZZ", "001") else found
    country = (geocoder.country_name_for_number(parsed, "en") or region) if region else None
    blocked = {r.upper() for r in unsupported_regions}
    if api_only:
        refusal = (
            "An API-only number cannot be onboarded to coexistence: moving a number to the Cloud API "
            "alone is one-way. Delete it from the Cloud API in Business Manager, register it in the "
            "WhatsApp Business app, and onboard it from there."
        )
    elif region is not None and region in blocked:
        refusal = f"Numbers from {country} (+{code}) cannot be onboarded to coexistence."
    else:
        return Eligibility(digits, region, country, None)
    return Eligibility(digits, region, country, refusal)
