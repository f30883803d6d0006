"""How large a value read from a webhook may be: the record's columns are this wide.

The parsers refuse or drop what does not fit (docs/ingest.md), so SQLite, which does not enforce a
column's width or an integer's range, and PostgreSQL, which does, keep the same record.
"""

from __future__ import annotations

WAMID = 255  # a message id; also a reply's context.id and the target of an edit or reaction
MESSAGE_TYPE = 32
PHONE_DIGITS = 32  # a wa_id or phone number, counted in digits (what the record keeps)
USER_ID = 160  # a BSUID
MEDIA_ID = 128
HISTORY_STATUS = 16
ACCOUNT_EVENT = 64  # an account_update event name
ACCOUNT_REASON = 64  # disconnection_info.reason
INITIATED_BY = 16  # disconnection_info.initiated_by
LABEL = 64  # the field and phone_number_id an unknown item is listed under

INT32_MAX = 2**31 - 1  # history phase and progress
SAFE_INTEGER = 2**53
"""Integers from a webhook beyond ±2^53 are not read: JSON readers lose their last digits, and a time
that large overflows a BIGINT once in milliseconds."""
