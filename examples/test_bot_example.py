"""A bot developer's tests, written from the README's "Testing your bot with the pytest plugin" section alone.

They run on virtual time (a day takes well under a second) and against a simulated
WhatsApp world whose Signal sessions really break; CI runs them as part of the suite.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Callable

import pytest

from harness.faults import Burst, FaultPlan, schedule
from harness.world import SimWorld
from sessionmgr import Event, RegenerationSucceeded, SessionManager

pytest_plugins = ["pytester"]

WorldFactory = Callable[..., SimWorld]
ManagerFactory = Callable[..., SessionManager]


async def chat(world: SimWorld, seconds: float, every: float = 60.0) -> None:
    """Every peer sends its bot a message every ``every`` seconds, for ``seconds`` of virtual time."""
    for _ in range(int(seconds // every)):
        for jid in sorted(world.peers):
            world.send(jid, b"hello bot")
        await asyncio.sleep(every)


@pytest.mark.virtual_time
async def test_a_quiet_virtual_day(world_factory: WorldFactory, manager_factory: ManagerFactory) -> None:
    """A day of traffic without faults: every message delivered, both bots healthy, 24 h of virtual time."""
    world = world_factory(sessions=2, peers=5)
    async with manager_factory(world) as manager:
        await chat(world, seconds=24 * 3600, every=600)
        await manager.drain()
    world.finish()
    assert asyncio.get_running_loop().time() == 24 * 3600
    delivery = world.delivery()
    assert delivery["sent"] == 10 * 144
    assert delivery["lost"] == 0
    assert all(manager.get_session_health(bot).healthy for bot in world.bots)


@pytest.mark.virtual_time
async def test_a_bad_mac_storm_is_recovered(
    world_factory: WorldFactory, manager_factory: ManagerFactory, chaos_rng: random.Random
) -> None:
    """Twenty corrupted chains on bot-01: the manager regenerates its keys, it is healthy again, nothing is lost."""
    world = world_factory(sessions=2, peers=5)
    events: list[Event] = []
    async with manager_factory(world) as manager:
        manager.bus.subscribe(events.append)
        storm = FaultPlan((Burst("corrupt_chain_key", "bot-01", at=600, count=20, over=1),))
        schedule(storm, world, chaos_rng, horizon=3600)
        await chat(world, seconds=3600, every=60)
        await manager.drain()
    world.finish()
    regenerated = [e for e in events if isinstance(e, RegenerationSucceeded)]
    assert [e.session for e in regenerated] == ["bot-01"]
    assert manager.get_session_health("bot-01").healthy
    assert manager.get_session_health("bot-02").errors_in_window == 0
    assert world.delivery()["lost"] == 0


# The failure a developer provokes on purpose: it claims bot-01 shrugs off the storm without a
# regeneration. Run in a pytest of its own (pytester), so CI checks what it prints without failing.
DELIBERATE_FAILURE = """
import asyncio
import pytest
from harness.faults import Burst, FaultPlan, schedule


@pytest.mark.virtual_time
async def test_storm_needs_no_regeneration(world_factory, manager_factory, chaos_rng):
    world = world_factory(sessions=1, peers=5)
    async with manager_factory(world) as manager:
        storm = FaultPlan((Burst("corrupt_chain_key", "bot-01", at=600, count=20, over=1),))
        schedule(storm, world, chaos_rng, horizon=900)
        for _ in range(15):
            for jid in sorted(world.peers):
                world.send(jid, b"hello bot")
            await asyncio.sleep(60)
        await manager.drain()
    assert manager.get_session_stats().overall.regenerations == 0, "bot-01 needed a regeneration"
"""


def test_a_failure_prints_its_replay_command(pytester: pytest.Pytester) -> None:
    """A failing chaos test prints the exact command that replays it, and that command fails the same way."""
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_deliberate=DELIBERATE_FAILURE)
    first = pytester.runpytest("-p", "no:cacheprovider")
    first.assert_outcomes(failed=1)
    first.stdout.fnmatch_lines(["*bot-01 needed a regeneration*"])
    command = re.search(r"pytest '([^']+)' --chaos-seed (\d+)", first.stdout.str())
    assert command is not None, "no replay command printed"
    nodeid, seed = command.groups()
    assert nodeid == "test_deliberate.py::test_storm_needs_no_regeneration"
    again = pytester.runpytest(nodeid, "--chaos-seed", seed, "-p", "no:cacheprovider")
    again.assert_outcomes(failed=1)
    again.stdout.fnmatch_lines([f"*sessionmgr chaos seed: {seed}*", "*bot-01 needed a regeneration*"])
