"""Cursors: their OpenAPI pattern is exact, so what matches decodes and what decodes matches."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wacoex.errors import InvalidInput
from wacoex.web.api.cursor import BY_ID, BY_TIME_ID, BY_TIME_WAMID, INT64_MAX, INT64_MIN, Shape

SHAPES = [BY_ID, BY_TIME_ID, BY_TIME_WAMID]
int64 = st.integers(INT64_MIN, INT64_MAX)
# A wamid as the column holds it: up to 255 characters, never NUL (PostgreSQL text cannot hold one).
wamid = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"]), max_size=255)


@given(st.tuples(int64, int64), st.tuples(int64, wamid))
def test_every_key_round_trips_through_a_cursor_that_matches_the_pattern(
    time_id: tuple[int, int], time_wamid: tuple[int, str]
) -> None:
    for shape, key in [(BY_ID, time_id[:1]), (BY_TIME_ID, time_id), (BY_TIME_WAMID, time_wamid)]:
        cursor = shape.encode(*key)
        assert len(cursor) <= shape.max_length
        assert shape.decode(cursor) == key


@pytest.mark.parametrize("shape", SHAPES)
def test_every_string_matching_the_pattern_is_a_cursor(shape: Shape) -> None:
    @given(st.from_regex(shape.pattern, fullmatch=True).filter(lambda s: len(s) <= shape.max_length))
    def decodes(cursor: str) -> None:
        key = shape.decode(cursor)
        if cursor == "":
            assert key is None
            return
        assert key is not None
        assert all(INT64_MIN <= v <= INT64_MAX for v in key if isinstance(v, int))
        assert not any("\x00" in v for v in key if isinstance(v, str))

    decodes()


@pytest.mark.parametrize("cursor", ["8000000000000000\n", "g" * 16, "8" * 15, "8" * 17, " 8000000000000000"])
def test_anything_else_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidInput):
        BY_ID.decode(cursor)
