"""Named situations with concrete outcomes, on the simulated transport (no mocks)."""

from __future__ import annotations

import asyncio
import random

import pytest

from harness.faults import FAULTS, At, BackendOutage, Burst, FaultPlan
from harness.population import make_population
from harness.simulate import SimConfig, simulate
from harness.world import SimWorld, WorldBackend
from scenarios.helpers import first_unhealthy_instant, of, run
from sessionmgr import (
    AlertFired,
    AlertResolved,
    Category,
    ConnectionChanged,
    DecryptError,
    Event,
    HealthChanged,
    MemoryStore,
    Policy,
    RegenerationFailed,
    RegenerationSucceeded,
    RetryScheduled,
    SessionCleaned,
    SessionCorrupted,
    SessionDisconnected,
    SessionManager,
)

pytestmark = [pytest.mark.asyncio, pytest.mark.virtual_time]


async def test_quiet_day() -> None:
    """24 hours of traffic without faults: no regeneration, no alert, everything delivered."""
    result = await simulate(SimConfig(seed=5, sessions=5, peers_per_session=20, hours=24, faults=FaultPlan()))
    report = result.report
    assert report["delivery"]["sent"] > 4000
    assert report["delivery"]["lost"] == 0
    assert report["errors"]["total"] == 0
    assert report["actions"]["regenerations"] == 0
    assert report["alerts"] == []


async def test_bad_mac_storm_on_one_session() -> None:
    """Twenty chains corrupted on bot-01: unhealthy at the 5th error's instant, one regeneration, recovery,
    and the sessions beside it untouched."""
    result = await run(FaultPlan((Burst("corrupt_chain_key", "bot-01", at=1800, count=20, over=1),)))
    events, policy = result.events or [], result.manager.policy if result.manager else Policy()
    errors = of(events, DecryptError, "bot-01")
    assert errors and {e.category for e in errors} == {Category.BAD_MAC}
    changes = of(events, HealthChanged, "bot-01")
    assert [c.healthy for c in changes] == [False, True]
    assert changes[0].t == first_unhealthy_instant(events, "bot-01", policy)
    assert len(of(events, RegenerationSucceeded, "bot-01")) == 1
    assert result.report["sessions"]["bot-01"]["status"] == "healthy"
    for other in ("bot-02", "bot-03", "bot-04"):
        assert result.report["sessions"][other]["errors"] == 0
        assert of(events, HealthChanged, other) == []
    assert result.report["delivery"]["lost"] == 0


async def test_prekey_exhaustion() -> None:
    """The prekey pool runs dry and new sessions fail with Invalid PreKey ID until regeneration refills it."""
    dry_pool = FaultPlan((At("exhaust_prekeys", "bot-01", at=600),))
    new_sessions = FaultPlan(tuple(At("change_identity", "bot-01", at=700 + i) for i in range(8)))
    plan = dry_pool + new_sessions
    result = await run(plan)
    events = result.events or []
    prekey = [e for e in of(events, DecryptError, "bot-01") if e.category is Category.PREKEY]
    assert prekey and all(e.error == "Invalid PreKey ID" for e in prekey)
    regenerated = of(events, RegenerationSucceeded, "bot-01")
    assert regenerated
    assert result.world.bots["bot-01"].server_prekeys  # refilled
    late = [e for e in of(events, DecryptError, "bot-01") if e.t > regenerated[-1].t + 60]
    assert not [e for e in late if e.category is Category.PREKEY]
    assert result.report["delivery"]["lost"] == 0


async def test_multi_device_desync() -> None:
    """Duplicates leave health alone; counters far ahead and missing records are repaired per peer."""
    duplicates = FaultPlan(tuple(At("duplicate_frame", "bot-01", at=600 + i) for i in range(40)))
    desync = FaultPlan((At("drop_frames", "bot-02", at=900), At("delete_session_record", "bot-03", at=900)))
    plan = duplicates + desync
    result = await run(plan)
    events = result.events or []
    seen = [e for e in of(events, DecryptError, "bot-01") if e.category is Category.DUPLICATE]
    assert len(seen) == 40
    assert of(events, HealthChanged, "bot-01") == []
    assert result.report["sessions"]["bot-01"]["status"] == "healthy"
    assert {e.category for e in of(events, DecryptError, "bot-02")} == {Category.FUTURE}
    assert {e.category for e in of(events, DecryptError, "bot-03")} == {Category.NO_SESSION}
    assert result.report["actions"]["peer_resets"] == 2
    assert result.report["delivery"]["lost"] == 0


