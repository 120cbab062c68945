"""The health window's survivors: which spans it accepts, and what clearing it does."""

from __future__ import annotations

import pytest

from sessionmgr.window import HealthWindow


@pytest.mark.parametrize("span", [0, -1])
def test_a_span_of_zero_or_less_is_refused_with_the_span_in_the_message(span: int) -> None:
    """A window must span some time: 0 and negative spans raise 'span must be > 0, got <span>'."""
    with pytest.raises(ValueError, match=rf"^span must be > 0, got {span}$"):
        HealthWindow(span)


def test_the_shortest_window_of_one_nanosecond_works() -> None:
    """A 1 ns window holds an event at its own instant only."""
    window = HealthWindow(1)
    window.add(10, 2.0)
    assert window.weight(10) == 2.0 and window.weight(11) == 0.0


def test_clear_empties_the_window_and_its_weight() -> None:
    """After clear() nothing is held and the weight is 0; an event added right after counts alone."""
    window = HealthWindow(100)
    window.add(1, 3.0)
    window.add(2, 1.5)
    window.clear()
    assert len(window) == 0 and window.last is None
    window.add(4, 1.0)  # no query in between: clear() itself must have zeroed the total
    assert window.weight(4) == 1.0 and window.count(4) == 1
    fresh = HealthWindow(100)
    fresh.add(1, 2.0)
    fresh.clear()
    assert fresh.weight(1) == 0.0 and fresh.count(1) == 0


def test_first_and_span_say_when_the_oldest_event_leaves() -> None:
    """first is the oldest held event's time (None when empty) and span the window's length, so it leaves at first + span."""
    window = HealthWindow(100)
    assert window.first is None and window.span == 100
    window.add(5, 1.0)
    window.add(7, 1.0)
    assert window.first == 5
    assert window.count(105) == 1 and window.first == 7  # the event at 5 left at 5 + 100
