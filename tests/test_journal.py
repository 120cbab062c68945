"""The journal writes batches in decision order, at once when the store can, whatever the store makes them wait."""

from __future__ import annotations

import asyncio
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime

import pytest

from sessionmgr.clock import LoopClock
from sessionmgr.events import ResendRequested
from sessionmgr.pseudonym import Pseudonymizer
from sessionmgr.recovery.journal import Journal
from sessionmgr.store import MemoryStore, MessageRecord, QuarantineEntry, SessionRecord, WriteBatch

pytestmark = pytest.mark.asyncio

T0 = datetime(2026, 1, 1, tzinfo=UTC)


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


class Recording(MemoryStore):
    """A memory store that keeps each transaction's sessions and attempt times, waiting or failing on the calls named."""

    def __init__(
        self,
        *,
        wait_on: AbstractSet[int] = frozenset(),
        fail_on: AbstractSet[int] = frozenset(),
        fail_after_wait: bool = False,
    ) -> None:
        super().__init__()
        self.transactions: list[list[str]] = []
        self.attempts: list[float] = []
        self._wait_on, self._fail_on, self._fail_after_wait = wait_on, fail_on, fail_after_wait

    async def apply(self, batch: WriteBatch) -> None:
        self.attempts.append(asyncio.get_running_loop().time())
        call = len(self.attempts)
        if call in self._fail_on and not self._fail_after_wait:
            raise OSError("disk unavailable")
        if call in self._wait_on:
            await asyncio.sleep(0)
            await asyncio.sleep(0)
        if call in self._fail_on:
            raise OSError("disk unavailable")
        self.transactions.append([r.session for r in batch.records])
        await super().apply(batch)


def _record(journal: Journal, session: str) -> None:
    journal.record(SessionRecord(session=session, updated_at=datetime(2026, 1, 1, tzinfo=UTC)))


async def test_a_memory_store_is_written_in_the_step_its_batch_is_flushed() -> None:
    """With nothing ahead and a store that never waits, a step's batch is in the store before the next step runs."""
    store = Recording()
    journal = Journal(store, Pseudonymizer(b"k"))
    journal.start()
    _record(journal, "a")
    await asyncio.sleep(0)  # the flush, scheduled first, runs before this task resumes; the writer would run after
    assert store.transactions == [["a"]]
    assert journal.queued_rows == 0
    await journal.commit()
    await journal.close()


async def test_batches_reach_a_store_that_sometimes_waits_in_order_one_transaction_each() -> None:
    """Writes done at once, writes that had to wait and batches queued behind them land in decision order."""
    store = Recording(wait_on={1, 3, 4})
    journal = Journal(store, Pseudonymizer(b"k"))
    journal.start()
    names = [f"s{i}" for i in range(10)]
    for name in names:
        _record(journal, name)
        await asyncio.sleep(0)  # each in its own step: its own batch
    await journal.commit()
    assert [name for transaction in store.transactions for name in transaction] == names
    assert len(store.attempts) == len(store.transactions)  # nothing written twice, nothing failed
    await journal.close()


@pytest.mark.virtual_time
@pytest.mark.parametrize("fail_after_wait", [False, True], ids=["fails-at-once", "fails-after-waiting"])
async def test_an_eager_write_that_fails_is_retried_after_the_backoff_with_later_decisions_in_order(
    fail_after_wait: bool,
) -> None:
    """A failed eager write is retried after the first backoff, joined in order by what was decided meanwhile."""
    store = Recording(fail_on={1}, fail_after_wait=fail_after_wait, wait_on={1})
    journal = Journal(store, Pseudonymizer(b"k"), LoopClock())
    journal.start()
    loop = asyncio.get_running_loop()
    started = loop.time()
    _record(journal, "a")
    for name in ("b", "c"):  # decided while the first write fails and backs off
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        _record(journal, name)
    await asyncio.sleep(0.1)
    assert journal.write_failures == 1 and store.transactions == []
    assert journal.queued_rows == 3  # nothing dropped while waiting
    await asyncio.sleep(1.0)
    assert store.transactions == [["a", "b", "c"]]  # one retried transaction, in decision order
    assert [t - started for t in store.attempts] == [0.0, pytest.approx(0.5)]
    _record(journal, "d")  # written again at once once the store is back
    await asyncio.sleep(0)
    assert store.transactions[-1] == ["d"]
    await journal.close()
    assert journal.queued_rows == 0


class CountingPseudonymizer(Pseudonymizer):
    """Counts the pseudonyms it makes: one per audit entry made for a decision with a peer."""

    made = 0

    def pseudonym(self, identifier: str, prefix: str = "peer") -> str:
        self.made += 1
        return super().pseudonym(identifier, prefix)


class OwnApply(MemoryStore):
    """A memory store with an apply of its own (as a test twin has): the journal makes its audit entries at once."""

    async def apply(self, batch: WriteBatch) -> None:
        await super().apply(batch)


async def test_a_memory_store_makes_audit_entries_only_when_read_and_only_those_it_keeps() -> None:
    """Five decisions into a memory store keeping two: no entry is made until read, then the two kept, equal to
    the entries made at once for a store with its own apply."""
    stores: list[MemoryStore] = [MemoryStore(max_audit=2), OwnApply(max_audit=2)]
    pseudonymizers = [CountingPseudonymizer(b"k"), CountingPseudonymizer(b"k")]
    for store, pseudonymizer in zip(stores, pseudonymizers, strict=True):
        journal = Journal(store, pseudonymizer)
        journal.start()
        for i in range(5):
            journal.audit(ResendRequested(session="s", peer=f"4915100000{i:02d}@s.whatsapp.net", message_id=f"m{i}"))
            await asyncio.sleep(0)
        await journal.commit()
        await journal.close()
    assert [p.made for p in pseudonymizers] == [0, 5]
    lazy, eager = [await store.audit() for store in stores]
    assert [e.detail["message_id"] for e in lazy] == ["m3", "m4"]
    assert lazy == eager
    assert pseudonymizers[0].made == 2
    assert await stores[0].audit("s") == lazy and pseudonymizers[0].made == 2  # made once, kept made


async def test_a_plain_memory_store_holds_each_row_as_soon_as_it_is_decided() -> None:
    """Once started, a journal on a memory store with its own apply writes every row in the call that decides it:
    nothing is queued, and no loop step passes before the store has it; before start, rows wait as for any store."""
    store = MemoryStore()
    journal = Journal(store, Pseudonymizer(b"k"))
    _record(journal, "early")
    assert journal.queued_rows == 1 and await store.records() == []
    journal.start()
    assert [r.session for r in await store.records()] == ["early"]  # what was decided before, first
    _record(journal, "a")
    journal.message(MessageRecord(session="a", peer="p", message_id="m", first_failed_at=T0, last_failed_at=T0))
    journal.quarantine(QuarantineEntry(at=T0, session="a", material=b"k"))
    journal.audit(ResendRequested(session="a", peer="p", message_id="m"))
    assert journal.queued_rows == 0
    assert [r.session for r in await store.records()] == ["a", "early"]
    assert [(m.session, m.message_id) for m in await store.messages()] == [("a", "m")]
    assert [q.material for q in await store.quarantined()] == [b"k"]
    assert [(e.session, e.kind) for e in await store.audit()] == [("a", "resend_requested")]
    await journal.close()
