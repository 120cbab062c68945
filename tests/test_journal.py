"""The journal writes batches in decision order, whatever the store makes them wait."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from sessionmgr.pseudonym import Pseudonymizer
from sessionmgr.recovery.journal import Journal
from sessionmgr.store import MemoryStore, SessionRecord, WriteBatch

pytestmark = pytest.mark.asyncio


class SlowStore(MemoryStore):
    """A store whose writes wait on the loop a varying number of steps, as a database's would."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[str] = []
        self._calls = 0

    async def apply(self, batch: WriteBatch) -> None:
        self._calls += 1
        for _ in range(5 if self._calls == 1 else self._calls % 2):  # the first waits longest: later ones
            await asyncio.sleep(0)  # could overtake it
        self.written += [r.session for r in batch.records]
        await super().apply(batch)


async def test_batches_reach_a_waiting_store_in_decision_order() -> None:
    """Batches from successive loop steps are written in the order they were decided, none overtaking."""
    store = SlowStore()
    journal = Journal(store, Pseudonymizer(b"k"))
    journal.start()
    names = [f"s{i}" for i in range(8)]
    for name in names:
        journal.record(SessionRecord(session=name, updated_at=datetime(2026, 1, 1, tzinfo=UTC)))
        await asyncio.sleep(0)  # each in its own step: its own batch
    await journal.close()
    assert store.written == names
