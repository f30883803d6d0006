"""Identifiers and phone-number normalisation (wa_id, BSUID, country quirks)."""

from __future__ import annotations

import re

_NON_DIGITS = re.compile(r"\D+")


def digits(number: str | None) -> str:
    """Digits only: '+1 (650) 555-1234' -> '16505551234'."""
    if not number:
        return ""
    return _NON_DIGITS.sub("", number)


def phone_key(number: str | None) -> str:
    """A canonical key under which two spellings of one person's number compare equal.

    WhatsApp reports the same person under different digit strings in a few countries:
    Brazil's mobile numbers with and without the ninth digit (55 AA 9NNNNNNNN vs 55 AA NNNNNNNN)
    and Mexico's mobile prefix (521 + 10 digits vs 52 + 10 digits). The key drops the variable
    part so that contacts from live traffic, echoes, history and the address book merge.
    """
    d = digits(number)
    if d.startswith("55") and len(d) == 13 and d[4] == "9":
        return d[:4] + d[5:]
    if d.startswith("521") and len(d) == 13:
        return "52" + d[3:]
    return d


def same_number(a: str | None, b: str | None) -> bool:
    """Whether two spellings name the same phone number."""
    ka, kb = phone_key(a), phone_key(b)
    return bool(ka) and ka == kb


_BSUID = re.compile(r"^[A-Z]{2}\.(?:[A-Z]+\.)?[A-Za-z0-9]{1,128}$")


def is_bsuid(value: str | None) -> bool:
    """Business-scoped user id such as 'BR.1502576394655843' or 'US.ENT.11815799212886844830'."""
    return bool(value) and _BSUID.match(value or "") is not None
