"""The manager's survivors: behaviours of the recovery ladder, cleanup and restore that no test pinned.

Each test names the behaviour it pins; docs/mutation.md lists the hand-made mutant each one kills.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from sessionmgr import (
    BackendCall,
    BackendError,
    Category,
    DecryptError,
    Event,
    MockBackend,
    Policy,
    SessionManager,
    Status,
)
from sessionmgr.recovery.alerts import ERROR_RATE, REGENERATION_FAILED
from sessionmgr.store import AuditEntry, MemoryStore, SessionRecord, WriteBatch

pytestmark = [pytest.mark.asyncio, pytest.mark.virtual_time]

PEER_A = "5511999990001@s.whatsapp.net"

#: the ``started`` fixture (tests/conftest.py): starts a manager, closes it after the test whatever happens
Starter = Callable[..., Awaitable[tuple[SessionManager, list[Event]]]]


def bad_mac(peer: str | None = PEER_A, session: str = "bot-1") -> DecryptError:
    return DecryptError(session=session, peer=peer, error="Bad MAC", category=Category.BAD_MAC)


async def at(t: float) -> None:
    """Sleep until virtual time ``t``."""
    await asyncio.sleep(t - asyncio.get_running_loop().time())


def failing_regeneration(call: BackendCall) -> bytes | None:
    """A backend whose key regeneration always fails; exports give b'KEYS'."""
    if call.method == "regenerate_keys":
        raise BackendError("upload rejected")
    return b"KEYS" if call.method == "export_keys" else None


async def test_a_peer_reset_starts_that_peers_count_afresh(started: Starter) -> None:
    """After a peer's session is reset its failure count restarts: with no throttle, failures 2 and 4 reset, not 3."""
    backend = MockBackend()
    manager, events = await started(backend, policy=Policy(unhealthy_threshold=100, peer_reset_min_interval=0))
    for t in (0, 10, 20, 30):
        await at(t)
        await manager.observe(bad_mac())
    await manager.drain()
    assert [e.t for e in events if e.kind == "peer_reset"] == [10, 30]


async def test_recovering_to_healthy_restarts_the_regeneration_count(started: Starter) -> None:
    """A session that regenerated and then recovered gets a fresh budget: a later storm regenerates, not corrupts."""
    backend = MockBackend()
    # no cleanup pass in the test's span: it would forget the idle session and hide what health did
    policy = Policy(max_regenerations=1, cleanup_interval=10_000)
    manager, events = await started(backend, policy=policy)
    for _ in range(5):
        await manager.observe(bad_mac(peer=None))  # errors with no known peer always count against a regeneration
    await manager.drain()
    await at(400)  # every error is out of the 300 s window: healthy again
    assert manager.get_session_health("bot-1").healthy
    for _ in range(5):
        await manager.observe(bad_mac(peer=None))
    await manager.drain()
    assert [e.kind for e in events].count("regeneration_succeeded") == 2
    assert "corrupted" not in [e.kind for e in events]


async def test_quarantined_keys_are_in_the_store_before_the_purge(started: Starter) -> None:
    """When the backend is told to purge a corrupted session's keys, the store already holds their quarantined copy."""
    store = MemoryStore()
    held_at_purge: list[bytes] = []

    async def handler(call: BackendCall) -> bytes | None:
        if call.method == "purge_keys":
            held_at_purge.extend(q.material for q in await store.quarantined(call.session))
        return failing_regeneration(call)

    manager, _ = await started(MockBackend(handler), store=store, policy=Policy(peer_reset_after=100))
    for _ in range(5):
        await manager.observe(bad_mac())
    await manager.drain()
    assert manager.get_session_health("bot-1").status is Status.CORRUPTED
    assert await manager.cleanup_corrupted_sessions() == ["bot-1"]
    assert held_at_purge == [b"KEYS"]


