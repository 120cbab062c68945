"""The default simulation: a population, traffic, a fault plan, and (optionally) the manager."""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from harness.baselines import BASELINES, Driver
from harness.faults import FaultPlan, default_fault_mix, schedule
from harness.loop import DEFAULT_EPOCH, VirtualLoop
from harness.population import make_population
from harness.traffic import poisson_traffic
from harness.world import SimWorld, WorldConfig
from harness.world_backend import WorldBackend
from sessionmgr.bus import EventBus
from sessionmgr.clock import LoopClock
from sessionmgr.events import Event
from sessionmgr.manager import SessionManager
from sessionmgr.policy import Policy
from sessionmgr.pseudonym import Pseudonymizer
from sessionmgr.report.builder import ReportParts, build_report
from sessionmgr.report.recorder import ReportRecorder
from sessionmgr.stats import StatsCollector
from sessionmgr.store import MemoryStore, Store

__all__ = ["RECOVERIES", "Progress", "SimConfig", "SimResult", "run_simulation", "run_simulation_result", "simulate"]

#: Every value of ``SimConfig.baseline``: our manager, the clients' defaults, no recovery at all.
RECOVERIES: Final = ("ours", *BASELINES, "none")

#: Told the fraction of the simulated time done so far, from 0 to 1.
Progress = Callable[[float], None]


@dataclass(frozen=True, slots=True)
class SimConfig:
    """Everything a simulation run depends on; the same config gives the same report."""

    seed: int = 1
    sessions: int = 20
    peers_per_session: int = 50
    hours: float = 24.0
    #: Mean seconds between two messages from one peer.
    message_interval: float = 1800.0
    #: Faults; ``None`` means the default mix for this population and duration.
    faults: FaultPlan | None = None
    #: Multiplies every random fault rate of the plan.
    fault_scale: float = 1.0
    policy: Policy = field(default_factory=Policy)
    manager: bool = True
    world: WorldConfig = field(default_factory=WorldConfig)
    #: Who recovers: ``ours`` (the manager), a client's defaults (``baileys``, ``whatsmeow``:
    #: :mod:`harness.baselines`) or ``none``. ``manager=False`` means ``none`` whatever this says.
    baseline: str = "ours"
    #: phone numbers (peers in a trace, sessions named after one) as they are, not pseudonymized
    raw_ids: bool = False

    @property
    def recovery(self) -> str:
        """Who recovers in this run, after ``manager=False``."""
        return self.baseline if self.manager else "none"

    def pseudonymizer(self) -> Pseudonymizer:
        """Pseudonyms keyed by the seed: stable across runs of this seed, meaningless without it."""
        return Pseudonymizer(hashlib.sha256(f"sessionmgr-sim-{self.seed}".encode()).digest(), raw=self.raw_ids)

    def source(self) -> dict[str, Any]:
        return {
            "kind": "simulation",
            "seed": self.seed,
            "sessions": self.sessions,
            "peers_per_session": self.peers_per_session,
            "hours": self.hours,
            "message_interval_s": self.message_interval,
            "fault_scale": self.fault_scale,
            "manager": self.recovery == "ours",
            "recovery": self.recovery,
            "policy": self.policy.to_dict(),
        }


@dataclass(slots=True)
class SimResult:
    """A finished run: its report, what it was built from, and the world and manager for tests to inspect."""

    report: dict[str, Any]
    parts: ReportParts
    world: SimWorld
    manager: SessionManager | None
    events: list[Event] | None = None
    #: the backend the manager or baseline driver acted through (its ``calls`` count the actions)
    backend: WorldBackend | None = None
    driver: Driver | None = None


