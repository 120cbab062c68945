"""The manager's health and cleanup ticks skip idle stretches yet miss nothing that has work."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from harness.postgres import HOW_TO_RUN, fresh_schema, server_url
from sessionmgr import (
    AlertFired,
    AlertResolved,
    BackendCall,
    BackendError,
    Category,
    DecryptError,
    DecryptOk,
    Event,
    HealthChecked,
    MockBackend,
    Policy,
    SessionCleaned,
    SessionManager,
    Status,
)
from sessionmgr.store import SessionRecord, Store, WriteBatch
from sessionmgr.store.sqlite import SQLiteStore

pytestmark = [pytest.mark.asyncio, pytest.mark.virtual_time]

Starter = Callable[..., Awaitable[tuple[SessionManager, list[Event]]]]
DAY = 86_400.0
MONTH = 30 * DAY


def bad_mac(peer: int, session: str = "bot-1") -> DecryptError:
    return DecryptError(session=session, peer=f"peer-{peer}", error="Bad MAC", category=Category.BAD_MAC)


def checks(events: list[Event]) -> list[float]:
    return [e.t for e in events if isinstance(e, HealthChecked)]


def never_regenerates(call: BackendCall) -> bytes | None:
    if call.method == "regenerate_keys":
        raise BackendError("upload rejected")
    return b"KEYS" if call.method == "export_keys" else None


async def test_a_manager_with_nothing_to_do_does_not_tick_through_a_quiet_month(started: Starter) -> None:
    """An idle manager reports health for one window after it starts, then not again through a month."""
    _, events = await started(MockBackend())
    await asyncio.sleep(MONTH)
    assert checks(events) == [120.0, 240.0]  # one 300 s window after the start, then nothing


async def test_health_checks_resume_on_their_grid_after_activity(started: Starter) -> None:
    """After a quiet month, an observation brings health checks back at the next 120 s tick of the same grid."""
    manager, events = await started(MockBackend())
    await asyncio.sleep(MONTH + 50)
    await manager.observe(DecryptOk(session="bot-1", peer="peer-1"))
    await asyncio.sleep(DAY)
    resumed = [t for t in checks(events) if t > MONTH]
    assert resumed[:3] == [MONTH + 120, MONTH + 240, MONTH + 360]
    assert len(resumed) <= 4  # one window (plus the tick that ends it) after the observation


async def test_a_session_corrupted_after_a_quiet_month_is_cleaned_at_the_next_cleanup_tick(started: Starter) -> None:
    """Cleanup sleeps through a quiet month, yet purges a session corrupted after it at its next 300 s tick."""
    store_backend = MockBackend(never_regenerates)
    manager, events = await started(store_backend, policy=Policy(peer_reset_after=100))
    await asyncio.sleep(MONTH + 10)
    for peer in range(5):
        await manager.observe(bad_mac(peer))
    await manager.drain()
    assert manager.get_session_health("bot-1").status is Status.CORRUPTED
    await asyncio.sleep(DAY)
    cleaned = [e for e in events if isinstance(e, SessionCleaned)]
    assert [(e.session, e.t) for e in cleaned] == [("bot-1", MONTH + 300)]
    assert manager.get_session_health("bot-1").status is Status.DISCONNECTED


async def test_the_error_rate_alert_resolves_on_time_with_nothing_else_happening(started: Starter) -> None:
    """An error-rate alert fired at a health tick resolves at the first tick after its attempts leave the window."""
    manager, events = await started(MockBackend(), policy=Policy(peer_reset_after=100, unhealthy_threshold=1000))
    await asyncio.sleep(MONTH + 10)
    for peer in range(25):
        await manager.observe(bad_mac(peer))
    await asyncio.sleep(DAY)
    fired = [e for e in events if isinstance(e, AlertFired) and e.rule == "crypto_error_rate_high"]
    resolved = [e for e in events if isinstance(e, AlertResolved) and e.rule == "crypto_error_rate_high"]
    assert [e.t for e in fired] == [MONTH + 120]
    assert [e.t for e in resolved] == [MONTH + 360]  # the attempts at +10 left (t - 300, t] at +310


async def test_a_healthy_session_is_still_forgotten_when_its_windows_age_out(started: Starter) -> None:
    """Cleanup keeps ticking while a healthy session waits to be forgotten, so it is, with nothing else happening."""
    manager, _ = await started(MockBackend())
    await asyncio.sleep(MONTH)
    await manager.observe(bad_mac(1))
    await manager.drain()
    assert manager.sessions() == ["bot-1"]
    await asyncio.sleep(DAY)
    assert manager.sessions() == []


async def _cleaned_after_a_quiet_month(
    started: Starter, store: Store, other: Callable[[], Store]
) -> list[tuple[str, float]]:
    """What a manager on ``store`` cleans once ``other()``, another process on its database, marks bot-9 corrupted."""
    manager, events = await started(MockBackend(never_regenerates), store=store)
    await asyncio.sleep(MONTH + 10)
    writer = other()
    since = datetime(2026, 1, 31, tzinfo=UTC)
    record = SessionRecord(session="bot-9", status=Status.CORRUPTED, corrupted_since=since, updated_at=since)
    await writer.apply(WriteBatch(records=[record]))
    await writer.close()
    await asyncio.sleep(600)
    await manager.aclose()
    await store.close()
    return [(e.session, e.t) for e in events if isinstance(e, SessionCleaned)]


async def test_cleanup_keeps_watching_a_store_another_process_writes(started: Starter, tmp_path: Path) -> None:
    """With an SQLite store, a session another process marks corrupted after a quiet month is still cleaned."""
    path = tmp_path / "shared.db"
    cleaned = await _cleaned_after_a_quiet_month(started, SQLiteStore(path), lambda: SQLiteStore(path))
    assert cleaned == [("bot-9", MONTH + 300)]


class CountingReads(SQLiteStore):
    """An SQLite store that counts how often cleanup reads every record."""

    reads = 0

    async def records(self) -> list[SessionRecord]:
        self.reads += 1
        return await super().records()


async def test_cleanup_reads_an_unchanged_shared_store_once(started: Starter, tmp_path: Path) -> None:
    """Over a quiet day, cleanup looks at an SQLite store's version each tick but reads its records at most twice."""
    store = CountingReads(tmp_path / "quiet.db")
    manager, _ = await started(MockBackend(), store=store)
    await asyncio.sleep(DAY)
    assert store.reads <= 2  # the first tick, and one after our own writes that followed it; before: 288
    await manager.aclose()
    await store.close()


