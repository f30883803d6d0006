"""Lenient readers shared by the per-field parsers: numbers that may be strings, ids, text, contacts.

Meta documents timestamps as strings but types them as integers, 360dialog quotes phase and
progress (spec §8 C-12), so every number is read with `to_int`. Nothing here raises on any JSON.
Values the record cannot keep as they are (domain.limits) are refused here, the same way whichever
database stores the record.
"""

from __future__ import annotations

import math
from typing import Any

from wacoex.domain import limits
from wacoex.domain.conversation import TEXT_KEYS
from wacoex.domain.facts import JSON, AnyFact, ContactProfile, ErrorsReported, Source, Unknown
from wacoex.domain.ids import digits

_TEXT_KEY = TEXT_KEYS


def to_int(value: Any) -> int | None:
    """An int from an int or a numeric string ("1739230955", "1", "1.0"); None for anything else.

    None too beyond ±2^53 (limits.SAFE_INTEGER): no time, phase or count WhatsApp sends is that large.
    """
    kind = type(value)
    if kind is int:
        number: Any = value
    elif kind is str:
        try:
            number = int(value)
        except ValueError:
            try:
                number = float(value)
            except ValueError:
                return None
    elif kind is float:
        number = value
    else:
        return None
    if type(number) is float:
        if not math.isfinite(number):
            return None
        number = int(number)
    return number if -limits.SAFE_INTEGER <= number <= limits.SAFE_INTEGER else None


def to_int32(value: Any) -> int | None:
    """`to_int` within a 32-bit column's range (history phase and progress), else None."""
    number = to_int(value)
    return number if number is not None and abs(number) <= limits.INT32_MAX else None


def to_str(value: Any) -> str | None:
    """A string id from a string or an integer (ids are strings, but a number is still an id)."""
    kind = type(value)
    if kind is str:
        return value
    if kind is int:
        try:
            return str(value)
        except ValueError:  # more digits than Python converts by default: not an id
            return None
    return None


def opt_str(value: Any) -> str | None:
    return value if type(value) is str else None


def bounded(value: Any, limit: int) -> str | None:
    """A string of at most `limit` characters (a reference or label the record keeps), else None."""
    return value if type(value) is str and len(value) <= limit else None


def phone_or_none(value: Any) -> str | None:
    """A phone number (`to_str`) that fits the record (limits.PHONE_DIGITS digits), else None."""
    number = to_str(value)
    return number if number and len(digits(number)) <= limits.PHONE_DIGITS else None


def identity_problem(phone_field: str, phone: str | None, user_field: str, user_id: str | None) -> str | None:
    """Why a person's phone number or BSUID cannot be kept (longer than the record keeps), or None.

    An item naming its person by a value we would have to cut is refused whole: a cut identity
    would name somebody else.
    """
    if phone and len(digits(phone)) > limits.PHONE_DIGITS:
        return f"{phone_field} has more than {limits.PHONE_DIGITS} digits"
    if user_id and len(user_id) > limits.USER_ID:
        return f"{user_field} is longer than {limits.USER_ID} characters"
    return None


def opt_dict(value: Any) -> JSON | None:
    return value if type(value) is dict else None


def dicts(value: Any) -> tuple[JSON, ...]:
    """The dict items of a list (errors[] and the like); anything else is ()."""
    if type(value) is not list:
        return ()
    return tuple(item for item in value if type(item) is dict)


def make_source(field: str, waba_id: str | None, value: JSON, entry_time: int | None) -> Source:
    metadata = value.get("metadata")
    if type(metadata) is dict:
        return Source(
            field=field,
            waba_id=waba_id,
            phone_number_id=to_str(metadata.get("phone_number_id")),
            display_phone_number=to_str(metadata.get("display_phone_number")),
            entry_time=entry_time,
        )
    return Source(field=field, waba_id=waba_id, entry_time=entry_time)


def item_head(item: Any, where: str, source: Source) -> tuple[JSON, str, str, int | None] | Unknown:
    """The id and type every message-like item needs (or Unknown saying which is missing), and its time.

    A missing or unreadable timestamp is None, not a reason to drop the item: the service applies it
    with the time the webhook was received, and says so.
    """
    if type(item) is not dict:
        return Unknown(source=source, reason=f"{where}: not an object", raw=item)
    wamid = item.get("id")
    if type(wamid) is not str or not wamid:
        return Unknown(source=source, reason=f"{where}: missing or non-string id", raw=item)
    if len(wamid) > limits.WAMID:
        return Unknown(source=source, reason=f"{where}: id longer than {limits.WAMID} characters", raw=item)
    msg_type = item.get("type")
    if type(msg_type) is not str:
        return Unknown(source=source, reason=f"{where}: missing or non-string type", raw=item)
    if len(msg_type) > limits.MESSAGE_TYPE:
        reason = f"{where}: type longer than {limits.MESSAGE_TYPE} characters"
        return Unknown(source=source, reason=reason, raw=item)
    # None when missing or unreadable: applied at the receipt's time, and noted.
    return item, wamid, msg_type, to_int(item.get("timestamp"))


