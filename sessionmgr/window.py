"""A sliding window of weighted errors: health as a pure function of recent history."""

from __future__ import annotations

from collections import deque

__all__ = ["CountWindow", "HealthWindow"]


class HealthWindow:
    """Weighted events in the half-open window ``(t - span, t]``.

    Times are integers (nanoseconds) so that "exactly ``span`` old" is exact: an
    event at ``e`` counts at ``t`` iff ``t - span < e <= t``. Adding and asking
    are O(1) amortized; memory holds only what is inside the window.
    """

    __slots__ = ("_events", "_span", "_total")

    def __init__(self, span: int) -> None:
        if span <= 0:
            raise ValueError(f"span must be > 0, got {span}")
        self._span = span
        self._events: deque[tuple[int, float]] = deque()
        self._total = 0.0

    def __len__(self) -> int:
        return len(self._events)

    @property
    def first(self) -> int | None:
        """When the oldest event held happened, if any is held (it leaves the window ``span`` later)."""
        return self._events[0][0] if self._events else None

    @property
    def span(self) -> int:
        return self._span

    @property
    def last(self) -> int | None:
        """When the newest event happened, if any is held."""
        return self._events[-1][0] if self._events else None

    def add(self, t: int, weight: float = 1.0) -> None:
        """Record an event at ``t``; times must not go backwards."""
        if self._events and t < self._events[-1][0]:
            raise ValueError(f"events must come in time order: {t} < {self._events[-1][0]}")
        if weight:  # zero-weight events never change health; keep memory for the rest
            self._events.append((t, weight))
            self._total += weight
        self._evict(t)

    def weight(self, t: int) -> float:
        """The weighted count of events in ``(t - span, t]``; ``t`` is now or later."""
        self._evict(t)
        return self._total if self._events else 0.0

    def count(self, t: int) -> int:
        """How many weighted events are in the window at ``t``."""
        self._evict(t)
        return len(self._events)

    def drops_below(self, threshold: float, t: int) -> int | None:
        """The first instant after ``t`` when, with no new events, weight is below ``threshold``.

        ``None`` if it is already below at ``t``.
        """
        total = self.weight(t)
        if total < threshold:
            return None
        for when, weight in self._events:
            total -= weight
            if total < threshold:
                return when + self._span
        raise AssertionError("unreachable: the window empties eventually")  # pragma: no cover

    def clear(self) -> None:
        self._events.clear()
        self._total = 0.0

    def _evict(self, t: int) -> None:
        events = self._events
        horizon = t - self._span
        while events and events[0][0] <= horizon:
            self._total -= events.popleft()[1]
        if not events:
            self._total = 0.0  # no float dust left behind when the window empties


class CountWindow:
    """Events counted in the half-open window ``(t - span, t]``: a :class:`HealthWindow` whose weights are all 1.

    It keeps bare instants (no weight, no running total), so adding costs
    about half as much: the alerts' windows count every decrypt attempt.
    """

    __slots__ = ("_span", "_times")

    def __init__(self, span: int) -> None:
        if span <= 0:
            raise ValueError(f"span must be > 0, got {span}")
        self._span = span
        self._times: deque[int] = deque()

    def __len__(self) -> int:
        return len(self._times)

    @property
    def span(self) -> int:
        return self._span

    @property
    def first(self) -> int | None:
        """When the oldest event held happened, if any is held (it leaves the window ``span`` later)."""
        return self._times[0] if self._times else None

    @property
    def last(self) -> int | None:
        """When the newest event happened, if any is held."""
        return self._times[-1] if self._times else None

    def add(self, t: int) -> None:
        """Count an event at ``t``; times must not go backwards."""
        times = self._times
        if times:
            if t < times[-1]:
                raise ValueError(f"events must come in time order: {t} < {times[-1]}")
            if times[0] <= t - self._span:  # one look, not a call, when nothing leaves (most adds)
                self._evict(t)
        times.append(t)

    def count(self, t: int) -> int:
        """How many events are in the window at ``t``; ``t`` is now or later."""
        self._evict(t)
        return len(self._times)

    def _evict(self, t: int) -> None:
        times = self._times
        horizon = t - self._span
        while times and times[0] <= horizon:
            times.popleft()
