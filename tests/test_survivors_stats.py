"""The bus's and the stats collector's survivors: every counter, the report's keys, sums over sessions, the bus's log line."""

from __future__ import annotations

import logging

import pytest

from sessionmgr import Category, DecryptError, DecryptOk, Event, EventBus
from sessionmgr.events import (
    ActionFailed,
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
from sessionmgr.stats import StatsCollector


def bad_mac(session: str, peer: str) -> DecryptError:
    return DecryptError(session=session, peer=peer, error="Bad MAC", category=Category.BAD_MAC)


def outcome(session: str, result: str, waited: float) -> MessageOutcome:
    return MessageOutcome(session=session, peer="p", message_id="m", outcome=result, waited=waited)


def traffic(session: str, peer: str) -> list[Event]:
    """Two of every counted event for one session, health going down and up twice (10 s, then 30 s)."""
    events: list[Event] = []
    for _ in range(2):
        events += [
            DecryptOk(session=session),
            bad_mac(session, peer),
            ResendRequested(session=session, peer=peer),
            PeerSessionReset(session=session, peer=peer),
            RetryScheduled(session=session, operation="regenerate_keys", attempt=1, delay=1.0, error="down"),
            ActionFailed(session=session, operation="purge_keys", attempts=3, error="down"),
            RegenerationSucceeded(session=session, attempts=1),
            RegenerationFailed(session=session, attempts=3, error="down"),
            SessionCorrupted(session=session, reason="test"),
            SessionCleaned(session=session, quarantined_bytes=4),
            PhoneRequested(session=session, peer=peer),
            PrekeysUploaded(session=session, count=5),
            outcome(session, "lost", 9.0),
        ]
    events += [
        RetryFinished(session=session, operation="regenerate_keys", attempts=2, succeeded=True),
        RetryFinished(session=session, operation="regenerate_keys", attempts=3, succeeded=False),
        outcome(session, "resolved_sender", 4.0),
        HealthChanged(session=session, healthy=False, weight=5.0, t=100.0),
        HealthChanged(session=session, healthy=True, weight=4.0, t=110.0),
        HealthChanged(session=session, healthy=False, weight=5.0, t=200.0),
        HealthChanged(session=session, healthy=True, weight=4.0, t=230.0),
    ]
    return events


def expected(peers: int, times: int = 1) -> dict[str, object]:
    """The report of ``times`` sessions' worth of :func:`traffic` with ``peers`` distinct peers."""
    n = 2 * times
    return {
        "decrypt_ok": n,
        "errors": n,
        "by_category": {"bad_mac": n},
        "peers_with_errors": peers,
        "resends": n,
        "peer_resets": n,
        "retries": n,
        "retry_success_rate": 0.5,
        "actions_failed": n,
        "regenerations": n,
        "regeneration_failures": n,
        "corrupted": n,
        "cleaned": n,
        "unhealthy_transitions": n,
        "recovery_times": [10.0, 30.0] * times,
        "messages": {"resolved_sender": times, "resolved_phone": 0, "expired": 0, "lost": n},
        "phone_requests": n,
        "prekey_uploads": n,
    }


def test_every_counter_counts_each_event_and_the_report_names_them() -> None:
    """Each counted event adds one to its counter, and to_dict reports every counter under its documented key."""
    stats = StatsCollector()
    for event in traffic("bot-1", "p1"):
        stats.handle(event)
    assert stats.session("bot-1").to_dict() == expected(peers=1)
    assert stats.session("bot-1").time_to_resolve == [4.0]


def test_the_overall_sums_every_session() -> None:
    """The snapshot's overall adds every session's counters, categories, peers, recovery and resolve times."""
    stats = StatsCollector()
    for event in traffic("bot-1", "p1") + traffic("bot-2", "p2"):
        stats.handle(event)
    snapshot = stats.snapshot()
    assert snapshot.overall.to_dict() == expected(peers=2, times=2)
    assert snapshot.overall.time_to_resolve == [4.0, 4.0]
    report = snapshot.to_dict()
    assert list(report) == ["overall", "sessions"]
    assert report["sessions"] == {"bot-1": expected(peers=1), "bot-2": expected(peers=1)}


def test_the_overall_counts_peers_failing_anywhere() -> None:
    """A peer failing on any session counts once in the overall, however many sessions it failed on."""
    stats = StatsCollector()
    for event in [bad_mac("bot-1", "p1"), bad_mac("bot-2", "p1"), bad_mac("bot-2", "p2")]:
        stats.handle(event)
    assert stats.snapshot().overall.to_dict()["peers_with_errors"] == 2


def test_a_session_never_seen_has_empty_stats() -> None:
    """Asking for a session with no events gives zero counters and no retry rate."""
    empty = StatsCollector().session("nobody").to_dict()
    assert empty["errors"] == 0 and empty["retry_success_rate"] is None


@pytest.mark.handler_errors_expected
def test_a_failing_handler_is_logged_with_the_handler_and_the_event_kind(caplog: pytest.LogCaptureFixture) -> None:
    """The bus logs 'event handler <handler> failed on <kind>' with the traceback, and keeps delivering."""
    bus = EventBus()
    seen: list[str] = []

    def broken_sink(event: Event) -> None:
        raise RuntimeError("sink down")

    bus.subscribe(broken_sink)
    bus.subscribe(lambda e: seen.append(e.session))
    with caplog.at_level(logging.ERROR, "sessionmgr.bus"):
        bus.publish(DecryptOk(session="a"))
        bus.publish(DecryptOk(session="b"))
    assert seen == ["a", "b"]
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [f"event handler {broken_sink!r} failed on decrypt_ok"] * 2
    assert all(r.exc_info is not None and "sink down" in str(r.exc_info[1]) for r in caplog.records)


def test_publishing_with_no_subscriber_is_harmless() -> None:
    """A bus nobody subscribed to yet takes events without error; a later subscriber sees only later ones."""
    bus = EventBus()
    bus.publish(DecryptOk(session="early"))
    seen: list[str] = []
    bus.subscribe(lambda e: seen.append(e.session))
    bus.publish(DecryptOk(session="late"))
    assert seen == ["late"]
