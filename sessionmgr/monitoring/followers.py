"""The files ``watch`` follows: a reader that survives any line, rejections counted as they come, health.

A reader that raises on a line is a bug, but one bad line must not end the
watch: the file's reader is started again on the lines after it (the follower
keeps the file's position), the failure is logged (its type and where, never the
line) and the file's health says so until the watch ends.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

from sessionmgr.events import Event
from sessionmgr.pseudonym import Pseudonymizer
from sessionmgr.trace.follow import Follower, follow_lines
from sessionmgr.trace.lines import ReadStats
from sessionmgr.trace.readers import Reader

__all__ = ["MAX_REASON_KINDS", "REJECT_LOG_EVERY", "FollowedFile", "RejectLog", "reason_kind"]

_log = logging.getLogger("sessionmgr.watch")
#: Seconds between two summaries of one file's rejected lines (the first rejection of a kind is logged at once).
REJECT_LOG_EVERY: Final = 60.0
#: Distinct rejection kinds per file before the rest count as ``other`` (they label a metric).
MAX_REASON_KINDS: Final = 20
_KIND_END: Final = re.compile(r"[:(]")
_READER_ERROR: Final = "reader error"


def reason_kind(reason: str) -> str:
    """A rejection reason's kind: the field or rule it names, before any value it quotes (a metric label)."""
    return _KIND_END.split(reason, maxsplit=1)[0].strip()[:60] or "unreadable"


class RejectLog:
    """Rejected lines logged as they happen, aggregated: each file's first of a kind at once, then a sum per interval.

    Only the file (pseudonymized), the line number and the reason's kind are
    logged: never the line, nor the values a reason quotes.
    """

    def __init__(
        self, clock: Callable[[], float], pseudonymizer: Pseudonymizer, every: float = REJECT_LOG_EVERY
    ) -> None:
        self.clock, self.pseudonymizer, self.every = clock, pseudonymizer, every
        self._lock = threading.Lock()
        self._seen: set[tuple[str, str]] = set()
        self._pending: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self._last = clock()

    def add(self, file: str, line: int, kind: str, count: int = 1) -> None:
        with self._lock:
            name = self.pseudonymizer.path(file)
            if (file, kind) not in self._seen:
                self._seen.add((file, kind))
                _log.warning("%s: line %d rejected (%s); further rejections are summed up every %g s",
                             name, line, kind, self.every)  # fmt: skip
                count -= 1
            if count > 0:
                self._pending[file][kind] += count
        self.flush()

    def flush(self, *, force: bool = False) -> None:
        """Log the sums gathered since the last summary, if an interval has passed (or ``force``)."""
        with self._lock:
            now = self.clock()
            if not force and now - self._last < self.every:
                return
            self._last = now
            pending, self._pending = self._pending, defaultdict(Counter)
        for file, kinds in sorted(pending.items()):
            what = ", ".join(f"{kind}: {n}" for kind, n in kinds.most_common())
            _log.warning("%s: %d more lines rejected (%s)", self.pseudonymizer.path(file), kinds.total(), what)


class _CountedStats(ReadStats):
    """A reader's accounting that also reports each rejection as it happens."""

    __slots__ = ("on_reject",)

    def __init__(self, source: str, on_reject: Callable[[int, str], None]) -> None:
        super().__init__(source)
        self.on_reject = on_reject

    def reject(self, line: int, reason: str) -> None:
        super().reject(line, reason)
        self.on_reject(line, reason)