def message_text(msg_type: Any, content: Any) -> str | None:
    """What a person reads: body for text, caption for media, the reply title, the button text.

    For an edit, the text of the nested new version of the message.
    """
    text = _direct_text(msg_type, content)
    if text is None and msg_type == "edit" and type(content) is dict:
        nested = content.get("message")
        if type(nested) is dict:
            nested_type = nested.get("type")
            if type(nested_type) is str and nested_type != "edit":
                return _direct_text(nested_type, nested.get(nested_type))
    return text


def _direct_text(msg_type: Any, content: Any) -> str | None:
    if type(content) is not dict or type(msg_type) is not str:
        return None
    key = _TEXT_KEY.get(msg_type)
    if key is not None:
        value = content.get(key)
    elif msg_type == "interactive":
        reply = content.get(content.get("type")) if type(content.get("type")) is str else None
        if type(reply) is not dict:
            return None
        value = reply.get("title")
        if type(value) is not str:
            value = reply.get("body")
    elif msg_type == "button":
        value = content.get("text")
    elif msg_type == "order":
        value = content.get("text") or None
    else:
        return None
    return value if type(value) is str else None


def value_errors(value: JSON, source: Source) -> list[AnyFact]:
    """Out-of-band `value.errors[]` (not tied to one message) as a fact; [] when absent."""
    errors = value.get("errors")
    if errors is None:
        return []
    found = dicts(errors)
    if not found:
        return [Unknown(source=source, reason="errors: not a list of objects", raw=errors)]
    return [ErrorsReported(source=source, errors=found)]


class Contacts:
    """`value.contacts[]` indexed by wa_id and BSUID, to attach profile names and user ids to items."""

    __slots__ = ("_by_user_id", "_by_wa_id", "_only")

    def __init__(self, raw: Any) -> None:
        self._by_wa_id: dict[str, ContactProfile] = {}
        self._by_user_id: dict[str, ContactProfile] = {}
        self._only: ContactProfile | None = None
        if type(raw) is not list:
            return
        profiles = [_profile(item) for item in raw if type(item) is dict]
        for profile in profiles:
            if profile.wa_id:
                self._by_wa_id.setdefault(digits(profile.wa_id), profile)
            if profile.user_id:
                self._by_user_id.setdefault(profile.user_id, profile)
        if len(profiles) == 1:
            self._only = profiles[0]

    def match(self, wa_id: str | None, user_id: str | None, sole_item: bool) -> ContactProfile | None:
        """The contact for an item: by wa_id, then by BSUID; the only contact for the only item."""
        if wa_id:
            found = self._by_wa_id.get(wa_id) or self._by_wa_id.get(digits(wa_id))
            if found is not None:
                return found
        if user_id:
            found = self._by_user_id.get(user_id)
            if found is not None:
                return found
        if sole_item and self._only is not None:
            only = self._only
            # Never pin a contact that names somebody else on an item that names its own person.
            if wa_id and only.wa_id and digits(only.wa_id) != digits(wa_id):
                return None
            if user_id and only.user_id and only.user_id != user_id:
                return None
            return only
        return None


def _profile(item: JSON) -> ContactProfile:
    profile = item.get("profile")
    name = profile.get("name") if type(profile) is dict else None
    return ContactProfile(
        wa_id=phone_or_none(item.get("wa_id")),
        user_id=bounded(item.get("user_id"), limits.USER_ID) or None,
        parent_user_id=opt_str(item.get("parent_user_id")) or None,
        profile_name=opt_str(name),
    )


def item_profile(
    contacts: Contacts,
    wa_id: str | None,
    user_id: str | None,
    parent_user_id: str | None,
    sole_item: bool,
) -> ContactProfile | None:
    """The matched contact, else one built from the item's own BSUID fields when it has any."""
    found = contacts.match(wa_id, user_id, sole_item)
    if found is not None:
        return found
    if user_id or parent_user_id:
        return ContactProfile(wa_id=wa_id, user_id=user_id, parent_user_id=parent_user_id)
    return None
