"""StatsCollector: counters per session and overall, derived from events alone."""

from __future__ import annotations

from sessionmgr import Category, DecryptError, DecryptOk, HealthChanged
from sessionmgr.events import (
    ActionFailed,
    MessageOutcome,
    PeerSessionReset,
    PhoneRequested,
    PrekeysUploaded,
    RegenerationSucceeded,
    ResendRequested,
    RetryFinished,
    RetryScheduled,
    SessionCleaned,
    SessionCorrupted,
)
from sessionmgr.stats import StatsCollector


def test_errors_are_counted_by_category_and_peer_and_not_crypto_is_not() -> None:
    """Crypto errors count by category and distinct peer; a not_crypto observation counts nothing."""
    stats = StatsCollector()
    for peer, category in [("a", Category.BAD_MAC), ("a", Category.BAD_MAC), ("b", Category.PREKEY)]:
        stats.handle(DecryptError(session="s1", peer=peer, error="x", category=category))
    stats.handle(DecryptError(session="s1", peer="c", error="timeout", category=Category.NOT_CRYPTO))
    stats.handle(DecryptOk(session="s1"))
    s1 = stats.session("s1")
    assert (s1.errors, s1.decrypt_ok, len(s1.peers_with_errors)) == (3, 1, 2)
    assert dict(s1.by_category) == {"bad_mac": 2, "prekey": 1}


def test_overall_sums_sessions_and_unknown_sessions_are_empty() -> None:
    """The overall row is the sum of the sessions; a session never seen reads as zeros."""
    stats = StatsCollector()
    for session in ("s1", "s2", "s2"):
        stats.handle(ResendRequested(session=session, peer="p"))
        stats.handle(PeerSessionReset(session=session, peer="p"))
    stats.handle(RegenerationSucceeded(session="s2", attempts=1))
    stats.handle(SessionCorrupted(session="s1", reason="r"))
    stats.handle(SessionCleaned(session="s1", quarantined_bytes=3))
    snap = stats.snapshot()
    assert (snap.overall.resends, snap.overall.peer_resets, snap.overall.regenerations) == (3, 3, 1)
    assert (snap.overall.corrupted, snap.overall.cleaned) == (1, 1)
    assert sorted(snap.sessions) == ["s1", "s2"]
    assert stats.session("nobody").to_dict() == StatsCollector().snapshot().overall.to_dict()


def test_retry_success_rate_counts_operations_not_attempts() -> None:
    """Two retried operations, one finally succeeding, give a success rate of one half."""
    stats = StatsCollector()
    stats.handle(RetryScheduled(session="s", operation="op", attempt=1, delay=1.0, error="e"))
    stats.handle(RetryScheduled(session="s", operation="op", attempt=2, delay=2.0, error="e"))
    stats.handle(RetryFinished(session="s", operation="op", attempts=3, succeeded=True))
    stats.handle(RetryFinished(session="s", operation="op", attempts=3, succeeded=False))
    stats.handle(ActionFailed(session="s", operation="op", attempts=3, error="e"))
    s = stats.session("s")
    assert (s.retries, s.retried_operations, s.actions_failed) == (2, 2, 1)
    assert s.retry_success_rate == 0.5
    assert StatsCollector().session("s").retry_success_rate is None


def test_recovery_time_is_measured_from_unhealthy_to_healthy() -> None:
    """Unhealthy at t=10 and healthy again at t=310 records one recovery of 300 s."""
    stats = StatsCollector()
    stats.handle(HealthChanged(session="s", healthy=False, weight=5, t=10.0))
    stats.handle(HealthChanged(session="s", healthy=True, weight=4, t=310.0))
    stats.handle(HealthChanged(session="s", healthy=True, weight=0, t=400.0))  # no open incident: nothing
    s = stats.session("s")
    assert (s.unhealthy_transitions, s.recovery_times) == (1, [300.0])
    assert stats.snapshot().to_dict()["overall"]["recovery_times"] == [300.0]


def test_message_outcomes_are_counted_and_resolve_times_kept() -> None:
    """Each MessageOutcome counts once under its outcome; only resolved ones add a time to resolve."""
    stats = StatsCollector()
    for outcome, waited in [("resolved_sender", 2.0), ("resolved_phone", 9.0), ("expired", 900.0), ("lost", 1.0)]:
        stats.handle(MessageOutcome(session="s", peer="p", message_id=outcome, outcome=outcome, waited=waited))
    stats.handle(PhoneRequested(session="s", peer="p", message_id="m"))
    stats.handle(PrekeysUploaded(session="s", count=5))
    s = stats.session("s")
    assert s.to_dict()["messages"] == {"resolved_sender": 1, "resolved_phone": 1, "expired": 1, "lost": 1}
    assert s.time_to_resolve == [2.0, 9.0]
    assert (s.phone_requests, s.prekey_uploads) == (1, 1)
    assert stats.snapshot().overall.messages["expired"] == 1
