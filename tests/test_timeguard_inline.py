"""The time guard's inline common line and its one-file shortcut judge every sequence of times as before."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.timeguard import LIMIT, TimeGuard
from sessionmgr.events import DecryptError, DecryptOk
from sessionmgr.trace.lines import Located, ReadError
from sessionmgr.trace.readers import Reader
from tests.reference import timeguard_judged as reference

START = datetime(2026, 1, 1, tzinfo=UTC)
#: steps between lines: in order (mostly), the same instant, back a little, across the span, decades away
_FAR = [LIMIT / 2, LIMIT, LIMIT * 1.01, 3 * LIMIT, -LIMIT * 1.5, 36_500 * 86_400.0, -20_000 * 86_400.0]
_steps = st.one_of(
    st.floats(0, 120),
    st.floats(0, 120),
    st.just(0.0),
    st.floats(-600, 0),
    st.sampled_from(_FAR),
)
#: where one line lies from the file's clock, which goes on without it: mostly on it, sometimes far off
_outliers = st.one_of(st.just(0.0), st.just(0.0), st.just(0.0), st.sampled_from(_FAR))
#: a line: its step, its own offset from the clock, whether it printed no time, whether it is a failure
Line = tuple[float, float, bool, bool]


class Listed(Reader):
    """A reader of given events (the guard reads only its lines, path, stats and strictness)."""

    def __init__(self, name: str, items: list[Line], strict: bool) -> None:
        super().__init__(name, strict=strict, lines=[])
        self.items = items

    def __iter__(self) -> Iterator[Located]:
        clock = START
        for n, (step, off, untimed, failure) in enumerate(self.items, 1):
            clock += timedelta(seconds=step)
            event = (DecryptError if failure else DecryptOk)(session="s", at=clock + timedelta(seconds=off))
            self.stats.events += 1
            yield Located(event, self.path, n, None, untimed)


_line = st.tuples(_steps, _outliers, st.booleans() | st.just(False) | st.just(False), st.booleans())
#: files long enough for the common line (the first lines are judged against the look-ahead), and short ones
_files = st.lists(st.lists(_line, min_size=12, max_size=60) | st.lists(_line, max_size=12), min_size=1, max_size=3)


def judge(merge: Any, files: list[list[Line]], limit: float | None, strict: bool) -> list[Any]:
    guard = TimeGuard(limit)
    readers = [Listed(f"f{i}.log", items, strict) for i, items in enumerate(files)]
    out: list[Any] = []
    try:
        out += [(item.source, item.line, repr(item.event), item.untimed) for item in merge(guard, readers)]
    except ReadError as exc:
        out.append(("strict", str(exc)))
    out.append(dict(guard.out_of_order))
    out += [(r.stats.events, r.stats.failures, r.stats.rejected_count, r.stats.rejected) for r in readers]
    return out


@settings(max_examples=300)
@given(_files, st.sampled_from([LIMIT, None, 3600.0]), st.booleans())
def test_the_guard_judges_any_files_as_before(files: list[list[Line]], limit: float | None, strict: bool) -> None:
    """Yielded lines and their order, rejections and reasons, out-of-order counts, strict stops: as before."""
    assert judge(TimeGuard.merged, files, limit, strict) == judge(reference.merged, files, limit, strict)
