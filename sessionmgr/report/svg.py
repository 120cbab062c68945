"""Small pieces for hand-made SVG plots: nice steps, time ticks, escaping.

The report's plots are drawn here rather than with a plotting library: the
page must be self-contained and light, and a few hundred rectangles need no
runtime (see docs/report.md).
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterator
from typing import Final

from sessionmgr.report.humanize import Clock

__all__ = ["esc", "nice_ceiling", "time_step", "time_ticks"]

# Steps a time axis may use, in seconds: each lands on round clock times.
_TIME_STEPS: Final = (60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800)


def esc(text: object) -> str:
    """``text`` safe inside SVG/HTML text and attribute values."""
    return html.escape(str(text), quote=True)


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten that is at least ``value`` (1 for nothing)."""
    if value <= 1:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 5, 10):
        if factor * power >= value:
            return float(factor * power)
    return float(10 * power)


def time_step(span: float, most: int) -> int:
    """The smallest step from the list that cuts ``span`` seconds into at most ``most`` pieces."""
    for step in _TIME_STEPS:
        if span / step <= most:
            return step
    return _TIME_STEPS[-1]


def time_ticks(clock: Clock, span: float, most: int = 8) -> Iterator[tuple[float, str]]:
    """Offsets of round clock times within ``[0, span]``, with their labels (``"14:00"``, ``"Jan 02"``)."""
    step = time_step(span, most)
    start = 0.0
    if clock.origin is not None:
        epoch = clock.origin.timestamp()
        start = math.ceil(epoch / step) * step - epoch
    t = start
    while t <= span + 1e-6:
        label = clock.label(t, seconds=False)
        at = clock.at(t)
        if at is not None and at.hour == 0 and at.minute == 0 and step >= 3600:
            label = at.strftime("%b %d")
        yield t, label
        t += step
