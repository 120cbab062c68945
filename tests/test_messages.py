"""MessageLedger on its own: budgets, exactly one outcome per message, restore from the store."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sessionmgr import Category, DecryptError, EventBus, MemoryStore, Policy
from sessionmgr.clock import LoopClock
from sessionmgr.events import MessageOutcome
from sessionmgr.pseudonym import Pseudonymizer
from sessionmgr.recovery.journal import Journal
from sessionmgr.recovery.messages import FINISHED_RETENTION, MessageLedger, _evolved
from sessionmgr.recovery.publish import Publisher
from sessionmgr.recovery.tasks import TaskSupervisor
from sessionmgr.store import MessageRecord

pytestmark = [pytest.mark.asyncio, pytest.mark.virtual_time]

PEER = "5511999990001@s.whatsapp.net"


class Rig:
    """A ledger over a memory store on the running loop's clock, recording its outcomes."""

    def __init__(self, store: MemoryStore, policy: Policy | None = None) -> None:
        clock = LoopClock()
        bus = EventBus()
        self.emit = Publisher(clock, bus)
        self.tasks = TaskSupervisor(clock)
        self.journal = Journal(store, Pseudonymizer(b"k"))
        self.journal.start()
        self.ledger = MessageLedger(
            policy or Policy(), clock, self.emit, self.tasks, self.journal, pseudonymizer=Pseudonymizer(b"k")
        )
        self.outcomes: list[MessageOutcome] = []
        bus.subscribe(lambda e: self.outcomes.append(e) if isinstance(e, MessageOutcome) else None)

    def failure(self, message_id: str) -> DecryptError:
        return self.emit(DecryptError(session="s", peer=PEER, error="Bad MAC", category=Category.BAD_MAC,
                                      message_id=message_id))  # fmt: skip

    async def close(self) -> None:
        await self.tasks.cancel_all()
        await self.journal.close()


async def test_budget_counts_retries_and_the_next_failure_after_it_expires() -> None:
    """With a budget of 2, two failures take retries 1 and 2; the third ends the message as expired."""
    rig = Rig(MemoryStore(), Policy(message_retry_max=2))
    taken = []
    for _ in range(3):
        entry = rig.ledger.open(rig.failure("m1"))
        taken.append(rig.ledger.take_retry(entry) if entry is not None else "closed")
    assert taken == [1, 2, None]
    assert [(o.message_id, o.outcome) for o in rig.outcomes] == [("m1", "expired")]
    assert rig.ledger.open(rig.failure("m1")) is None  # ended: a late failure does not reopen it
    await rig.close()


async def test_a_message_closes_once_whatever_comes_after() -> None:
    """Resolving, losing and resolving again publish a single outcome: the first."""
    rig = Rig(MemoryStore())
    rig.ledger.open(rig.failure("m1"))
    assert rig.ledger.resolve("s", PEER, "m1", "resolved_sender")
    rig.ledger.close_session("s", "lost")
    assert not rig.ledger.resolve("s", None, "m1", "resolved_phone")
    assert [(o.message_id, o.outcome) for o in rig.outcomes] == [("m1", "resolved_sender")]
    await rig.close()


async def test_open_messages_are_restored_with_their_budget_and_ttl_and_closed_ones_stay_closed() -> None:
    """After a restart an open message keeps its retries and expires on its old TTL; a closed one is not reopened."""
    store = MemoryStore()
    first = Rig(store, Policy(message_retry_ttl=100))
    entry = first.ledger.open(first.failure("open"))
    assert entry is not None and first.ledger.take_retry(entry) == 1
    first.ledger.open(first.failure("done"))
    first.ledger.resolve("s", PEER, "done", "resolved_phone")
    await asyncio.sleep(30)
    await first.close()

    second = Rig(store, Policy(message_retry_ttl=100))
    second.ledger.restore(await store.messages(), asyncio.get_running_loop().time())
    assert second.ledger.open(second.failure("done")) is None
    again = second.ledger.open(second.failure("open"))
    assert again is not None and second.ledger.take_retry(again) == 2
    await asyncio.sleep(200)
    assert [(o.message_id, o.outcome, o.t, o.waited) for o in second.outcomes] == [("open", "expired", 130.0, 130.0)]
    rows = {m.message_id: (m.outcome, m.retries) for m in await store.messages()}
    assert rows == {"done": ("resolved_phone", 0), "open": ("expired", 2)}
    await second.close()


async def test_closed_ids_are_remembered_past_the_ttl_and_forgotten_after_the_retention() -> None:
    """A message closed at 0 is still closed at 2 TTLs (a failure then is ignored) and dropped after the retention."""
    rig = Rig(MemoryStore(), Policy(message_retry_ttl=100))
    rig.ledger.open(rig.failure("m1"))
    rig.ledger.resolve("s", PEER, "m1", "resolved_sender")
    await asyncio.sleep(200)
    assert rig.ledger.open(rig.failure("m1")) is None
    assert rig.ledger.footprint() == {"open_messages": 0, "closed_messages": 1}
    await asyncio.sleep(FINISHED_RETENTION)
    assert rig.ledger.footprint() == {"open_messages": 0, "closed_messages": 0}
    assert [(o.message_id, o.outcome) for o in rig.outcomes] == [("m1", "resolved_sender")]
    await rig.close()


async def test_remembering_a_closed_id_does_not_delay_a_later_message_s_ttl() -> None:
    """m1 closed at 0 is remembered for a day; m2 failing at 1000 still expires at exactly 1000 + 900."""
    rig = Rig(MemoryStore())
    rig.ledger.open(rig.failure("m1"))
    rig.ledger.resolve("s", PEER, "m1", "resolved_sender")
    await asyncio.sleep(1000)
    rig.ledger.open(rig.failure("m2"))
    await asyncio.sleep(1000)
    assert [(o.message_id, o.outcome, o.t) for o in rig.outcomes] == [
        ("m1", "resolved_sender", 0),
        ("m2", "expired", 1900),
    ]
    await rig.close()


async def test_the_ledgers_record_copy_keeps_every_field() -> None:
    """The ledger's copy of a row (evolve without dataclasses.replace) carries every field of MessageRecord."""
    at = datetime(2026, 1, 1, tzinfo=UTC)
    values: dict[str, Any] = {"session": "s", "peer": "p", "message_id": "m", "first_failed_at": at,
                              "last_failed_at": at + timedelta(seconds=1), "retries": 3, "outcome": "expired",
                              "closed_at": at + timedelta(seconds=2), "waited": 2.0}  # fmt: skip
    assert set(values) == {f.name for f in dataclasses.fields(MessageRecord)}, "a new field: copy it in _evolved"
    record = MessageRecord(**values)
    later = at + timedelta(seconds=5)
    assert _evolved(record, later, 4, None, None, None) == record.evolve(
        last_failed_at=later, retries=4, outcome=None, closed_at=None, waited=None
    )
    assert _evolved(record, record.last_failed_at, 3, "expired", record.closed_at, 2.0) == record