async def simulate(
    config: SimConfig,
    *,
    progress: Progress | None = None,
    store: Store | None = None,
    keep_events: bool = False,
    subscribers: tuple[Callable[[Event], None], ...] = (),
) -> SimResult:
    """Run one simulation on the running (virtual-time) loop."""
    loop = asyncio.get_running_loop()
    if config.sessions < 1 or config.peers_per_session < 1 or config.hours <= 0:
        raise ValueError("a simulation needs at least one session, one peer and some time")
    if config.recovery not in RECOVERIES:
        raise ValueError(f"unknown baseline {config.recovery!r}; known: {', '.join(RECOVERIES)}")
    rng = random.Random(config.seed)
    # Draw every sub-seed up front, in a fixed order, so that switching the
    # manager off changes nothing about the traffic or the faults.
    world_seed, manager_seed, fault_seed, traffic_seed = (rng.getrandbits(64) for _ in range(4))
    population = make_population(config.seed, config.sessions, config.peers_per_session)
    bus = EventBus()
    events: list[Event] | None = [] if keep_events else None
    if events is not None:
        bus.subscribe(events.append)
    for subscriber in subscribers:
        bus.subscribe(subscriber)
    world = SimWorld(population, random.Random(world_seed), config=config.world, observer=bus.publish)
    manager: SessionManager | None = None
    driver: Driver | None = None
    backend = WorldBackend(world)
    stats = StatsCollector() if config.recovery == "ours" else None  # shared with the recorder: counted once
    if config.recovery in BASELINES:
        driver = BASELINES[config.recovery](world, backend)
    elif config.recovery == "ours":
        manager = SessionManager(
            backend,
            policy=config.policy,
            clock=LoopClock(),
            store=store or MemoryStore(),
            bus=bus,
            rng=random.Random(manager_seed),
            pseudonymizer=config.pseudonymizer(),
            stats=stats,
        )
        world.observer = manager.observe_nowait
    recorder = ReportRecorder(origin=loop.time(), stats=stats)
    bus.subscribe(recorder)
    if driver is not None:
        bus.subscribe(driver.observe)
    if manager is not None:
        await manager.start()
    horizon = config.hours * 3600
    plan = config.faults if config.faults is not None else default_fault_mix(population.sessions, config.hours)
    schedule(plan.scaled(config.fault_scale), world, random.Random(fault_seed), horizon)
    traffic = loop.create_task(
        poisson_traffic(world, population.texts, config.message_interval, random.Random(traffic_seed), horizon)
    )
    try:
        step = 3600.0 if horizon >= 3600 else horizon
        elapsed = 0.0
        while elapsed < horizon:
            chunk = min(step, horizon - elapsed)
            await asyncio.sleep(chunk)
            elapsed += chunk
            if progress is not None:
                progress(elapsed / horizon)
    finally:
        traffic.cancel()
        await asyncio.gather(traffic, return_exceptions=True)
        if manager is not None:
            await manager.aclose()
        if driver is not None:
            await driver.aclose()
    world.finish()
    parts = ReportParts(
        recorder,
        source=config.source(),
        input={"events": recorder.events, "messages": len(world.messages), "rejected": []},
        delivery=world.ledger.report(),
        sessions=list(population.sessions),
    )
    return SimResult(build_report(parts), parts, world, manager, events, backend, driver)


def run_simulation(
    config: SimConfig,
    *,
    progress: Progress | None = None,
    store: Store | None = None,
    subscribers: tuple[Callable[[Event], None], ...] = (),
) -> dict[str, Any]:
    """Run one simulation on a fresh virtual-time loop and return its report.

    ``datetime.now()`` and log-record times follow virtual time during the run.
    """
    return run_simulation_result(config, progress=progress, store=store, subscribers=subscribers).report


def run_simulation_result(
    config: SimConfig,
    *,
    progress: Progress | None = None,
    store: Store | None = None,
    subscribers: tuple[Callable[[Event], None], ...] = (),
) -> SimResult:
    """As :func:`run_simulation`, but the whole result, so a caller can build the report again with more sections."""
    with asyncio.Runner(loop_factory=lambda: VirtualLoop(epoch=DEFAULT_EPOCH, freeze_wall_clock=True)) as runner:
        return runner.run(simulate(config, progress=progress, store=store, subscribers=subscribers))
