"""Replay's time guard: a line dated far outside its file's range is rejected, out-of-order lines are counted.

A captured log may hold a line whose time cannot belong: a clock that jumped
for one line, a fuzzed or corrupted timestamp (``2126-…``, ``1970-…``). A
file may also pause for months and go on. The two look alike at the far line
itself; what tells them apart is the lines around it:

- *far* means more than :data:`LIMIT` (30 days) from the line before it in its
  own file, or more than :data:`PACE` times the file's own pace there (the
  longest gap between consecutive lines among the :data:`LOOKAHEAD` lines on
  either side), whichever is more: a file that logs once a month is not far
  off every month;
- a far line is judged by the next :data:`LOOKAHEAD` timed lines of its file:
  if more of them lie near it than near the line before it, the file really
  went on from there and the line is replayed (skipping the empty stretch costs
  nothing: the periodic ticks skip idle time); otherwise it is a lone outlier
  between neighbours that agree, and it is rejected with its file, line and
  reason. A far line that no later line follows is rejected too: nothing
  vouches for it;
- the first line is judged against the (lower) median of the file's first
  lines, so a first line dated far off does not become the yardstick that
  every later line is measured from.

Lines are judged per file, before the files are merged by time: one file's far
line must not hold back the rest of that file behind every other file.

A line dated before an earlier line of its file is replayed at the current
instant (virtual time does not go back) and counted as ``out_of_order``: a
reversed file says so instead of silently putting every event at one instant.
A line dated exactly like the one before it is not re-timed and not counted
(many logs print times to the second). Lines that printed no time are neither
judged nor counted.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any, Final

from sessionmgr.clock import iso_z
from sessionmgr.events import DecryptError
from sessionmgr.trace.lines import Located, ReadError
from sessionmgr.trace.readers import Reader

__all__ = ["LIMIT", "LOOKAHEAD", "PACE", "TimeGuard"]

#: How far (seconds) a line may lie from the line before it before the lines after it are asked: 30 days.
LIMIT: Final = 30 * 86_400.0
#: How many timed lines after a far one are asked (and how many first lines set the first yardstick).
LOOKAHEAD: Final = 8
#: A line is far when it is more than this many times the file's pace away (or more than LIMIT).
PACE: Final = 10
# Untimed lines read ahead while looking for the timed ones: bounded, so memory stays bounded.
_MAX_AHEAD: Final = 1_000


class TimeGuard:
    """Judges each file's times as it is read; ``limit=None`` turns the rejection off (counting stays)."""

    def __init__(self, limit: float | None = LIMIT) -> None:
        self.limit = limit
        self._span = timedelta(seconds=limit) if limit is not None else None
        #: lines dated before an earlier line of the same file, per file
        self.out_of_order: Counter[str] = Counter()

    def merged(self, readers: Iterable[Reader]) -> Iterator[Located]:
        """The files' events, each file judged on its own, merged by time (as ``readers.merge`` does)."""
        judged = [self.judged(r) for r in readers]
        if len(judged) == 1:  # what heapq.merge yields of one stream, without its hop per event
            return judged[0]
        return heapq.merge(*judged, key=lambda located: located.event.at)

    def judged(self, reader: Reader) -> Iterator[Located]:
        """One file's events without the far-off lines (moved to its rejected lines), out-of-order ones counted."""
        items = iter(reader)
        ahead: deque[Located] = deque()

        def times_ahead(count: int) -> list[datetime]:
            times = [item.event.at for item in ahead if not item.untimed]
            while len(times) < count and len(ahead) < _MAX_AHEAD:
                item = next(items, None)
                if item is None:
                    break
                ahead.append(item)
                if not item.untimed:
                    times.append(item.event.at)
            return times[:count]

        span = self._span
        previous: datetime | None = None  # the time of the last line let through
        latest: datetime | None = None
        recent: deque[datetime] = deque(maxlen=LOOKAHEAD)  # the last lines let through
        # A line inside [lo, hi] (half a span around a line let through, which `previous` lies in
        # too) is within a span of `previous`: no arithmetic on most lines, only two comparisons.
        lo: datetime | None = None
        hi: datetime | None = None
        for read in items:
            # The common line, inline: nothing read ahead, timed, within half a span of the last line
            # let through (lo and hi are set only with a span, and then `latest` is too): let through.
            if not ahead and not read.untimed and lo is not None and hi is not None and latest is not None:
                at = read.event.at
                if lo <= at <= hi:
                    previous = at
                    recent.append(at)
                    if at < latest:
                        self.out_of_order[reader.path] += 1
                    else:
                        latest = at
                    yield read
                    continue
            ahead.append(read)
            while ahead:
                item = ahead.popleft()
                if item.untimed:
                    yield item
                    continue
                at = item.event.at
                if span is not None and (lo is None or hi is None or not lo <= at <= hi):
                    first = previous is None
                    if previous is None:
                        head = sorted([at, *times_ahead(LOOKAHEAD - 1)])
                        previous = head[(len(head) - 1) // 2]
                    if abs(at - previous) > span:
                        following = times_ahead(LOOKAHEAD)
                        wide = max(span, PACE * _pace([*recent, previous]), PACE * _pace(following))
                        if abs(at - previous) > wide:
                            with_it = sum(abs(t - at) <= wide for t in following)
                            with_before = sum(abs(t - previous) <= wide for t in following)
                            if with_it <= with_before:
                                self._reject(reader, item, self._reason(at, previous, first, following, with_before))
                                continue
                    lo, hi = at - span / 2, at + span / 2
                previous = at
                recent.append(at)
                if latest is not None and at < latest:
                    self.out_of_order[reader.path] += 1
                else:
                    latest = at
                yield item

    def _reason(self, at: datetime, before: datetime, first: bool, following: list[datetime], agree: int) -> str:
        assert self.limit is not None
        days = abs((at - before).total_seconds()) / 86_400
        side = "after" if at > before else "before"
        what = "the file's first lines" if first else "the line before it"
        if not following:
            then = "and no line follows it"
        else:
            then = f"and {agree} of the {len(following)} lines after it go on from there, not from it"
        return (
            f"time {iso_z(at)} is {days:,.1f} days {side} {what}, {then} "
            f"(more than {self.limit / 86_400:g} days and {PACE}× the file's pace from its neighbours: not replayed)"
        )

    def account(self, accounting: dict[str, Any], *, name: Callable[[str], str] = str) -> None:
        """Add the out-of-order counts to a replay's input accounting (only when there are any).

        ``name`` is how the accounting names a file (a pseudonym for a file named after a phone number).
        """
        if not self.out_of_order:
            return  # the report of an ordered input stays as it was
        accounting["out_of_order"] = sum(self.out_of_order.values())
        counts = {name(file): count for file, count in self.out_of_order.items()}
        for row in accounting.get("files", []):
            if counts.get(row["file"]):
                row["out_of_order"] = counts[row["file"]]

    @staticmethod
    def _reject(reader: Reader, item: Located, reason: str) -> None:
        if reader.strict:
            raise ReadError(reader.path, item.line, reason)
        stats = reader.stats
        # the reader counted it as an event when it yielded it: it is a rejected line instead
        stats.events -= 1
        if isinstance(item.event, DecryptError):
            stats.failures -= 1
        stats.reject(item.line, reason)


def _pace(times: list[datetime]) -> timedelta:
    """The longest gap between consecutive times (zero for fewer than two)."""
    return max((abs(b - a) for a, b in itertools.pairwise(times)), default=timedelta(0))
