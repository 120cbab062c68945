"""``TimeGuard.judged`` and ``merged`` as they were before the inline common line (main b66b3ed), kept to test against."""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable, Iterator
from datetime import datetime

from harness.timeguard import _MAX_AHEAD, LOOKAHEAD, PACE, TimeGuard, _pace
from sessionmgr.trace.lines import Located
from sessionmgr.trace.readers import Reader


def merged(self: TimeGuard, readers: Iterable[Reader]) -> Iterator[Located]:
    return heapq.merge(*(judged(self, r) for r in readers), key=lambda located: located.event.at)


def judged(self: TimeGuard, reader: Reader) -> Iterator[Located]:
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
