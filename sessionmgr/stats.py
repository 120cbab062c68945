"""Statistics derived from the event stream, per session and overall."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sessionmgr.bus import QuietRun
from sessionmgr.distinct import DistinctCount
from sessionmgr.events import (
    MESSAGE_OUTCOMES,
    ActionFailed,
    DecryptError,
    DecryptOk,
    Event,
    HealthChanged,
    MessageOutcome,
    PeerSessionReset,
    PhoneRequested,
    PrekeysUploaded,
    RegenerationFailed,
    RegenerationSucceeded,
    ResendRequested,
    RetryFinished,
    RetryScheduled,
    SessionCleaned,
    SessionCorrupted,
)
from sessionmgr.store.base import Status

__all__ = ["SessionHealth", "SessionStats", "StatsCollector", "StatsSnapshot"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionHealth:
    """One session's health at one instant."""

    session: str
    status: Status
    healthy: bool
    weighted_errors: float
    errors_in_window: int
    threshold: float
    corrupted_since: datetime | None
    last_error: str | None
    last_error_at: datetime | None


@dataclass(slots=True)
class SessionStats:
    """Counters for one session (or, summed, for all)."""

    decrypt_ok: int = 0
    errors: int = 0
    by_category: Counter[str] = field(default_factory=Counter)
    #: distinct peers with errors: exact up to distinct.EXACT_LIMIT, then an estimate (memory stays bounded)
    peers_with_errors: DistinctCount = field(default_factory=DistinctCount)
    resends: int = 0
    peer_resets: int = 0
    retries: int = 0
    retried_operations: int = 0
    retried_succeeded: int = 0
    actions_failed: int = 0
    regenerations: int = 0
    regeneration_failures: int = 0
    corrupted: int = 0
    cleaned: int = 0
    unhealthy_transitions: int = 0
    recovery_times: list[float] = field(default_factory=list)
    unhealthy_since: float | None = None
    #: undecryptable messages by how they ended (one of MESSAGE_OUTCOMES each)
    messages: Counter[str] = field(default_factory=Counter)
    #: seconds from first failure to resolution, for messages resolved by the sender or the phone
    time_to_resolve: list[float] = field(default_factory=list)
    phone_requests: int = 0
    prekey_uploads: int = 0

    @property
    def retry_success_rate(self) -> float | None:
        """Of the operations that needed a retry, the share that finally succeeded."""
        return self.retried_succeeded / self.retried_operations if self.retried_operations else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "decrypt_ok": self.decrypt_ok,
            "errors": self.errors,
            "by_category": dict(sorted(self.by_category.items())),
            "peers_with_errors": len(self.peers_with_errors),
            **({"peers_with_errors_estimated": True} if self.peers_with_errors.estimated else {}),
            "resends": self.resends,
            "peer_resets": self.peer_resets,
            "retries": self.retries,
            "retry_success_rate": self.retry_success_rate,
            "actions_failed": self.actions_failed,
            "regenerations": self.regenerations,
            "regeneration_failures": self.regeneration_failures,
            "corrupted": self.corrupted,
            "cleaned": self.cleaned,
            "unhealthy_transitions": self.unhealthy_transitions,
            "recovery_times": list(self.recovery_times),
            "messages": {outcome: self.messages[outcome] for outcome in MESSAGE_OUTCOMES},
            "phone_requests": self.phone_requests,
            "prekey_uploads": self.prekey_uploads,
        }

    def add(self, other: SessionStats) -> None:
        for name in (
            "decrypt_ok",
            "errors",
            "resends",
            "peer_resets",
            "retries",
            "retried_operations",
            "retried_succeeded",
            "actions_failed",
            "regenerations",
            "regeneration_failures",
            "corrupted",
            "cleaned",
            "unhealthy_transitions",
            "phone_requests",
            "prekey_uploads",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.messages.update(other.messages)
        self.time_to_resolve += other.time_to_resolve
        self.by_category.update(other.by_category)
        self.peers_with_errors.update(other.peers_with_errors)
        self.recovery_times += other.recovery_times


@dataclass(frozen=True, slots=True)
class StatsSnapshot:
    overall: SessionStats
    sessions: dict[str, SessionStats]

    def to_dict(self) -> dict[str, Any]:
        return {
            "overall": self.overall.to_dict(),
            "sessions": {k: v.to_dict() for k, v in sorted(self.sessions.items())},
        }


def _on_error(s: SessionStats, e: Event) -> None:
    assert isinstance(e, DecryptError)
    if e.category.is_crypto:
        s.errors += 1
        s.by_category[e.category.value] += 1
        if e.peer is not None:
            s.peers_with_errors.add(e.peer)


def _on_health(s: SessionStats, e: Event) -> None:
    assert isinstance(e, HealthChanged)
    if not e.healthy:
        s.unhealthy_transitions += 1
        s.unhealthy_since = e.t
    elif s.unhealthy_since is not None:
        s.recovery_times.append(e.t - s.unhealthy_since)
        s.unhealthy_since = None


def _on_retry_finished(s: SessionStats, e: Event) -> None:
    assert isinstance(e, RetryFinished)
    s.retried_operations += 1
    s.retried_succeeded += e.succeeded


def _on_outcome(s: SessionStats, e: Event) -> None:
    assert isinstance(e, MessageOutcome)
    s.messages[e.outcome] += 1
    if e.outcome.startswith("resolved"):
        s.time_to_resolve.append(e.waited)


def _on_ok(s: SessionStats, e: Event) -> None:
    s.decrypt_ok += 1  # most of a trace's events: no getattr/setattr by name


def _count(name: str) -> Any:
    def bump(s: SessionStats, e: Event) -> None:
        setattr(s, name, getattr(s, name) + 1)

    return bump


_RULES: dict[type[Event], Any] = {
    DecryptOk: _on_ok,
    DecryptError: _on_error,
    ResendRequested: _count("resends"),
    PeerSessionReset: _count("peer_resets"),
    RetryScheduled: _count("retries"),
    RetryFinished: _on_retry_finished,
    ActionFailed: _count("actions_failed"),
    RegenerationSucceeded: _count("regenerations"),
    RegenerationFailed: _count("regeneration_failures"),
    SessionCorrupted: _count("corrupted"),
    SessionCleaned: _count("cleaned"),
    HealthChanged: _on_health,
    MessageOutcome: _on_outcome,
    PhoneRequested: _count("phone_requests"),
    PrekeysUploaded: _count("prekey_uploads"),
}


class StatsCollector:
    """Subscribes to the bus and keeps :class:`SessionStats` per session."""

    def __init__(self) -> None:
        self._sessions: dict[str, SessionStats] = {}

    def handle(self, event: Event) -> None:
        rule = _RULES.get(type(event))
        if rule is None:
            return
        stats = self._sessions.get(event.session)
        if stats is None:
            stats = self._sessions[event.session] = SessionStats()
        rule(stats, event)

    def handle_batch(self, events: Sequence[Event]) -> None:
        """:meth:`handle` each of ``events``; a success (most of a trace) only bumps its counter."""
        sessions = self._sessions
        for event in events:
            if type(event) is not DecryptOk:
                self.handle(event)
                continue
            stats = sessions.get(event.session)
            if stats is None:
                stats = sessions[event.session] = SessionStats()
            stats.decrypt_ok += 1

    def handle_quiet(self, run: QuietRun) -> None:
        """:meth:`handle` each success of ``run``: a count per session."""
        sessions = self._sessions
        for session, count in Counter(run.sessions).items():
            stats = sessions.get(session)
            if stats is None:
                stats = sessions[session] = SessionStats()
            stats.decrypt_ok += count

    def session(self, session: str) -> SessionStats:
        return self._sessions.get(session) or SessionStats()

    def snapshot(self) -> StatsSnapshot:
        overall = SessionStats()
        for stats in self._sessions.values():
            overall.add(stats)
        return StatsSnapshot(overall=overall, sessions=dict(self._sessions))
