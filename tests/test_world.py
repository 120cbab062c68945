"""The world's backend and its delivery accounting."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from harness.faults import FAULTS
from harness.world import SimWorld, WorldBackend
from sessionmgr import BackendError, Event, Policy, SessionManager, Status

pytestmark = [pytest.mark.asyncio, pytest.mark.virtual_time]


async def test_resend_first_on_the_same_session_then_from_a_fresh_bundle(
    world_factory: Callable[..., SimWorld],
) -> None:
    """The first retry receipt re-encrypts on the same chain; the second starts a new session."""
    events: list[Event] = []
    world = world_factory(sessions=1, peers=1, observer=events.append)
    jid = next(iter(world.peers))
    world.send(jid, b"one")
    FAULTS["corrupt_chain_key"](world, "bot-01", world.rng)
    message = world.send(jid, b"two")
    backend = WorldBackend(world)
    await backend.request_resend("bot-01", jid, message.id)
    await asyncio.sleep(world.config.resend_latency)
    assert message.status == "pending"
    first = world.peers[jid].last_frame
    assert first is not None and first.type == "msg"
    await backend.request_resend("bot-01", jid, message.id)
    await asyncio.sleep(world.config.resend_latency)
    frame = world.peers[jid].last_frame
    assert frame is not None and frame.type == "pkmsg"
    assert message.status == "delivered"  # type: ignore[comparison-overlap]  # changed by the awaited resend
    assert message.recovered


async def test_sender_gives_up_after_max_resends(world_factory: Callable[..., SimWorld]) -> None:
    """A sender honours max_resends receipts; the message stays pending (the phone may help) and ends lost, with why."""
    world = world_factory(sessions=1, peers=1)
    jid = next(iter(world.peers))
    world.send(jid, b"one")  # consumes a prekey id
    FAULTS["exhaust_prekeys"](world, "bot-01", world.rng)  # later bundles repeat that consumed id
    world.peers[jid].sending = None
    world.bots["bot-01"].keys.records.clear()
    message = world.send(jid, b"two")
    backend = WorldBackend(world)
    for _ in range(world.config.max_resends + 1):
        await backend.request_resend("bot-01", jid, message.id)
        await asyncio.sleep(world.config.resend_latency)
    assert message.status == "pending" and message.resends == world.config.max_resends + 1
    world.finish()
    assert message.status == "lost"  # type: ignore[comparison-overlap]  # changed by finish()
    assert message.reason == f"sender gave up after {world.config.max_resends} retry receipts"


async def test_backend_outage_fails_regeneration(world_factory: Callable[..., SimWorld]) -> None:
    """An injected outage makes regenerate_keys raise until it ends."""
    world = world_factory(sessions=1, peers=1)
    world.failed_backend[("regenerate_keys", "bot-01")] = 10.0
    backend = WorldBackend(world)
    with pytest.raises(BackendError, match="injected"):
        await backend.regenerate_keys("bot-01")
    await asyncio.sleep(10)
    await backend.regenerate_keys("bot-01")


async def test_every_message_ends_delivered_or_lost_with_a_reason(world_factory: Callable[..., SimWorld]) -> None:
    """After finish(), nothing is pending and every loss says why."""
    world = world_factory(sessions=2, peers=3)
    for jid in sorted(world.peers):
        world.send(jid, b"hi")
    FAULTS["corrupt_chain_key"](world, "bot-01", world.rng)
    for jid in sorted(world.peers):
        world.send(jid, b"again")
    world.finish()
    statuses = {m.status for m in world.messages.values()}
    assert statuses <= {"delivered", "lost"}
    assert all(m.reason for m in world.messages.values() if m.status == "lost")
    delivery = world.ledger.report()
    assert delivery["sent"] == delivery["delivered"] + delivery["lost"]  # type: ignore[operator]


async def test_manager_recovers_a_corrupted_peer_through_the_world(
    world_factory: Callable[..., SimWorld], manager_factory: Callable[..., SessionManager]
) -> None:
    """Wired to the world, the manager's resend and peer reset deliver the message a corrupt chain broke."""
    world = world_factory(sessions=1, peers=2)
    async with manager_factory(world) as manager:
        jid = sorted(world.peers)[0]
        world.send(jid, b"one")
        FAULTS["corrupt_chain_key"](world, "bot-01", world.rng)
        message = world.send(jid, b"two")
        await asyncio.sleep(10)
        await manager.drain()
        assert message.status == "delivered" and message.failures == 2
        stats = manager.get_session_stats().sessions["bot-01"]
        assert (stats.resends, stats.peer_resets) == (2, 1)


async def test_failing_regeneration_ends_in_cleanup_and_repair(
    world_factory: Callable[..., SimWorld], manager_factory: Callable[..., SessionManager]
) -> None:
    """Regeneration failing for real: corrupted, disconnected, keys quarantined, and re-paired later."""
    world = world_factory(sessions=1, peers=6)
    world.failed_backend[("regenerate_keys", "bot-01")] = 3600.0
    async with manager_factory(world, policy=Policy(peer_reset_after=100)) as manager:
        for jid in sorted(world.peers):
            world.send(jid, b"hi")
        for record in world.bots["bot-01"].keys.records.values():  # every peer's chain, not six random picks
            stored = record.sessions[0]
            stored.chain_key = bytes(b ^ 0xFF for b in stored.chain_key)
        for jid in sorted(world.peers):
            world.send(jid, b"broken")
        await asyncio.sleep(5)
        assert manager.get_session_health("bot-01").status is Status.CORRUPTED
        assert not world.bots["bot-01"].connected
        await asyncio.sleep(300)
        quarantined = await manager.store.quarantined("bot-01")
        assert len(quarantined) == 1 and b"identity" in quarantined[0].material
        await asyncio.sleep(world.config.repair_delay)
        assert world.bots["bot-01"].connected
        assert manager.get_session_health("bot-01").status is Status.HEALTHY
