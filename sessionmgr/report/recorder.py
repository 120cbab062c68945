"""What a run did, collected from the event stream for the report builder."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sessionmgr.bus import QuietRun
from sessionmgr.clock import iso_z
from sessionmgr.events import (
    MESSAGE_OUTCOMES,
    AlertFired,
    AlertResolved,
    ConnectionChanged,
    DecryptError,
    DecryptOk,
    Event,
    HealthChanged,
    MessageOutcome,
    RegenerationFailed,
    RegenerationSucceeded,
    SessionCleaned,
    SessionCorrupted,
)
from sessionmgr.stats import StatsCollector
from sessionmgr.store import Status

__all__ = ["BUCKET", "ReportRecorder"]

#: Width of one bucket of the errors-per-time plot, in seconds.
BUCKET: Final = 60

# What each decision does to a session's final status.
_STATUS_AFTER: Final[dict[type[Event], Status]] = {
    SessionCorrupted: Status.CORRUPTED,
    SessionCleaned: Status.DISCONNECTED,
}
# Session-level decisions go on the timeline; per-peer ones (resends, resets)
# are too many to plot one by one and are counted instead.
_ACTION_KINDS: Final = (RegenerationSucceeded, RegenerationFailed, SessionCorrupted, SessionCleaned)


@dataclass(slots=True)
class _Timeline:
    errors: dict[str, Counter[int]] = field(default_factory=dict)
    health: dict[str, list[list[float | None]]] = field(default_factory=dict)
    down: dict[str, list[list[float | None]]] = field(default_factory=dict)
    actions: list[tuple[float, str, str]] = field(default_factory=list)


class ReportRecorder:
    """Subscribe it to a bus; :func:`sessionmgr.report.builder.build_report` then turns it into the report.

    Counters come from a :class:`StatsCollector`; on top it keeps the alerts,
    each session's final status and the time series the HTML page plots.
    Memory grows with sessions and minutes, not with events.
    """

    def __init__(self, origin: float = 0.0, *, stats: StatsCollector | None = None) -> None:
        # A manager's own collector can be shared: it is fed by the manager's
        # subscription, so counting again here would be work done twice.
        self._owns_stats = stats is None
        self.stats = stats if stats is not None else StatsCollector()
        self.origin = origin
        self.events = 0
        self.status: dict[str, Status] = {}
        self.alerts: list[dict[str, Any]] = []
        self._open_alerts: dict[tuple[str, str], dict[str, Any]] = {}
        self._timeline = _Timeline()
        self._first_at: datetime | None = None
        self._last_at: datetime | None = None
        self._last_t = origin
        self._outcomes: Counter[str] = Counter()
        self._waited: dict[str, list[float]] = {}  # per outcome: [sum, max]

    @property
    def timeline(self) -> dict[str, Any]:
        """The time series the HTML page plots, as plain data."""
        tl = self._timeline
        return {
            "bucket_s": BUCKET,
            "errors": {k: sorted(v.items()) for k, v in sorted(tl.errors.items())},
            "unhealthy": dict(sorted(tl.health.items())),
            "down": dict(sorted(tl.down.items())),
            "actions": tl.actions,
        }

    @property
    def period(self) -> dict[str, Any]:
        """First and last event times, and the seconds between the origin and the last event."""
        return {
            "from": iso_z(self._first_at) if self._first_at else None,
            "to": iso_z(self._last_at) if self._last_at else None,
            "seconds": round(self._last_t - self.origin, 3),
        }

    @property
    def messages(self) -> dict[str, Any] | None:
        """What became of each undecryptable message, or ``None`` when no outcome was reported."""
        if not self._outcomes:
            return None
        return {
            "outcomes": {
                o: self._outcomes.get(o, 0)
                for o in (*MESSAGE_OUTCOMES, *sorted(set(self._outcomes) - set(MESSAGE_OUTCOMES)))
            },
            "waited_s": {
                o: {"mean": round(w[0] / self._outcomes[o], 3), "max": round(w[1], 3)}
                for o, w in sorted(self._waited.items())
            },
        }

    def batch(self, events: Sequence[Event]) -> None:
        """Call this recorder with each of ``events`` (the statistics, if its own, take them at once)."""
        if self._owns_stats:
            self.stats.handle_batch(events)
        for event in events:
            self._record(event)

    def quiet(self, run: QuietRun) -> None:
        """Call this recorder with each success of ``run``: they are counted, and bound the period."""
        if self._owns_stats:
            self.stats.handle_quiet(run)
        self.events += len(run)
        if self._first_at is None:
            self._first_at = run.first_at
        self._last_at = run.last_at
        self._last_t = max(self._last_t, run.ts[-1])  # (ts never goes down)

    def __call__(self, event: Event) -> None:
        if self._owns_stats:
            self.stats.handle(event)
        self._record(event)

    def _record(self, event: Event) -> None:
        self.events += 1
        if self._first_at is None:
            self._first_at = event.at
        self._last_at = event.at
        rel = event.t - self.origin
        self._last_t = max(self._last_t, event.t)
        kind = type(event)
        if kind is DecryptOk:
            return  # most of a trace: counted by the statistics, nothing more to keep here
        if kind is DecryptError:
            assert isinstance(event, DecryptError)
            if event.category.is_crypto:
                errors = self._timeline.errors
                buckets = errors.get(event.category.value)
                if buckets is None:  # not setdefault: that built a Counter per error
                    buckets = errors[event.category.value] = Counter()
                buckets[int(rel // BUCKET)] += 1
            return
        if kind in _ACTION_KINDS:
            self._timeline.actions.append((round(rel, 3), event.kind, event.session))
        if kind in _STATUS_AFTER:
            self.status[event.session] = _STATUS_AFTER[kind]
            if kind is SessionCorrupted:
                self._timeline.down.setdefault(event.session, []).append([round(rel, 3), None])
        elif isinstance(event, HealthChanged):
            spans = self._timeline.health.setdefault(event.session, [])
            if not event.healthy:
                spans.append([round(rel, 3), None])
            elif spans and spans[-1][1] is None:
                spans[-1][1] = round(rel, 3)
            if not self.status.get(event.session, Status.HEALTHY).is_down:
                self.status[event.session] = Status.HEALTHY if event.healthy else Status.UNHEALTHY
        elif isinstance(event, ConnectionChanged) and event.open:
            if self.status.get(event.session, Status.HEALTHY).is_down:
                self.status[event.session] = Status.HEALTHY
                down = self._timeline.down.get(event.session)
                if down and down[-1][1] is None:
                    down[-1][1] = round(rel, 3)
        elif isinstance(event, MessageOutcome):
            self._outcomes[event.outcome] += 1
            waited = self._waited.setdefault(event.outcome, [0.0, 0.0])
            waited[0] += event.waited
            waited[1] = max(waited[1], event.waited)
        elif isinstance(event, AlertFired):
            entry = {
                "rule": event.rule,
                "session": event.session,
                "fired_at": iso_z(event.at),
                "resolved_at": None,
                "message": event.message,
            }
            self.alerts.append(entry)
            self._open_alerts[(event.rule, event.session)] = entry
        elif isinstance(event, AlertResolved):
            open_entry = self._open_alerts.pop((event.rule, event.session), None)
            if open_entry is not None:
                open_entry["resolved_at"] = iso_z(event.at)
