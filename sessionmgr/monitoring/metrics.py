"""Prometheus metrics, driven by the event bus (needs the ``monitoring`` extra: prometheus_client)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Final, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from sessionmgr.events import (
    AlertFired,
    AlertResolved,
    ConnectionChanged,
    DecryptError,
    DecryptOk,
    Event,
    HealthChanged,
    LeasesHeld,
    PeerSessionReset,
    RegenerationFailed,
    RegenerationSucceeded,
    ResendRequested,
    RetryFinished,
    RetryScheduled,
    SessionCleaned,
    SessionCorrupted,
)
from sessionmgr.pseudonym import Pseudonymizer

__all__ = ["METRIC_NAMES", "MetricsSink", "WriteBacklog"]

PREFIX: Final = "sessionmgr_"


class WriteBacklog(Protocol):
    """What the store writer (``sessionmgr.recovery.journal.Journal``) counts, read at each scrape."""

    @property
    def queued_rows(self) -> int: ...
    @property
    def write_failures(self) -> int: ...
    @property
    def dropped_audit(self) -> int: ...


class _BacklogCollector:
    """Reads the store writer's counters when Prometheus scrapes: they change without any event."""

    def __init__(self, backlog: WriteBacklog) -> None:
        self._backlog = backlog

    def collect(self) -> Iterator[Metric]:
        b = self._backlog
        yield GaugeMetricFamily(
            f"{PREFIX}store_queued_rows", "Rows decided and not yet written to the store.", value=b.queued_rows
        )
        yield CounterMetricFamily(
            f"{PREFIX}store_write_failures", "Store writes that failed (each is retried).", value=b.write_failures
        )
        yield CounterMetricFamily(
            f"{PREFIX}store_dropped_audit",
            "Audit entries dropped because the write queue was over its bound while the store failed.",
            value=b.dropped_audit,
        )


class MetricsSink:
    """Subscribe it to a bus; it keeps ``sessionmgr_*`` metrics in its own registry.

    Session labels go through the pseudonymizer (bot numbers stay private);
    peers are never labels, so cardinality follows sessions, not traffic.
    """

    def __init__(self, registry: CollectorRegistry | None = None, pseudonymizer: Pseudonymizer | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.pseudonymizer = pseudonymizer or Pseudonymizer()
        r = self.registry
        self.errors = Counter(
            f"{PREFIX}errors", "Decryption failures by category.", ["session", "category"], registry=r
        )
        self.decrypt_ok = Counter(f"{PREFIX}decrypt_ok", "Messages that decrypted.", ["session"], registry=r)
        self.resends = Counter(f"{PREFIX}resends", "Retry receipts sent (resend requests).", ["session"], registry=r)
        self.peer_resets = Counter(f"{PREFIX}peer_resets", "Peer Signal sessions reset.", ["session"], registry=r)
        self.retries = Counter(
            f"{PREFIX}retries", "Backend operations retried, by outcome.", ["operation", "outcome"], registry=r
        )
        self.regenerations = Counter(
            f"{PREFIX}regenerations", "Key regenerations by outcome.", ["session", "outcome"], registry=r
        )
        self.corrupted_total = Counter(f"{PREFIX}sessions_corrupted", "Sessions marked corrupted.", registry=r)
        self.cleaned_total = Counter(f"{PREFIX}sessions_cleaned", "Corrupted sessions cleaned up.", registry=r)
        self.corrupted = Gauge(
            f"{PREFIX}corrupted_sessions", "Sessions corrupted now (until they reconnect).", registry=r
        )
        self.healthy = Gauge(
            f"{PREFIX}session_healthy", "1 if the session is healthy, 0 if not.", ["session"], registry=r
        )
        self.recovery = Histogram(
            f"{PREFIX}recovery_seconds",
            "Time from a session turning unhealthy to healthy again.",
            buckets=(30, 60, 120, 240, 300, 360, 600, 900, 1800, 3600),
            registry=r,
        )
        # An alert names its session, so the page can say which one to re-pair; an alert about
        # all sessions (mass corruption) has an empty session label, which Prometheus treats as none.
        self.alerts_active = Gauge(
            f"{PREFIX}alerts_active", "Alerts firing now, by rule and session.", ["rule", "session"], registry=r
        )
        self.alerts_fired = Counter(
            f"{PREFIX}alerts_fired", "Alerts fired, by rule and session.", ["rule", "session"], registry=r
        )
        self.lease_epoch = Gauge(
            f"{PREFIX}lease_epoch",
            "Sessions whose lease this worker holds in a shared store, by owner: the fencing epoch.",
            ["session", "owner"],
            registry=r,
        )
        # per followed file (pseudonymized like sessions) and a coarse reason: the field or rule, never the line
        self.rejected_lines = Counter(
            f"{PREFIX}rejected_lines", "Lines watch could not read, by file and reason.", ["file", "reason"], registry=r
        )
        self._unhealthy_since: dict[str, float] = {}
        self._corrupted: set[str] = set()
        self._backlog: _BacklogCollector | None = None

    def store_writes(self, backlog: WriteBacklog) -> None:
        """Export the store writer's queued rows, failed writes and dropped audit entries (once per sink)."""
        if self._backlog is None:
            self._backlog = _BacklogCollector(backlog)
            self.registry.register(self._backlog)

    def rejected(self, file: str, reason: str, count: int = 1) -> None:
        """Count lines of a followed file that were rejected for ``reason`` (a :func:`reason_kind`)."""
        self.rejected_lines.labels(self.pseudonymizer.path(file), reason).inc(count)

    def _s(self, event: Event) -> str:
        return self.pseudonymizer.session(event.session)

    def __call__(self, event: Event) -> None:
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)

    # --- handlers ------------------------------------------------------------------------

    def _error(self, e: Any) -> None:
        if e.category.is_crypto:
            self.errors.labels(self._s(e), e.category.value).inc()

    def _health(self, e: Any) -> None:
        self.healthy.labels(self._s(e)).set(1 if e.healthy else 0)
        if not e.healthy:
            self._unhealthy_since[e.session] = e.t
        elif e.session in self._unhealthy_since:
            self.recovery.observe(e.t - self._unhealthy_since.pop(e.session))

    def _corrupted_now(self, e: Any) -> None:
        self.corrupted_total.inc()
        self._corrupted.add(e.session)
        self.corrupted.set(len(self._corrupted))

    def _connection(self, e: Any) -> None:
        if e.open and e.session in self._corrupted:
            self._corrupted.discard(e.session)
            self.corrupted.set(len(self._corrupted))

    def _leases(self, e: Any) -> None:
        self.lease_epoch.clear()  # a lease no longer held disappears from the scrape
        for session, epoch in e.epochs:
            self.lease_epoch.labels(self.pseudonymizer.session(session), e.owner).set(epoch)

    def _alert(self, e: Any) -> None:
        session = "" if e.session == "*" else self._s(e)
        if isinstance(e, AlertFired):
            self.alerts_fired.labels(e.rule, session).inc()
            self.alerts_active.labels(e.rule, session).inc()
        else:
            self.alerts_active.labels(e.rule, session).dec()


