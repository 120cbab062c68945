"""Quiet batches: observations the manager judges quiet, taken many at once, change nothing a subscriber can see."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from harness.replay import ReplayResult, run_replay
from sessionmgr import DecryptError, DecryptOk, Event, MockBackend, SessionManager
from sessionmgr.bus import QuietRun
from sessionmgr.categories import Category
from sessionmgr.trace.readers import Reader

START = datetime(2026, 1, 1, tzinfo=UTC)
SESSIONS = ("bot-0", "bot-1", "4915112345678")  # the last is renamed on the way in: a copy, not the line's event
PEERS = ("peer-a", "peer-b", "peer-c")
IDS = (None, "M1", "M2", "M3")
#: seconds between lines: same instant, close, the ladder's and the windows' edges, idle stretches, a step back
GAPS = (0.0, 0.0, 0.001, 0.5, 3.0, 11.0, 61.0, 299.0, 301.0, 900.0, 4_000.0, -0.5)

_OK = st.builds(
    lambda s, p, m: {"kind": "decrypt_ok", "session": s, "peer": p, "message_type": "msg", "message_id": m},
    st.sampled_from(SESSIONS), st.sampled_from(PEERS), st.sampled_from(IDS),
)  # fmt: skip
_ERROR = st.builds(
    lambda s, p, m, c: {"kind": "decrypt_error", "session": s, "peer": p, "error": "Bad MAC", "message_type": "msg",
                        "category": c, "message_id": m},
    st.sampled_from(SESSIONS), st.sampled_from(PEERS), st.sampled_from(IDS),
    st.sampled_from(["bad_mac", "bad_mac", "duplicate", "no_session", "unavailable"]),
)  # fmt: skip
_OTHER = st.one_of(
    st.builds(lambda s, o: {"kind": "connection", "session": s, "open": o}, st.sampled_from(SESSIONS), st.booleans()),
    st.builds(
        lambda s, p, m: {"kind": "phone_answered", "session": s, "peer": p, "message_id": m},
        st.sampled_from(SESSIONS),
        st.sampled_from(PEERS),
        st.sampled_from(IDS[1:]),
    ),
    st.builds(
        lambda s, o: {"kind": "phone_status", "session": s, "online": o}, st.sampled_from(SESSIONS), st.booleans()
    ),
)
#: a trace as (gap, record) steps: mostly successes, as real traffic is
_TRACES = st.lists(
    st.tuples(st.sampled_from(GAPS), st.one_of(_OK, _OK, _OK, _ERROR, _ERROR, _OTHER)), min_size=1, max_size=150
)


def _lines(steps: Sequence[tuple[float, dict[str, Any]]]) -> list[str]:
    lines = [json.dumps({"schema": "sessionmgr.trace/1", "origin": START.isoformat()})]
    t = 0.0
    for gap, record in steps:
        t = max(0.0, t + gap)
        stamp = (START + timedelta(seconds=t)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        lines.append(json.dumps({"t": stamp, **{k: v for k, v in record.items() if v is not None}}))
    return lines


def _replay(lines: list[str], *, batches: bool, keep_events: bool = True) -> ReplayResult:
    """``keep_events``: a subscriber wants the events, so batches hold events; else they are quiet runs (columns)."""
    return run_replay([Reader("random.trace.jsonl", lines=lines)], keep_events=keep_events, batches=batches)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TRACES)
@example([(0.0, {"kind": "decrypt_ok", "session": "bot-0", "peer": "peer-a"})] * 5)
@example(
    [(0.0, {"kind": "decrypt_error", "session": "bot-0", "peer": "peer-a", "error": "Bad MAC", "category": "bad_mac",
            "message_id": "M1"}),
     (0.5, {"kind": "decrypt_ok", "session": "bot-0", "peer": "peer-a", "message_id": "M1"}),
     (0.5, {"kind": "decrypt_ok", "session": "bot-0", "peer": "peer-a", "message_id": "M1"})]
)  # fmt: skip
@example([(4_000.0, {"kind": "decrypt_ok", "session": "bot-1", "peer": "peer-b"})] * 4)  # idle jobs wake each time
def test_batches_give_the_same_events_and_report_as_one_by_one(steps: list[tuple[float, dict[str, Any]]]) -> None:
    """Same events (kinds, fields, instants, stamps, order) and a byte-identical report on random traces.

    Batches of events (a subscriber keeps them) and quiet runs (every subscriber takes columns) alike.
    """
    lines = _lines(steps)
    one_by_one, batched = _replay(lines, batches=False), _replay(lines, batches=True)
    in_columns = _replay(lines, batches=True, keep_events=False)
    assert one_by_one.batched == 0
    assert batched.events == one_by_one.events
    report = json.dumps(one_by_one.report, sort_keys=True)
    assert json.dumps(batched.report, sort_keys=True) == report
    assert json.dumps(in_columns.report, sort_keys=True) == report
    assert in_columns.batched == batched.batched
    stats = one_by_one.parts.recorder.stats.snapshot().to_dict()
    assert in_columns.parts.recorder.stats.snapshot().to_dict() == stats


@pytest.mark.parametrize("keep_events", [True, False], ids=["events", "quiet runs"])
def test_most_of_a_quiet_trace_goes_in_batches(keep_events: bool) -> None:
    """Successes with no open message to resolve are taken in batches (the property above is not vacuous)."""
    steps = [(0.5, {"kind": "decrypt_ok", "session": SESSIONS[i % 3], "peer": "peer-a"}) for i in range(200)]
    result = _replay(_lines(steps), batches=True, keep_events=keep_events)
    assert 190 <= result.batched <= 200
    assert result.parts.recorder.stats.snapshot().overall.decrypt_ok == 200


async def _manager() -> SessionManager:
    manager = SessionManager(MockBackend())
    await manager.start()
    return manager


@pytest.mark.virtual_time
async def test_a_success_that_resolves_an_open_message_is_not_quiet() -> None:
    """It closes a message (an outcome is decided): the manager takes it one by one."""
    manager = await _manager()
    await asyncio.sleep(1)  # the periodic jobs run and go to sleep only after a quiet stretch: be past start
    manager.observe_nowait(DecryptError(session="s", peer="p", message_id="M1", error="Bad MAC",
                                        category=Category.BAD_MAC))  # fmt: skip
    await asyncio.sleep(0)
    batch = manager.quiet_batch()
    assert not batch.offer(DecryptOk(session="s", peer="p", message_id="M1"))
    assert not batch.offer(DecryptError(session="s", peer="p", error="Bad MAC", category=Category.BAD_MAC))
    assert batch.offer(DecryptOk(session="s", peer="p", message_id="M2"))
    assert batch.offer(DecryptOk(session="s", peer="p"))
    assert len(batch) == 2
    batch.flush()
    assert len(batch) == 0
    assert manager.get_session_stats().sessions["s"].decrypt_ok == 2
    await manager.aclose()


@pytest.mark.virtual_time
async def test_nothing_is_quiet_while_a_periodic_job_sleeps_until_activity() -> None:
    """After an idle stretch the next event wakes the health monitor, which must run before the one after."""
    manager = await _manager()
    manager.observe_nowait(DecryptOk(session="s"))
    await asyncio.sleep(3_600)  # long enough for every periodic job to find nothing to do and sleep
    batch = manager.quiet_batch()
    assert not batch.offer(DecryptOk(session="s"))
    manager.observe_nowait(DecryptOk(session="s"))
    await asyncio.sleep(0)  # the woken jobs run
    assert batch.offer(DecryptOk(session="s"))
    batch.flush()
    await manager.aclose()


@pytest.mark.virtual_time
async def test_a_batch_is_published_when_it_reaches_its_limit() -> None:
    """Memory stays bounded however many quiet events come between two awaits."""
    manager = await _manager()
    seen: list[Event] = []
    manager.bus.subscribe(seen.append)
    batch = manager.quiet_batch()
    for _ in range(4096):
        assert batch.offer(DecryptOk(session="s"))
    assert len(seen) == 4096 and len(batch) == 0
    await manager.aclose()


@pytest.mark.virtual_time
async def test_a_run_in_columns_is_published_at_its_limit_and_counted() -> None:
    """With every subscriber taking quiet runs, the batch keeps columns, bounded like events."""
    manager = await _manager()
    runs: list[QuietRun] = []
    manager.bus.subscribe(lambda e: None, quiet=runs.append)
    batch = manager.quiet_batch()
    for _ in range(4097):
        assert batch.offer(DecryptOk(session="4915112345678"))
    assert [len(run) for run in runs] == [4096] and len(batch) == 1
    batch.flush()
    assert [len(run) for run in runs] == [4096, 1]
    assert set(runs[0].sessions) == {manager.pseudonymizer.session("4915112345678")} != {"4915112345678"}
    assert manager.get_session_stats().overall.decrypt_ok == 4097
    await manager.aclose()


@pytest.mark.virtual_time
async def test_an_event_not_yet_at_its_instant_is_not_taken_and_the_clock_stays() -> None:
    """When ``advance`` says something must run first, the batch refuses the event and the clock has not moved."""
    manager = await _manager()
    loop = asyncio.get_running_loop()
    asked: list[float] = []

    def advance(at: float) -> bool:
        asked.append(at)
        return False

    batch = manager.quiet_batch(advance=advance)
    now = loop.time()
    assert not batch.offer(DecryptOk(session="s"), now + 5)
    assert asked == [now + 5] and loop.time() == now and len(batch) == 0
    assert not batch.offer(DecryptError(session="s", error="Bad MAC", category=Category.BAD_MAC), now + 6)
    assert asked == [now + 5]  # not quiet: the clock is not even asked
    await manager.aclose()
