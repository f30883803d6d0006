"""The virtual clock: real time by default, advanced on demand, running what falls due in order."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.emulator.conftest import Emu
from wacoex.emulator.clock import Clock, parse_duration

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("+24h", 86400.0),
        ("+14d", 14 * 86400.0),
        ("90s", 90.0),
        ("5m", 300.0),
        ("2w", 1209600.0),
        ("+1d 2h", 93600.0),
        ("12", 12.0),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_parse_duration_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("tomorrow")


def test_real_time_by_default() -> None:
    clock = Clock()
    assert abs(clock.now() - time.time()) < 0.5
    clock.advance(3600)
    assert abs(clock.now() - time.time() - 3600) < 0.5


async def test_advance_runs_timers_at_their_own_instants_and_then_hooks() -> None:
    clock = Clock(1000.0, frozen=True)
    seen: list[tuple[str, float]] = []
    clock.call_at(1010.0, lambda: seen.append(("b", clock.now())))
    clock.call_at(1005.0, lambda: seen.append(("a", clock.now())))

    async def later() -> None:
        seen.append(("c", clock.now()))
        clock.call_later(1.0, lambda: seen.append(("d", clock.now())))

    clock.call_at(1020.0, later)
    clock.on_advance(lambda now: seen.append(("hook", now)))
    clock.call_at(2000.0, lambda: seen.append(("never", clock.now())))
    ran = await clock.advance_by(60)
    assert seen == [("a", 1005.0), ("b", 1010.0), ("c", 1020.0), ("d", 1021.0), ("hook", 1060.0)]
    assert ran == 4
    assert clock.now() == 1060.0
    assert clock.pending == 1


async def test_cancelled_timers_do_not_run() -> None:
    clock = Clock(0.0, frozen=True)
    seen: list[int] = []
    handle = clock.call_at(1.0, lambda: seen.append(1))
    handle.cancel()
    await clock.advance_by(5)
    assert seen == []


async def test_background_runner_fires_timers_in_real_time() -> None:
    clock = Clock()
    fired = asyncio.Event()
    clock.call_later(0.05, fired.set)
    task = asyncio.create_task(clock.run_forever())
    try:
        await asyncio.wait_for(fired.wait(), timeout=2)
    finally:
        task.cancel()


async def test_clock_routes_advance_and_report(emu: Emu) -> None:
    before = await emu.control.clock()
    assert before["frozen"] is True
    after = await emu.control.advance("+14d")
    assert after["now"] == before["now"] + 14 * 86400
    assert (await emu.control.advance(30))["now"] == after["now"] + 30
    bad = await emu.http.post("/_emulator/clock/advance", json={"by": "soon"})
    assert bad.status_code == 422


async def test_fourteen_days_without_opening_the_app_disconnects_the_number(emu: Emu) -> None:
    await emu.coex_number()
    await emu.control.advance("+15d")
    updates = emu.receiver.values("account_update")
    assert any(u.get("disconnection_info", {}).get("reason") == "PRIMARY_INACTIVITY" for u in updates)
