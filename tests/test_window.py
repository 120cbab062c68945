"""The health window against a brute-force oracle, biased to its edges."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionmgr.window import CountWindow, HealthWindow

SPAN = 300_000_000_000  # 300 s in ns
MS = 1_000_000


def oracle(events: list[tuple[int, float]], t: int, span: int = SPAN) -> float:
    """The definition, literally: the weight of events e with t - span < e <= t."""
    return sum(w for e, w in events if t - span < e <= t)


# Gaps biased to the thresholds: exactly the span, a millisecond either side, and zero.
gaps = st.one_of(
    st.sampled_from([0, 1, MS, SPAN, SPAN - MS, SPAN + MS, SPAN - 1, SPAN + 1]),
    st.integers(min_value=0, max_value=2 * SPAN),
)
weights = st.sampled_from([0.0, 1.0, 1.0, 1.0, 2.0, 0.5])


@given(steps=st.lists(st.tuples(gaps, weights, gaps), min_size=1, max_size=60))
def test_window_matches_oracle(steps: list[tuple[int, float, int]]) -> None:
    """At every query time, the window's weight equals the brute-force sum."""
    window = HealthWindow(SPAN)
    events: list[tuple[int, float]] = []
    t = 0
    for gap, weight, look_ahead in steps:
        t += gap
        window.add(t, weight)
        events.append((t, weight))
        assert window.weight(t) == pytest.approx(oracle(events, t))
        probe = t + look_ahead
        assert window.weight(probe) == pytest.approx(oracle(events, probe))
        t = probe


@given(steps=st.lists(st.tuples(gaps, weights), min_size=1, max_size=40), threshold=st.sampled_from([1.0, 2.0, 5.0]))
def test_drops_below_is_the_first_instant_under_threshold(steps: list[tuple[int, float]], threshold: float) -> None:
    """drops_below gives the exact instant the oracle first falls under the threshold."""
    window = HealthWindow(SPAN)
    events: list[tuple[int, float]] = []
    t = 0
    for gap, weight in steps:
        t += gap
        window.add(t, weight)
        events.append((t, weight))
    when = window.drops_below(threshold, t)
    if oracle(events, t) < threshold:
        assert when is None
        return
    assert when is not None
    assert oracle(events, when) < threshold
    assert oracle(events, when - 1) >= threshold


def test_exactly_300_s_old_no_longer_counts() -> None:
    """An error exactly one span old has left the window; one nanosecond younger has not."""
    window = HealthWindow(SPAN)
    window.add(0)
    assert window.weight(SPAN - 1) == 1
    assert window.weight(SPAN) == 0


def test_memory_is_bounded_by_the_window() -> None:
    """A long history keeps only what is inside the window."""
    window = HealthWindow(SPAN)
    for i in range(100_000):
        window.add(i * MS * 100)  # one event every 100 ms for ~2.8 hours
    assert len(window) == 3000


def test_time_cannot_go_back() -> None:
    """Out-of-order events are refused with the two times named."""
    window = HealthWindow(SPAN)
    window.add(10)
    with pytest.raises(ValueError, match="5 < 10"):
        window.add(5)


def test_zero_weight_is_not_kept() -> None:
    """Zero-weight events (duplicates) take no memory and change nothing."""
    window = HealthWindow(SPAN)
    for i in range(100):
        window.add(i, 0.0)
    assert len(window) == 0 and window.weight(100) == 0


@given(
    st.lists(st.integers(0, 2_000), max_size=30),
    st.lists(st.integers(0, 2_000), min_size=1, max_size=30),
    st.integers(1, 500),
)
def test_a_count_window_is_a_health_window_of_unit_weights(before: list[int], batch: list[int], span: int) -> None:
    """It counts, starts and ends as a HealthWindow whose every weight is 1."""
    before, batch = sorted(before), sorted(batch)
    batch = [t + (before[-1] if before else 0) for t in batch]
    health, count = HealthWindow(span), CountWindow(span)
    for t in before:
        health.add(t)
        count.add(t)
    for t in batch:
        health.add(t)
        count.add(t)
    assert (len(health), health.first, health.last) == (len(count), count.first, count.last)
    for t in (batch[-1], batch[-1] + span // 2, batch[-1] + span):
        assert health.count(t) == count.count(t) == health.weight(t)


def test_a_count_window_refuses_instants_out_of_order() -> None:
    """Out of order is an error, as for a HealthWindow."""
    window = CountWindow(10)
    window.add(5)
    with pytest.raises(ValueError, match="time order"):
        window.add(4)
    with pytest.raises(ValueError, match="span must be > 0"):
        CountWindow(0)
