"""MessageLedger on its own: budgets, exactly one outcome per message, restore from the store."""

from __future__ import annotations

import asyncio

import pytest

from sessionmgr import Category, DecryptError, EventBus, MemoryStore, Policy
from sessionmgr.clock import LoopClock
from sessionmgr.events import MessageOutcome
from sessionmgr.pseudonym import Pseudonymizer
from sessionmgr.recovery.journal import Journal
from sessionmgr.recovery.messages import MessageLedger
from sessionmgr.recovery.publish import Publisher
from sessionmgr.recovery.tasks import TaskSupervisor

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