_HANDLERS: Final[dict[type[Event], Callable[[MetricsSink, Any], None]]] = {
    LeasesHeld: MetricsSink._leases,
    DecryptError: MetricsSink._error,
    DecryptOk: lambda m, e: m.decrypt_ok.labels(m._s(e)).inc(),
    ResendRequested: lambda m, e: m.resends.labels(m._s(e)).inc(),
    PeerSessionReset: lambda m, e: m.peer_resets.labels(m._s(e)).inc(),
    RetryScheduled: lambda m, e: m.retries.labels(e.operation, "retried").inc(),
    RetryFinished: lambda m, e: m.retries.labels(e.operation, "succeeded" if e.succeeded else "failed").inc(),
    RegenerationSucceeded: lambda m, e: m.regenerations.labels(m._s(e), "succeeded").inc(),
    RegenerationFailed: lambda m, e: m.regenerations.labels(m._s(e), "failed").inc(),
    SessionCorrupted: MetricsSink._corrupted_now,
    SessionCleaned: lambda m, e: m.cleaned_total.inc(),
    ConnectionChanged: MetricsSink._connection,
    HealthChanged: MetricsSink._health,
    AlertFired: MetricsSink._alert,
    AlertResolved: MetricsSink._alert,
}

#: Every metric family this sink exports, as Prometheus names them (counters end in _total).
METRIC_NAMES: Final = frozenset(
    {
        f"{PREFIX}errors_total", f"{PREFIX}decrypt_ok_total", f"{PREFIX}resends_total", f"{PREFIX}peer_resets_total",
        f"{PREFIX}retries_total", f"{PREFIX}regenerations_total", f"{PREFIX}sessions_corrupted_total",
        f"{PREFIX}sessions_cleaned_total", f"{PREFIX}corrupted_sessions", f"{PREFIX}session_healthy",
        f"{PREFIX}recovery_seconds", f"{PREFIX}recovery_seconds_bucket", f"{PREFIX}recovery_seconds_sum",
        f"{PREFIX}recovery_seconds_count", f"{PREFIX}alerts_active", f"{PREFIX}alerts_fired_total",
        f"{PREFIX}lease_epoch", f"{PREFIX}rejected_lines_total", f"{PREFIX}store_queued_rows",
        f"{PREFIX}store_write_failures_total", f"{PREFIX}store_dropped_audit_total",
    }
)  # fmt: skip