async def test_a_session_another_process_marked_corrupted_is_cleaned_too(started: Starter) -> None:
    """A record marked corrupted in the shared store by another process (after we started) is quarantined and purged."""
    store = MemoryStore()
    backend = MockBackend(failing_regeneration)
    manager, _ = await started(backend, store=store)
    since = manager.clock.wall()
    await store.apply(
        WriteBatch(records=[SessionRecord(session="bot-9", status=Status.CORRUPTED, corrupted_since=since)])
    )
    assert await manager.cleanup_corrupted_sessions() == ["bot-9"]
    assert ("purge_keys", "bot-9") in [(c.method, c.session) for c in backend.calls]
    record = await store.load("bot-9")
    assert record is not None and record.cleaned and record.status is Status.DISCONNECTED


async def test_an_alert_resolved_before_a_restart_is_not_active_after_it(started: Starter) -> None:
    """On restore, an alert whose 'resolved' follows its 'fired' in the audit is over; one never resolved is active."""
    store = MemoryStore()
    first, _ = await started(MockBackend(), store=store)
    now = first.clock.wall()
    await first.aclose()
    audit = [
        AuditEntry(
            at=now - timedelta(seconds=60), session="bot-1", kind="alert_fired", detail={"rule": REGENERATION_FAILED}
        ),
        AuditEntry(
            at=now - timedelta(seconds=30), session="bot-1", kind="alert_resolved", detail={"rule": REGENERATION_FAILED}
        ),
        AuditEntry(at=now - timedelta(seconds=20), session="bot-2", kind="alert_fired", detail={"rule": ERROR_RATE}),
    ]
    await store.apply(WriteBatch(audit=audit))
    second, _ = await started(MockBackend(), store=store)
    assert [(a.rule, a.session) for a in second.active_alerts()] == [(ERROR_RATE, "bot-2")]


async def test_a_session_unhealthy_before_a_restart_comes_back_healthy(started: Starter) -> None:
    """Errors are not persisted, so a record left UNHEALTHY is restored (and written back) as HEALTHY."""
    store = MemoryStore()
    await store.apply(WriteBatch(records=[SessionRecord(session="bot-1", status=Status.UNHEALTHY, errors=7)]))
    manager, _ = await started(MockBackend(), store=store)
    assert manager.get_session_health("bot-1").status is Status.HEALTHY
    await manager.drain()
    record = await store.load("bot-1")
    assert record is not None and record.status is Status.HEALTHY and record.errors == 7


async def test_a_failed_regeneration_is_counted_in_the_record(started: Starter) -> None:
    """Each regeneration that exhausts its retries adds one to the record's regeneration_failures."""
    store = MemoryStore()
    manager, _ = await started(MockBackend(failing_regeneration), store=store, policy=Policy(peer_reset_after=100))
    for _ in range(5):
        await manager.observe(bad_mac())
    await manager.drain()
    record = await store.load("bot-1")
    assert record is not None and record.regeneration_failures == 1 and record.regenerations == 0


async def test_error_counts_accumulate_across_writes(started: Starter) -> None:
    """The record's error count adds each health interval's new errors to what was stored, never replaces it."""
    store = MemoryStore()
    policy = Policy(unhealthy_threshold=100, peer_reset_after=100, health_check_interval=120)
    manager, _ = await started(MockBackend(), store=store, policy=policy)
    for _ in range(3):
        await manager.observe(bad_mac())
    await at(121)  # the health check writes 3
    await manager.drain()
    first = await store.load("bot-1")
    assert first is not None and first.errors == 3
    for _ in range(2):
        await manager.observe(bad_mac())
    await at(241)  # and then 2 more
    await manager.drain()
    record = await store.load("bot-1")
    assert record is not None and record.errors == 5


async def test_re_pairing_clears_corrupted_since(started: Starter) -> None:
    """A corrupted session whose connection opens again (re-paired) is healthy with no corrupted_since, here and in the store."""
    store = MemoryStore()
    manager, _ = await started(MockBackend(failing_regeneration), store=store, policy=Policy(peer_reset_after=100))
    for _ in range(5):
        await manager.observe(bad_mac())
    await manager.drain()
    assert manager.get_session_health("bot-1").corrupted_since is not None
    await manager.connection_changed("bot-1", open=True)
    await manager.drain()
    health = manager.get_session_health("bot-1")
    assert health.status is Status.HEALTHY and health.corrupted_since is None
    record = await store.load("bot-1")
    assert record is not None and record.corrupted_since is None and not record.cleaned
