"""The manager's message ledger checked against the world's ground truth (what really became of each message)."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from harness.loop import VirtualLoop
from harness.simulate import SimConfig, SimResult, simulate
from sessionmgr.events import MessageOutcome

pytestmark = [pytest.mark.scenario]

SMALL = SimConfig(seed=3, sessions=4, peers_per_session=10, hours=6, message_interval=600, fault_scale=2.0)


def run(seed: int) -> SimResult:
    with asyncio.Runner(loop_factory=VirtualLoop) as runner:
        return runner.run(simulate(dataclasses.replace(SMALL, seed=seed), keep_events=True))


@pytest.mark.parametrize("seed", [3, 4])
def test_the_manager_never_claims_a_message_the_world_did_not_deliver(seed: int) -> None:
    """A resolved outcome names a message the world delivered; a message the world lost is never called resolved."""
    result = run(seed)
    outcomes = [e for e in result.events or [] if isinstance(e, MessageOutcome)]
    assert outcomes  # the faults made undecryptable messages
    world = result.world.messages
    for outcome in outcomes:
        message = world[outcome.message_id]
        if outcome.outcome.startswith("resolved"):
            assert message.status == "delivered", (outcome, message.reason)
    claimed = {e.message_id for e in outcomes if e.outcome.startswith("resolved")}
    assert not [m.id for m in world.values() if m.status == "lost" and m.id in claimed]
    # every message lost undecryptable has an outcome, unless all the manager saw was a duplicate (it ignores those)
    undecryptable = {
        m.id for m in world.values() if m.status == "lost" and (m.reason or "").startswith("undecryptable")
    }
    ignored = {m.id for m in world.values() if m.last_error == "duplicate"}
    assert undecryptable - ignored <= {e.message_id for e in outcomes}
