"""The store writer's backlog (queued rows, failed writes, dropped audit entries) is exported as metrics."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from prometheus_client import generate_latest

from sessionmgr import Category, DecryptError, MockBackend, Pseudonymizer, SessionCorrupted, SessionManager
from sessionmgr.clock import LoopClock
from sessionmgr.monitoring.http import monitoring
from sessionmgr.monitoring.metrics import METRIC_NAMES, MetricsSink
from sessionmgr.recovery.journal import Journal
from sessionmgr.store import MemoryStore, SessionRecord, Status, WriteBatch

pytestmark = [pytest.mark.asyncio, pytest.mark.virtual_time]

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Refusing(MemoryStore):
    """A memory store whose writes fail while ``down`` is set, as a store on a dead disk would."""

    def __init__(self) -> None:
        super().__init__()
        self.down = True

    async def apply(self, batch: WriteBatch) -> None:
        if self.down:
            raise OSError("disk unavailable")
        await super().apply(batch)


async def test_the_backlog_of_a_failing_store_is_scraped_as_it_is_now() -> None:
    """While the store fails, the scrape shows the rows waiting, the failed writes and the audit entries dropped."""
    store = Refusing()
    journal = Journal(store, Pseudonymizer(b"k"), LoopClock(), max_queued_rows=50)
    metrics = MetricsSink()
    metrics.store_writes(journal)
    metrics.store_writes(journal)  # a second call is harmless (one collector per sink)
    sample = metrics.registry.get_sample_value
    journal.start()
    for i in range(100):
        journal.record(SessionRecord(session="bot", status=Status.CORRUPTED, errors=i))
        journal.audit(SessionCorrupted(at=T0, session="bot", reason=f"decision {i}"))
    await asyncio.sleep(10)
    assert journal.write_failures > 0 and journal.dropped_audit > 0
    assert sample("sessionmgr_store_queued_rows") == journal.queued_rows == 50
    assert sample("sessionmgr_store_write_failures_total") == journal.write_failures
    assert sample("sessionmgr_store_dropped_audit_total") == journal.dropped_audit == 51
    store.down = False
    await journal.commit()
    assert sample("sessionmgr_store_queued_rows") == 0
    await journal.close()


async def test_the_monitoring_endpoint_exports_the_managers_store_backlog() -> None:
    """``monitoring(manager)`` wires the manager's store writer into /metrics, named as METRIC_NAMES lists."""
    store = Refusing()
    manager = SessionManager(MockBackend(), store=store)
    server = monitoring(manager, port=0)
    async with manager:
        manager.observe_nowait(DecryptError(session="bot", error="Bad MAC", category=Category.BAD_MAC))
        await asyncio.sleep(5)
        text = generate_latest(server.metrics.registry).decode()
        failures = server.metrics.registry.get_sample_value("sessionmgr_store_write_failures_total")
        assert failures is not None and failures >= 1
        assert "sessionmgr_store_queued_rows" in text
        names = {"sessionmgr_store_queued_rows", "sessionmgr_store_write_failures_total"}
        assert names | {"sessionmgr_store_dropped_audit_total"} <= METRIC_NAMES
        store.down = False
