"""The message ledger's promise, checked by Hypothesis on virtual time across manager restarts.

Every undecryptable message ends in exactly one outcome, none is counted twice,
and the store holds that same outcome: whatever the order of failures, resends,
phone answers and restarts (a restart is a new SessionManager on the same store).
"""

from __future__ import annotations

import asyncio
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.loop import run
from sessionmgr import Category, DecryptError, DecryptOk, Event, MemoryStore, MockBackend, Policy, SessionManager
from sessionmgr.events import MESSAGE_OUTCOMES, MessageOutcome, PhoneAnswered
from sessionmgr.pseudonym import Pseudonymizer

PEER = "5511999990001@s.whatsapp.net"
IDS = ["m0", "m1", "m2", "m3"]
#: short enough that every closed message is still remembered when it could fail again
#: (40 steps of at most 20 s stay under the 900 s TTL)
SLEEPS = [0.0, 0.5, 2.0, 3.0, 5.0, 8.0, 20.0]

Step = tuple[str, str, float]
steps = st.one_of(
    st.tuples(st.sampled_from(["fail", "fail", "unavailable", "ok", "phone"]), st.sampled_from(IDS), st.just(0.0)),
    st.tuples(st.just("sleep"), st.just(""), st.sampled_from(SLEEPS)),
    st.tuples(st.just("restart"), st.just(""), st.just(0.0)),
)


def observation(kind: str, message_id: str) -> DecryptError | DecryptOk | PhoneAnswered:
    if kind == "ok":
        return DecryptOk(session="bot-1", peer=PEER, message_id=message_id)
    if kind == "phone":
        return PhoneAnswered(session="bot-1", peer=PEER, message_id=message_id)
    category = Category.UNAVAILABLE if kind == "unavailable" else Category.BAD_MAC
    return DecryptError(session="bot-1", peer=PEER, error=category.value, category=category, message_id=message_id)


@settings(max_examples=60, deadline=None)
@given(script=st.lists(steps, min_size=1, max_size=40))
def test_every_undecryptable_message_ends_once_across_restarts(script: list[Step]) -> None:
    """For any script, each failed message id has exactly one outcome, in the events and in the store."""
    store = MemoryStore()
    policy = Policy(unhealthy_threshold=1000.0)

    def manager() -> SessionManager:
        # a stable pseudonym key: the ledger's keys must match across restarts
        return SessionManager(MockBackend(), policy=policy, store=store, pseudonymizer=Pseudonymizer(b"k"))

    async def scenario() -> tuple[list[Event], set[str]]:
        events: list[Event] = []
        failed: set[str] = set()
        current = manager()
        current.bus.subscribe(events.append)
        await current.start()
        for kind, message_id, seconds in script:
            if kind == "sleep":
                await asyncio.sleep(seconds)
            elif kind == "restart":
                await current.aclose()
                current = manager()
                current.bus.subscribe(events.append)
                await current.start()
            else:
                if kind in ("fail", "unavailable"):
                    failed.add(message_id)
                current.observe_nowait(observation(kind, message_id))
        await asyncio.sleep(2 * policy.message_retry_ttl)  # everything still open expires
        await current.drain()
        await current.aclose()
        return events, failed

    events, failed = run(scenario())
    outcomes = [e for e in events if isinstance(e, MessageOutcome)]
    counted = Counter(e.message_id for e in outcomes)
    assert counted == Counter(failed), "each failed message ends exactly once, and nothing else does"
    assert all(e.outcome in MESSAGE_OUTCOMES for e in outcomes)
    stored = {m.message_id: m.outcome for m in run(store.messages())}
    assert stored == {e.message_id: e.outcome for e in outcomes}
