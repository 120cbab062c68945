"""Numbers and times as a person reads them."""

from __future__ import annotations

import pytest

from sessionmgr.report.humanize import Clock, human_duration, percent, plural


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(465.155, "7 min 45 s"), (296.0, "4 min 56 s"), (2.0, "2 s"), (2.5, "2.5 s"), (45.2, "45 s"), (60, "1 min"),
     (3661, "1 h 1 min"), (86400, "1 d"), (90061, "1 d 1 h"), (None, "n/a")],
)  # fmt: skip
def test_human_duration(seconds: float | None, text: str) -> None:
    """Durations read as minutes and seconds (two units at most), never as raw seconds with decimals."""
    assert human_duration(seconds) == text


def test_plural_and_percent() -> None:
    """One spell, two spells; thousands grouped; ratios as percentages."""
    assert plural(1, "unhealthy spell") == "1 unhealthy spell"
    assert plural(0, "unhealthy spell") == "0 unhealthy spells"
    assert plural(2, "retry", "retries") == "2 retries"
    assert plural(48250, "message") == "48,250 messages"
    assert percent(0.999088) == "99.91 %" and percent(None) == "n/a"


def test_clock_turns_offsets_into_wall_times() -> None:
    """A report's period fixes its origin: offsets become clock times, with the date after the first day."""
    clock = Clock({"from": "2026-01-01T00:00:00.000Z", "to": "2026-01-02T00:00:00.000Z", "seconds": 86400.0})
    assert clock.label(43435.96) == "12:03:55"
    assert clock.label(86400) == "Jan 02 00:00:00"
    assert clock.full(43435.96) == "2026-01-01 12:03:55 UTC"
    assert clock.offset("2026-01-01T12:03:55.959Z") == pytest.approx(43435.959)


def test_clock_without_events_shows_offsets() -> None:
    """An empty report has no wall times to show, so offsets are shown as durations."""
    clock = Clock({"from": None, "to": None, "seconds": 0.0})
    assert clock.label(90) == "+1 min 30 s"