async def test_regeneration_that_keeps_failing() -> None:
    """Retries at +1 s and +2 s, then corrupted, disconnected, cleaned at the next tick with keys quarantined;
    both alerts fire and resolve at the right virtual times."""
    plan = FaultPlan(
        (
            BackendOutage("regenerate_keys", "bot-01", at=0, duration=7200),
            Burst("corrupt_chain_key", "bot-01", at=1800, count=20, over=1),
        )
    )
    result = await run(plan)
    events = result.events or []
    manager = result.manager
    assert manager is not None
    policy, world = manager.policy, result.world
    started = next(e for e in events if e.kind == "regeneration_started" and e.session == "bot-01")
    retries = [e for e in of(events, RetryScheduled, "bot-01") if e.operation == "regenerate_keys"]
    assert [(r.attempt, r.delay) for r in retries] == [(1, 1.0), (2, 2.0)]
    [failed] = of(events, RegenerationFailed, "bot-01")
    assert failed.t - started.t == pytest.approx(3.0)
    [corrupted] = of(events, SessionCorrupted, "bot-01")
    assert corrupted.t == failed.t
    assert of(events, SessionDisconnected, "bot-01")[0].t == corrupted.t
    [cleaned] = of(events, SessionCleaned, "bot-01")
    tick = policy.cleanup_interval
    assert cleaned.t == pytest.approx((corrupted.t // tick + 1) * tick)  # the next cleanup tick
    quarantine = await manager.store.quarantined("bot-01")
    assert len(quarantine) == 1 and cleaned.quarantined_bytes == len(quarantine[0].material) > 0
    reconnected = next(e for e in of(events, ConnectionChanged, "bot-01") if e.open)
    assert reconnected.t == pytest.approx(corrupted.t + world.config.repair_delay)
    fired = {a.rule: a for a in of(events, AlertFired, "bot-01")}
    resolved = {a.rule: a for a in of(events, AlertResolved, "bot-01")}
    assert fired["regeneration_failed"].t == failed.t
    assert fired["session_corrupted_too_long"].t == pytest.approx(corrupted.t + policy.alert_corrupted_after)
    assert resolved["regeneration_failed"].t == resolved["session_corrupted_too_long"].t == reconnected.t
    rules = [a.rule for a in of(events, AlertFired, "bot-01")]
    assert rules.count("regeneration_failed") == rules.count("session_corrupted_too_long") == 1


async def test_mass_corruption() -> None:
    """Three sessions corrupted at once raise the mass-corruption alert once; it resolves as they come back."""
    plan = FaultPlan(
        tuple(BackendOutage("regenerate_keys", s, at=0, duration=7200) for s in ("bot-01", "bot-02", "bot-03"))
        + tuple(
            Burst("corrupt_chain_key", s, at=1800 + 30 * i, count=20, over=1)
            for i, s in enumerate(("bot-01", "bot-02", "bot-03"))
        )
    )
    result = await run(plan)
    events = result.events or []
    corrupted = of(events, SessionCorrupted)
    assert sorted(e.session for e in corrupted) == ["bot-01", "bot-02", "bot-03"]
    mass = [a for a in of(events, AlertFired) if a.rule == "mass_corruption"]
    assert len(mass) == 1 and mass[0].t == max(e.t for e in corrupted)
    mass_resolved = [a for a in of(events, AlertResolved) if a.rule == "mass_corruption"]
    first_back = min(e.t for e in of(events, ConnectionChanged) if e.open)
    assert len(mass_resolved) == 1 and mass_resolved[0].t == first_back


async def test_manager_restart_in_the_middle_of_an_incident() -> None:
    """A new manager on the same store cleans a corrupted session once, keeps its 'corrupted since',
    and does not disconnect it again."""
    store = MemoryStore()
    world = SimWorld(make_population(3, 1, 8, texts=5), random.Random(3))
    world.failed_backend[("regenerate_keys", "bot-01")] = 10_000.0
    first_events: list[Event] = []
    first = SessionManager(WorldBackend(world), store=store, policy=Policy(peer_reset_after=100))
    first.bus.subscribe(first_events.append)
    world.observer = first.observe_nowait
    await first.start()
    for jid in sorted(world.peers):
        world.send(jid, b"hello")
    for _ in range(8):
        FAULTS["corrupt_chain_key"](world, "bot-01", world.rng)
    for jid in sorted(world.peers):
        world.send(jid, b"broken")
    await asyncio.sleep(10)
    [corrupted] = of(first_events, SessionCorrupted)
    await first.aclose()  # the process dies before the cleanup tick

    second_events: list[Event] = []
    second = SessionManager(WorldBackend(world), store=store)
    second.bus.subscribe(second_events.append)
    world.observer = second.observe_nowait
    await second.start()
    assert second.get_session_health("bot-01").status.value == "corrupted"
    await asyncio.sleep(second.policy.cleanup_interval)
    await asyncio.sleep(second.policy.cleanup_interval)
    assert len(of(second_events, SessionCleaned, "bot-01")) == 1
    assert of(second_events, SessionDisconnected) == []  # not done twice
    assert len(await store.quarantined("bot-01")) == 1
    fired = [a for a in of(second_events, AlertFired) if a.rule == "session_corrupted_too_long"]
    assert len(fired) == 1
    # the second process measured "corrupted for 10 minutes" from the first one's record
    assert (fired[0].at - corrupted.at).total_seconds() == pytest.approx(second.policy.alert_corrupted_after)
    await second.aclose()
