"""The report: one format for simulations and replays, built from the event stream."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sessionmgr.categories import CRYPTO_CATEGORIES
from sessionmgr.events import (
    AlertFired,
    AlertResolved,
    ConnectionChanged,
    DecryptError,
    Event,
    HealthChanged,
    RegenerationFailed,
    RegenerationSucceeded,
    SessionCleaned,
    SessionCorrupted,
)
from sessionmgr.stats import StatsCollector

__all__ = ["REPORT_SCHEMA", "ReportRecorder"]

REPORT_SCHEMA: Final = "sessionmgr.report/1"
#: Width of one bucket of the errors-per-time plot, in seconds.
BUCKET: Final = 60

# What each decision does to a session's final status.
_STATUS_AFTER: Final[dict[type[Event], str]] = {
    SessionCorrupted: "corrupted",
    SessionCleaned: "disconnected",
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
    """Subscribe it to a bus; :meth:`report` then says what happened, as plain data.

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
        self.status: dict[str, str] = {}
        self.alerts: list[dict[str, Any]] = []
        self._open_alerts: dict[tuple[str, str], dict[str, Any]] = {}
        self._timeline = _Timeline()
        self._first_at: datetime | None = None
        self._last_at: datetime | None = None
        self._last_t = origin

    def __call__(self, event: Event) -> None:
        self.events += 1
        if self._owns_stats:
            self.stats.handle(event)
        if self._first_at is None:
            self._first_at = event.at
        self._last_at = event.at
        rel = event.t - self.origin
        self._last_t = max(self._last_t, event.t)
        kind = type(event)
        if kind is DecryptError:
            assert isinstance(event, DecryptError)
            if event.category.is_crypto:
                self._timeline.errors.setdefault(event.category.value, Counter())[int(rel // BUCKET)] += 1
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
            if self.status.get(event.session) not in ("corrupted", "disconnected"):
                self.status[event.session] = "healthy" if event.healthy else "unhealthy"
        elif isinstance(event, ConnectionChanged) and event.open:
            if self.status.get(event.session) in ("corrupted", "disconnected"):
                self.status[event.session] = "healthy"
                down = self._timeline.down.get(event.session)
                if down and down[-1][1] is None:
                    down[-1][1] = round(rel, 3)
        elif isinstance(event, AlertFired):
            entry = {
                "rule": event.rule,
                "session": event.session,
                "fired_at": _iso(event.at),
                "resolved_at": None,
                "message": event.message,
            }
            self.alerts.append(entry)
            self._open_alerts[(event.rule, event.session)] = entry
        elif isinstance(event, AlertResolved):
            open_entry = self._open_alerts.pop((event.rule, event.session), None)
            if open_entry is not None:
                open_entry["resolved_at"] = _iso(event.at)

    def report(
        self,
        *,
        source: dict[str, Any],
        input: dict[str, Any] | None = None,
        delivery: dict[str, Any] | None = None,
        sessions: list[str] | None = None,
    ) -> dict[str, Any]:
        """The report as plain data (schema ``sessionmgr.report/1``)."""
        snapshot = self.stats.snapshot()
        overall = snapshot.overall
        names = sorted(set(sessions or []) | set(snapshot.sessions) - {"*"})
        per_session: dict[str, Any] = {}
        for name in names:
            s = self.stats.session(name)
            per_session[name] = {
                "errors": s.errors,
                "by_category": dict(sorted(s.by_category.items())),
                "peers_with_errors": len(s.peers_with_errors),
                "unhealthy_transitions": s.unhealthy_transitions,
                "regenerations": s.regenerations,
                "regeneration_failures": s.regeneration_failures,
                "status": self.status.get(name, "healthy"),
            }
        recovery = sorted(overall.recovery_times)
        report: dict[str, Any] = {
            "schema": REPORT_SCHEMA,
            "source": source,
            "input": input or {"events": self.events, "rejected": []},
            "period": {
                "from": _iso(self._first_at) if self._first_at else None,
                "to": _iso(self._last_at) if self._last_at else None,
                "seconds": round(self._last_t - self.origin, 3),
            },
            "errors": {
                "total": overall.errors,
                "by_category": {c.value: overall.by_category.get(c.value, 0) for c in CRYPTO_CATEGORIES},
            },
            "sessions": per_session,
            "actions": {
                "resends": overall.resends,
                "peer_resets": overall.peer_resets,
                "retries": overall.retries,
                "retry_success_rate": _round(overall.retry_success_rate),
                "regenerations": overall.regenerations,
                "regeneration_failures": overall.regeneration_failures,
                "corrupted": overall.corrupted,
                "cleaned": overall.cleaned,
                "time_to_recover_s": {
                    "count": len(recovery),
                    "p50": _round(recovery[len(recovery) // 2]) if recovery else None,
                    "max": _round(recovery[-1]) if recovery else None,
                },
            },
            "alerts": self.alerts,
        }
        if delivery is not None:
            report["delivery"] = delivery
        report["timeline"] = {
            "bucket_s": BUCKET,
            "errors": {k: sorted(v.items()) for k, v in sorted(self._timeline.errors.items())},
            "unhealthy": dict(sorted(self._timeline.health.items())),
            "down": dict(sorted(self._timeline.down.items())),
            "actions": self._timeline.actions,
        }
        return report


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