async def test_a_lease_left_by_a_dead_process_is_taken_once_it_expires(started: Starter, tmp_path: Path) -> None:
    """A corrupted record whose lease another process holds (and never renews) is cleaned once the lease runs out."""
    path = tmp_path / "leased.db"
    other = SQLiteStore(path)
    since = datetime(2026, 1, 1, tzinfo=UTC)
    record = SessionRecord(session="bot-9", status=Status.CORRUPTED, corrupted_since=since, updated_at=since)
    await other.apply(WriteBatch(records=[record]))
    assert await other.claim("bot-9", "dead-worker", since, since + timedelta(seconds=1000))
    await other.close()
    store = SQLiteStore(path)
    manager, events = await started(MockBackend(never_regenerates), store=store)
    await asyncio.sleep(DAY)
    cleaned = [(e.session, e.t) for e in events if isinstance(e, SessionCleaned)]
    assert cleaned == [("bot-9", 1200.0)]  # refused at 300, 600 and 900; free at the 1200 s tick
    await manager.aclose()
    await store.close()


async def test_cleanup_watches_a_postgres_store_another_process_writes(started: Starter) -> None:
    """With PostgreSQL, a session another connection marks corrupted after a quiet month is cleaned at the next tick."""
    server = server_url()
    if server is None:
        pytest.skip(HOW_TO_RUN)
    from sessionmgr.store.postgres import PostgresStore

    url = fresh_schema(server)
    cleaned = await _cleaned_after_a_quiet_month(started, PostgresStore(url), lambda: PostgresStore(url))
    assert cleaned == [("bot-9", MONTH + 300)]
