"""The number's and the history import's state rules, pure."""

from __future__ import annotations

import pytest

from wacoex.domain.lifecycle import (
    HISTORY_FROM,
    NUMBER_TRANSITIONS,
    HistoryState,
    NumberState,
    history_after_chunk,
    next_state,
)


@pytest.mark.parametrize(("event", "state"), sorted(NUMBER_TRANSITIONS.items()))
def test_each_account_event_moves_the_number_to_its_state(event: str, state: NumberState) -> None:
    assert next_state(event, 2_000, None) is state
    assert next_state(event, 2_000, 2_000) is state  # the same time: a replay applies again, harmlessly
    assert next_state(event, 2_000, 1_999) is state


@pytest.mark.parametrize("event", sorted(NUMBER_TRANSITIONS))
def test_an_event_older_than_the_current_state_is_fenced(event: str) -> None:
    assert next_state(event, 1_000, 1_001) is None


def test_events_that_move_no_state() -> None:
    assert next_state("PARTNER_APP_INSTALLED", 5, None) is None
    assert next_state("", 5, None) is None


def test_history_goes_forward_only_and_its_ends_are_final() -> None:
    reachable = {(source, target) for target, sources in HISTORY_FROM.items() for source in sources}
    assert reachable == {
        (HistoryState.NONE, HistoryState.IN_PROGRESS),
        (HistoryState.NONE, HistoryState.COMPLETE),
        (HistoryState.IN_PROGRESS, HistoryState.COMPLETE),
        (HistoryState.NONE, HistoryState.DECLINED),
        (HistoryState.IN_PROGRESS, HistoryState.DECLINED),
    }
    for final in (HistoryState.COMPLETE, HistoryState.DECLINED):
        assert all(final not in sources for sources in HISTORY_FROM.values())


@pytest.mark.parametrize(
    ("progress", "declined", "state"),
    [
        (None, False, HistoryState.IN_PROGRESS),
        (0, False, HistoryState.IN_PROGRESS),
        (99, False, HistoryState.IN_PROGRESS),
        (100, False, HistoryState.COMPLETE),
        (100, True, HistoryState.DECLINED),
        (None, True, HistoryState.DECLINED),
    ],
)
def test_what_a_chunk_asks_for(progress: int | None, declined: bool, state: HistoryState) -> None:
    assert history_after_chunk(progress, declined) is state