class FollowedFile:
    """One followed file: its follower, the readers run over it (a new one after a failure) and its health."""

    def __init__(
        self,
        path: Path,
        follower: Follower,
        make_reader: Callable[[Iterator[str]], Reader],
        on_event: Callable[[Event], None],
        on_reject: Callable[[str, int, str, int], None],
        *,
        halt: threading.Event,
        poll: float = 0.2,
        pseudonymizer: Pseudonymizer | None = None,
    ) -> None:
        self.path, self.follower, self.make_reader = path, follower, make_reader
        self.on_event, self.on_reject, self.halt, self.poll = on_event, on_reject, halt, poll
        self.pseudonymizer = pseudonymizer or Pseudonymizer()
        self.readers: list[Reader] = []
        self._starts: list[int] = []  # lines the follower had handed out when each reader started
        self._kinds: set[str] = set()
        self.failures = 0
        self.last_failure: str | None = None
        self.lost = 0  # lines a failed reader had taken and not accounted for (counted as rejected)
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self.run, name=f"follow {self.path.name}", daemon=True)
        self.thread.start()

    def run(self) -> None:
        """Read the file until the watch halts, starting a new reader past any line one fails on."""
        try:
            while not self.halt.is_set():
                reader = self.make_reader(follow_lines(self.follower, self.halt, poll=self.poll))
                reader.stats = _CountedStats(reader.path, self._rejected)
                self.readers.append(reader)
                self._starts.append(self.follower.handed_out)
                try:
                    for located in reader:
                        self.on_event(located.event)
                except Exception as exc:  # a bad line must not end the watch: counted, logged, restarted
                    self._failed(reader, exc)
                    self.halt.wait(self.poll)  # a reader failing on every line does not spin
        finally:
            self.follower.close()

    def _rejected(self, line: int, reason: str) -> None:
        kind = reason_kind(reason)
        if kind not in self._kinds:  # a metric label: a bounded set per file, whatever the lines say
            kind = "other" if len(self._kinds) >= MAX_REASON_KINDS else kind
            self._kinds.add(kind)
        self.on_reject(str(self.path), self._starts[-1] + line, kind, 1)

    def _failed(self, reader: Reader, exc: Exception) -> None:
        stats = reader.stats
        # from the follower's count: the line it failed on may not have reached the reader's own count
        taken = self.follower.handed_out - self._starts[-1]
        lost = max(0, taken - stats.events - sum(stats.ignored.values()) - stats.rejected_count)
        self.lost += lost
        self.failures += 1
        where = traceback.extract_tb(exc.__traceback__)[-1]
        at = self.follower.handed_out
        self.last_failure = f"{type(exc).__name__} in {Path(where.filename).name}:{where.lineno} at line {at}"
        _log.error("%s: the reader failed (%s) and goes on after that line; %d lines it held are counted as rejected",
                   self.name, self.last_failure, lost)  # fmt: skip
        if lost:
            self.on_reject(str(self.path), at, _READER_ERROR, lost)

    @property
    def name(self) -> str:
        """The file's path with any phone number in it pseudonymized (for logs and /health)."""
        return self.pseudonymizer.path(str(self.path))

    def totals(self) -> dict[str, int]:
        """Lines, events, ignored and rejected over every reader run on this file so far."""
        stats = [r.stats for r in self.readers]
        return {
            "lines": self.follower.handed_out if self.failures else sum(s.lines for s in stats),
            "events": sum(s.events for s in stats),
            "ignored": sum(sum(s.ignored.values()) for s in stats),
            "rejected": sum(s.rejected_count for s in stats) + self.lost,
        }

    def health(self) -> dict[str, Any]:
        """This file's state for ``/health``: ``reason`` is set when it needs a look."""
        state = self.follower.state
        alive = self.thread is not None and self.thread.is_alive()
        reason = None
        if not alive and not self.halt.is_set():
            reason = "stopped following"
        elif state.error is not None:
            reason = f"cannot read: {state.error}"
        elif self.failures:
            reason = f"reader failed {self.failures} time(s), last: {self.last_failure}"
        status = "waiting" if state.waiting and reason is None else ("ok" if reason is None else "degraded")
        return {
            "file": self.name,
            "status": status,
            **self.totals(),
            "truncations": state.truncations,
            "rotations": state.rotations,
            "cut_lines": state.cut_lines,
            "reason": reason,
        }
